"""The firm (tenant) and its people: users, roles and permissions, sign-in, API keys, firm scoping."""

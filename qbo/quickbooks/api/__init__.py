"""The wire to QuickBooks Online: the HTTP client, its one error family, the per-realm limiter. No Flask request, no database session."""

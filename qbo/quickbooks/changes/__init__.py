"""Noticing what changed in QuickBooks: CDC polls, Intuit webhooks, duplicates found there."""

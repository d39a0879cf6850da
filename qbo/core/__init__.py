"""Plumbing every package uses: the database, Redis, encryption, the job queue, the audit log."""

"""Developer tooling: the `make run` supervisor (scripts/devserver.py)."""

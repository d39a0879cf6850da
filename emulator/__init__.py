"""A local QuickBooks Online emulator: the Accounting API v3, OAuth 2.0 and a control API."""

from .app import create_app

__all__ = ["create_app"]

"""Blueprints: parse the request, check permission, call qbo/, render."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask, csrf) -> None:
    from views import activity, api, auth, health, home, jobs, ledger, quickbooks, webhooks

    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(ledger.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(quickbooks.bp)
    app.register_blueprint(activity.bp)
    app.register_blueprint(health.bp)
    from views import profile

    app.register_blueprint(profile.bp)
    # The API authenticates with a bearer key, never with the session cookie, so a forged
    # cross-site request carries nothing the API accepts; CSRF tokens don't apply to it.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    from views import openapi

    app.register_blueprint(openapi.bp)  # the API's contract, readable without a key
    # Intuit signs webhook bodies (intuit-signature); a session cookie is never involved.
    csrf.exempt(webhooks.bp)
    app.register_blueprint(webhooks.bp)

    from views._context import register_context

    register_context(app)

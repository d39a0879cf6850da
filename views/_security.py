"""Security headers on every response (issue 15).

A fixed header set is all this app needs, so it is set here rather than through Flask-Talisman:
Talisman's defaults (forcing HTTPS redirects, rewriting session-cookie flags, HSTS) fight the local
dev server, the emulator's OAuth round trip and the tests, and switching them off one by one leaves
about the same few lines as these. README "Security headers" says what each one is for.

The Content-Security-Policy allows scripts and styles from this origin only: no inline script, no
inline style. htmx would inject an inline <style> for its request indicators; base.html turns that
off (`<meta name="htmx-config" content='{"includeIndicatorStyles": false}'>`) and static/app.css
styles `.htmx-indicator` instead.
"""
from __future__ import annotations

from flask import g, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def register_security_headers(app) -> None:
    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        signed_in = g.get("api_user") is not None or (
            request.endpoint != "static" and current_user and current_user.is_authenticated)
        if signed_in:
            # A signed-in page (or API answer) holds the firm's books: no browser or proxy keeps it.
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        return response

"""Small HTMX helpers (cf. django_htmx/http.py)."""
from __future__ import annotations

import json

from flask import Response, make_response, request


def is_htmx() -> bool:
    """A request htmx makes for a fragment. After a miss in its history cache htmx asks for the
    whole page again, with HX-Request set too: that one gets the full page (django-htmx's
    `history_restore_request`), or Back would show a bare fragment without header or nav."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def vary_on_htmx(response) -> Response:
    response = make_response(response)
    response.vary.add("HX-Request")
    return response


def hx_trigger(response: Response, event: str, detail=None) -> Response:
    response.headers["HX-Trigger"] = json.dumps({event: detail or {}})
    return response


def hx_redirect(url: str) -> Response:
    response = Response(status=204)
    response.headers["HX-Redirect"] = url
    return response

"""Small HTMX helpers (cf. django_htmx/http.py)."""
from __future__ import annotations

import json

from flask import Response, make_response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


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

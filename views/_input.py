"""The input boundary: what every request's ids, numbers, text and JSON must be before a view sees
them. Anything else is answered here (404 for a path id no record can have, 422 naming the field
for a bad parameter, 400 for JSON too deep to be a request), never as a 500 further in.

- Path ids: the `int` URL converter is replaced app-wide by IdConverter (ASCII digits, 1..2**31-1).
- Query and form integers: `int_arg` (a 422 naming the parameter when not an integer in range).
- Text: `check_request_text` refuses a NUL or an unpaired surrogate in any query parameter, form
  field, path argument or JSON string (PostgreSQL can't store a NUL; UTF-8 can't encode a surrogate).
- JSON: BoundedJSONProvider parses request bodies with a nesting limit (MAX_JSON_DEPTH).
"""
from __future__ import annotations

import json

from flask import jsonify, make_response, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from qbo.ledger.validation import MAX_RECORD_ID, forbidden_character, parse_int

MAX_JSON_DEPTH = 32


def _up_to(maximum: int) -> str:
    """A regex matching the decimal numbers 1..maximum without leading zeros."""
    digits = str(maximum)
    parts = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(d) > int(low):
            rest = len(digits) - i - 1
            parts.append(f"{digits[:i]}[{low}-{int(d) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<int:record_id>`: ASCII digits naming a possible row (an INTEGER column: at most 2**31-1).
    A larger number can't be a record, and PostgreSQL fails a statement comparing one with an id
    column; SQLite can't bind one above 2**63. Such a URL matches no route: 404."""

    # 1 .. 2147483647 in the pattern itself: a converter that refuses a matched number afterwards
    # makes Werkzeug answer 405 instead of 404 where a path has a rule per method.
    regex = _up_to(MAX_RECORD_ID)

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_RECORD_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


class UnprocessableParameter(Exception):
    def __init__(self, field: str, reason: str):
        super().__init__(field)
        self.field, self.reason = field, reason


def int_arg(name: str, default: int | None = None, *, source=None, minimum: int = -MAX_RECORD_ID,
            maximum: int = MAX_RECORD_ID) -> int | None:
    """An integer query (or form) parameter: `default` when absent or blank, else an integer in
    [minimum, maximum] or a 422 naming the parameter."""
    values = request.args if source is None else source
    raw = values.get(name)
    if raw is None or raw.strip() == "":
        return default
    number = parse_int(raw, minimum=minimum, maximum=maximum)
    if number is None:
        raise UnprocessableParameter(name, _("must be a whole number between %(low)s and %(high)s",
                                             low=minimum, high=maximum))
    return number


def page_arg(name: str = "page", source=None) -> int:
    """A page number: 1 when absent, a 422 when not a number from 1 to the largest page any list
    can have (an offset beyond it is past SQLite's and PostgreSQL's integers)."""
    return int_arg(name, 1, source=source, minimum=1, maximum=MAX_RECORD_ID) or 1


def _json_too_deep(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def raw_json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Does this body nest arrays or objects deeper than `limit`? Counted on the bytes, before any
    parser recurses into it (json.loads raises RecursionError past ~1,000 levels)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """request.get_json() with a nesting limit: deeper bodies are refused like malformed ones."""

    def loads(self, s, **kwargs):
        if isinstance(s, str):
            s = s.encode("utf-8", "surrogatepass")
        if raw_json_too_deep(s):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return json.loads(s, **kwargs)


def _bad_strings(value, path: str):
    """(field path, reason) for each string in a JSON value holding a forbidden character."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if forbidden_character(item):
                yield where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if forbidden_character(str(key)):
                    yield name
                else:
                    stack.append((child, name))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


def check_request_text():
    """before_request: the fields holding a NUL or an unpaired surrogate, refused with a 422."""
    bad: list[str] = []
    # The webhook reads its own body, under its own smaller limit: it must not be parsed here first.
    body = request.method in ("POST", "PUT", "PATCH", "DELETE") and request.blueprint != "webhooks"
    for name, values in list(request.args.lists()) + (list(request.form.lists()) if body else []):
        if forbidden_character(name) or any(forbidden_character(v) for v in values):
            bad.append(name.encode("unicode_escape").decode("ascii") if forbidden_character(name) else name)
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and forbidden_character(value):
            bad.append(name)
    if body and request.is_json:
        data = request.get_json(silent=True)
        if data is not None:
            bad.extend(_bad_strings(data, ""))
    if bad:
        raise UnprocessableParameter(bad[0], _("contains a character that is not allowed"))


def register_input_boundary(app) -> None:
    app.json = BoundedJSONProvider(app)
    app.before_request(check_request_text)

    @app.errorhandler(UnprocessableParameter)
    def _unprocessable(error: UnprocessableParameter):
        if request.path.startswith("/api/"):
            return jsonify(errors={error.field: [error.reason]}), 422
        return make_response(render_template("errors/400.html", reason=f"{error.field}: {error.reason}"), 422)

    @app.errorhandler(413)
    def _too_large(error):
        if request.path.startswith("/api/"):
            return jsonify(error="too_large", message=_("The request body is too large.")), 413
        return error

    return _unprocessable

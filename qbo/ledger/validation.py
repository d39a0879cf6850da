"""Field parsers that collect every problem instead of stopping at the first one.

Pages and the JSON API hand the same dict to `qbo.ledger`; input may be strings (forms) or JSON
types. Each parser records `errors[field] = [reason, ...]` and returns the cleaned value or None.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Errors(dict):
    def add(self, field: str, reason: str) -> None:
        self.setdefault(field, []).append(reason)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def text(data, field, errors: Errors, *, required=False, max_length=None, label=None):
    value = data.get(field)
    if _blank(value):
        if required:
            errors.add(field, _("is required"))
        return None
    if not isinstance(value, str):
        errors.add(field, _("must be text"))
        return None
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        errors.add(field, _("must be at most %(max)s characters (it has %(n)s)", max=max_length, n=len(value)))
        return None
    if forbidden_character(value):
        errors.add(field, _("contains a character that is not allowed"))
        return None
    return value


# A NUL can't be stored in PostgreSQL text; an unpaired UTF-16 surrogate (JSON "\ud800") can't be
# encoded as UTF-8 by either database. Neither is ever part of real text.
_FORBIDDEN_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def forbidden_character(value: str) -> bool:
    return _FORBIDDEN_CHARACTER.search(value) is not None


def email(data, field, errors: Errors, *, max_length=100):
    value = text(data, field, errors, max_length=max_length)
    if value is not None and not EMAIL_RE.match(value):
        errors.add(field, _("is not a valid email address"))
        return None
    return value


def choice(data, field, errors: Errors, choices, *, required=False, default=None):
    value = data.get(field)
    if _blank(value):
        if required:
            errors.add(field, _("is required"))
        return default
    if not isinstance(value, str) or value not in choices:
        errors.add(field, _("must be one of: %(choices)s", choices=", ".join(choices)))
        return None
    return value


MAX_NUMBER_CHARS = 40
MAX_EXPONENT = 30


def decimal(data, field, errors: Errors, *, required=False, minimum=None, places=2,
            positive=False, maximum=Decimal("999999999999")):
    value = data.get(field)
    if _blank(value):
        if required:
            errors.add(field, _("is required"))
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        errors.add(field, _("must be a number"))
        return None
    raw = str(value).strip()
    # Bounded before any arithmetic: 1E+999999999 parses, but quantizing or comparing it is slow or
    # raises, and no amount needs more than MAX_NUMBER_CHARS characters or a large exponent.
    if len(raw) > MAX_NUMBER_CHARS:
        errors.add(field, _("must be a number"))
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        errors.add(field, _("must be a number"))
        return None
    if not number.is_finite() or not -MAX_EXPONENT <= number.as_tuple().exponent <= MAX_EXPONENT:
        errors.add(field, _("must be a number"))
        return None
    if number.as_tuple().exponent < -places and number != number.quantize(Decimal(1).scaleb(-places)):
        errors.add(field, _("must have at most %(places)s decimal places", places=places))
        return None
    if positive and number <= 0:
        errors.add(field, _("must be greater than zero"))
        return None
    if minimum is not None and number < minimum:
        errors.add(field, _("must be at least %(minimum)s", minimum=minimum))
        return None
    if abs(number) > maximum:
        errors.add(field, _("must be at most %(maximum)s", maximum=maximum))
        return None
    return number.quantize(Decimal(1).scaleb(-places))


def date(data, field, errors: Errors, *, required=False):
    value = data.get(field)
    if _blank(value):
        if required:
            errors.add(field, _("is required"))
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        errors.add(field, _("must be a date (YYYY-MM-DD)"))
        return None
    try:
        parsed = dt.date.fromisoformat(value.strip())
    except ValueError:
        errors.add(field, _("must be a date (YYYY-MM-DD)"))
        return None
    if not (1900 <= parsed.year <= 2999):
        errors.add(field, _("must be a date between 1900 and 2999"))
        return None
    return parsed


# Record ids are INTEGER columns (4 bytes on PostgreSQL): a larger number can't name a record, and
# comparing one with an id column makes PostgreSQL fail the statement ("integer out of range").
MAX_RECORD_ID = 2**31 - 1


def integer_id(data, field, errors: Errors, *, required=False):
    value = data.get(field)
    if _blank(value):
        if required:
            errors.add(field, _("is required"))
        return None
    number = parse_id(value)
    if number is None:
        errors.add(field, _("must be a record id"))
    return number


def parse_int(value, *, minimum: int = -MAX_RECORD_ID, maximum: int = MAX_RECORD_ID) -> int | None:
    """The one parser of integers typed by people or programs (path ids go through the URL
    converter, which uses it too): ASCII digits with an optional sign, within an INTEGER column's
    range (or the narrower one given); None for anything else, so the caller answers 404 or 422.
    `int()` alone also takes "١٢" (Arabic-Indic digits), "1_000" and numbers of 4,300 digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text_value = value.strip() if isinstance(value, str) else None
        if text_value is None or not _ASCII_INT.fullmatch(text_value):
            return None
        number = int(text_value)
    return number if minimum <= number <= maximum else None


_ASCII_INT = re.compile(r"[+-]?[0-9]{1,12}")


def parse_id(value) -> int | None:
    """A record id (1 .. 2**31-1) from a form, query string, JSON or form key; None otherwise."""
    return parse_int(value, minimum=1)


def items(data, field, errors: Errors):
    """A list of objects (invoice lines, allocations); None when the field is absent."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        errors.add(field, _("must be a list of objects"))
        return None
    if len(value) > 500:
        errors.add(field, _("must have at most 500 entries"))
        return None
    return value

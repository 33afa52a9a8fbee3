"""Reading requests: typed requests for views that read what the middleware adds, and ids from request data.

Every id or whole number a view reads from GET or POST data goes through `parse_id`
and its friends: a value is a number only when it is ASCII digits ("²" and "٣" are
digits to Python), at most 19 of them, and within a 64-bit database id (1 to
2^63-1). Anything else — text, a negative or zero, a number of thousands of
digits (Python refuses to read more than 4,300), one beyond 2^63-1 (SQLite
refuses to bind it) — is no id: the view treats it as it treats any other value
that is not one (ignored in a page's address, an error on its field in a form).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, QueryDict
from django_htmx.middleware import HtmxDetails

MAX_ID = 2**63 - 1
ID_DIGITS = len(str(MAX_ID))  # 19


class HtmxHttpRequest(HttpRequest):
    """A request through django_htmx's middleware (every request of the site is)."""

    htmx: HtmxDetails


def parse_id(raw: object) -> int | None:
    """`raw` as a record's id (1 to 2^63-1, ASCII digits, at most 19), or None."""
    if not isinstance(raw, str) or not (0 < len(raw) <= ID_DIGITS and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_int(raw: object, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """`raw` as a whole number from `minimum` to `maximum` (ASCII digits, at most 19), or None."""
    if not isinstance(raw, str) or not (0 < len(raw) <= ID_DIGITS and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


def get_id(data: QueryDict | Mapping[str, Any], name: str) -> int | None:
    """The id a request's GET or POST data gives as `name` (its last value), or None."""
    return parse_id(data.get(name, ""))

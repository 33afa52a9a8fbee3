"""Keyset (cursor) pagination: the cursor is the last row's sort key and id, opaque to clients.

Pages never use OFFSET: the next page starts after the cursor, so page 10,000 costs
what page 1 costs (see PERFORMANCE.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ciclo.api.errors import invalid


def encode(sort: str, order: str, value: Any, last_id: int) -> str:
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps([sort, order, value, last_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, sort: str, order: str, kind: type) -> tuple[Any, int]:
    """The (value, id) a cursor carries; 422 naming `cursor` if it is not one of this sort's."""
    error = invalid({"cursor": [_("This cursor is not valid for this list and sort; start again without it.")]})
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise error from None
    if not (isinstance(data, list) and len(data) == 4 and data[0] == sort and data[1] == order):
        raise error
    value, last_id = data[2], data[3]
    if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 <= last_id < 2**63:
        raise error
    if kind is dt.datetime:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or parsed.tzinfo is None or not 1900 <= parsed.year <= 9000:
            raise error
        return parsed, last_id
    if kind is str:
        if not isinstance(value, str) or "\x00" in value or len(value) > 1000:
            raise error
        return value, last_id
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) < value < 2**63:
        raise error
    return value, last_id


def after(field: str, value: Any, last_id: int, descending: bool) -> Q:
    """Rows after (value, id) in the sort order, written so the index range starts at the cursor:

    `field >= v AND (field > v OR id > last)` (mirrored when descending), which SQLite and
    PostgreSQL both read as a range scan from v, unlike the plain OR expansion.
    """
    if field == "id":
        return Q(id__lt=last_id) if descending else Q(id__gt=last_id)
    if descending:
        return Q(**{f"{field}__lte": value}) & (Q(**{f"{field}__lt": value}) | Q(id__lt=last_id))
    return Q(**{f"{field}__gte": value}) & (Q(**{f"{field}__gt": value}) | Q(id__gt=last_id))

"""Keyset (cursor) pages of the API's lists, on the ticket query's cursors.

A cursor is the last row's sort key and id, opaque to clients; pages never use OFFSET,
so page 10,000 costs what page 1 costs (PERFORMANCE.md). Encoding, the checks of what
comes back and the "after" condition are ciclo.tickets.query's: one implementation for
the web page, its exports and every API list.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from ciclo.api.errors import ApiError, invalid
from ciclo.tickets import query

after = query.after


def refused() -> ApiError:
    """The 422 for a cursor that is not one of this list and sort."""
    return invalid({"cursor": [_("This cursor is not valid for this list and sort; start again without it.")]})


def _tag(sort: str, order: str) -> str:
    return ("-" if order == "desc" else "") + sort


def encode(sort: str, order: str, value: Any, last_id: int) -> str:
    return query.encode_cursor([value, last_id, _tag(sort, order)])


def decode(cursor: str, sort: str, order: str, kind: type) -> tuple[Any, int]:
    """The (value, id) a cursor of this sort carries; 422 naming `cursor` if it is not one."""
    try:
        return query.unpack_cursor(cursor, _tag(sort, order), kind)
    except query.BadCursor:
        raise refused() from None

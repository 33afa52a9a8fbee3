"""Finding tickets (Consulta de Atendimentos): every filter, the sort orders, keyset pages.

One module serves the web query page, its exports and the API list, so a filter
means the same everywhere. Pages are keyset (cursor) pages: deep pages cost what
the first one does.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db.models import CharField, DateField, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ciclo.http import parse_id, parse_int
from ciclo.people.models import Person
from ciclo.people.text import (
    MIN_SEARCH_CHARS,
    SearchTooShort,
    contains_all,
    few_matches,
    search_terms,
    too_short,
)
from ciclo.tickets.models import Ticket, TicketQuerySet
from ciclo.tickets.values import parse_decimal

# Sort name → (model field, label). Every order ends with id, so it is total.
SORTS: dict[str, tuple[str, Any]] = {
    "opened_at": ("opened_at", gettext_lazy("Opened")),
    "next_contact_at": ("next_contact_at", gettext_lazy("Next contact")),
    "id": ("id", gettext_lazy("Number")),
    "priority": ("priority", gettext_lazy("Priority")),
    "person": ("person__search_name", gettext_lazy("Person")),
    "subject": ("subject", gettext_lazy("Subject")),
    "type": ("service_type__description", gettext_lazy("Type")),
    "phase": ("cr__code_key", gettext_lazy("Phase")),
    "status": ("status", gettext_lazy("Status")),
    "next_contact_user": ("sort_next_contact_user", gettext_lazy("Next contact with")),
    "company": ("company__name", gettext_lazy("Company")),
}
# Sort keys that are expressions, annotated on the rows they sort. A user sorts by the name
# shown (full name, else username); a ticket without one as "" (a keyset bound cannot compare with NULL).
_SORT_ANNOTATIONS: dict[str, Any] = {
    "sort_next_contact_user": Coalesce(
        NullIf(Trim(Concat("next_contact_user__first_name", Value(" "), "next_contact_user__last_name")), Value("")),
        "next_contact_user__username",
        Value(""),
        output_field=CharField(),
    ),
}
# How a cursor carries each sort field's value (anything else is an int).
_DATETIME_SORT_FIELDS = {"opened_at", "next_contact_at"}
_TEXT_SORT_FIELDS = {
    "person__search_name",
    "subject",
    "service_type__description",
    "cr__code_key",
    "status",
    "sort_next_contact_user",
    "company__name",
}
DEFAULT_SORT = "-opened_at"
MAX_LIMIT = 200
PERSON_MIN_CHARS = MIN_SEARCH_CHARS
MIN_YEAR, MAX_YEAR = 1900, 9000  # of a date in a filter
_BIGINT = 2**63  # ids and integer sort values are 64-bit
# The outcome filter's values → a sales contact's outcome (sales.models.Outcome: open is "").
OUTCOMES = {"": "", "open": "", "won": "won", "lost": "lost"}


@dataclass
class TicketFilter:
    service_types: list[int] = field(default_factory=list)
    crs: list[int] = field(default_factory=list)
    status: str = ""  # "", "open", "closed"
    person: str = ""  # words of the name, or the CPF/CNPJ (Person.objects.search)
    company: int | None = None
    next_contact_user: int | None = None
    next_contact_from: dt.date | None = None
    next_contact_to: dt.date | None = None
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None
    text: str = ""  # words in the subject or the notes, accents and case ignored
    outcome: str = ""  # a sales ticket's: "", "open", "won", "lost" (OUTCOMES)
    # A collection ticket's: days its oldest open receivable is overdue, its open amount (ciclo.collections).
    overdue_min: int | None = None
    overdue_max: int | None = None
    open_min: Decimal | None = None
    open_max: Decimal | None = None
    sort: str = DEFAULT_SORT

    def as_params(self) -> dict[str, Any]:
        """The filter as query parameters (what a saved scenario stores)."""
        params: dict[str, Any] = {}
        for name in ("service_types", "crs"):
            if getattr(self, name):
                params[name] = list(getattr(self, name))
        for name in ("status", "person", "text", "outcome"):
            if getattr(self, name):
                params[name] = getattr(self, name)
        for name in ("company", "next_contact_user", "overdue_min", "overdue_max"):
            if getattr(self, name) is not None:
                params[name] = getattr(self, name)
        for name in ("open_min", "open_max"):
            if getattr(self, name) is not None:
                params[name] = str(getattr(self, name))
        for name in ("next_contact_from", "next_contact_to", "opened_from", "opened_to"):
            if getattr(self, name) is not None:
                params[name] = getattr(self, name).isoformat()
        if self.sort != DEFAULT_SORT:
            params["sort"] = self.sort
        return params


def _ints(values: list[str], name: str, errors: dict[str, list[str]]) -> list[int]:
    out = []
    for value in values:
        if value == "":
            continue
        ident = parse_id(value)
        if ident is None:
            errors.setdefault(name, []).append(_("“%(value)s” is not a valid id.") % {"value": value})
        else:
            out.append(ident)
    return out


def parse_filter(data: Mapping[str, Any]) -> tuple[TicketFilter, dict[str, list[str]]]:
    """Read a filter from query parameters (a QueryDict or a dict of lists/values); errors name the field."""

    def getlist(name: str) -> list[str]:
        if hasattr(data, "getlist"):
            return [str(v) for v in data.getlist(name)]
        value = data.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]

    def get(name: str) -> str:
        values = getlist(name)
        return values[-1].strip() if values else ""

    errors: dict[str, list[str]] = {}
    f = TicketFilter()
    f.service_types = _ints(getlist("service_types"), "service_types", errors)
    f.crs = _ints(getlist("crs"), "crs", errors)
    status = get("status")
    if status not in ("", "open", "closed"):
        errors["status"] = [_("Status is “open”, “closed” or empty.")]
    f.status = status
    person = get("person")
    if too_short(search_terms(person)):
        errors["person"] = [SearchTooShort().message]
    f.person = person
    for name in ("company", "next_contact_user"):
        value = get(name)
        if value:
            ids = _ints([value], name, errors)
            setattr(f, name, ids[0] if ids else None)
    for name in ("next_contact_from", "next_contact_to", "opened_from", "opened_to"):
        value = get(name)
        if value:
            try:
                parsed = parse_date(value) or dt.datetime.strptime(value, "%d/%m/%Y").date()
            except ValueError:
                parsed = None
            # The API's rule for days; past 9999-12-31 the end of the range would overflow.
            if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
                parsed = None
                errors[name] = [_("Give a date as dd/mm/yyyy.")]
            setattr(f, name, parsed)
    for start, end in (("next_contact_from", "next_contact_to"), ("opened_from", "opened_to")):
        if getattr(f, start) and getattr(f, end) and getattr(f, start) > getattr(f, end):
            errors[end] = [_("The end date comes before the start date.")]
    for name in ("overdue_min", "overdue_max"):
        value = get(name)
        if value:
            days = parse_int(value, maximum=100_000)
            if days is None:
                errors[name] = [_("Give the days overdue as a whole number, such as 30.")]
            setattr(f, name, days)
    for name in ("open_min", "open_max"):
        value = get(name)
        if value:
            try:
                amount = parse_decimal(value)
            except (ValueError, ArithmeticError):
                amount = None
            if amount is None or amount < 0 or abs(amount) >= Decimal("1e12"):
                errors[name] = [_("Give the open amount as a number of reais, such as 1500,00.")]
                amount = None
            setattr(f, name, amount)
    for start, end, message in (
        ("overdue_min", "overdue_max", _("The most days overdue is below the fewest.")),
        ("open_min", "open_max", _("The largest open amount is below the smallest.")),
    ):
        if getattr(f, start) is not None and getattr(f, end) is not None and getattr(f, start) > getattr(f, end):
            errors[end] = [message]
    outcome = get("outcome")
    if outcome not in OUTCOMES:
        errors["outcome"] = [_("The outcome is “open”, “won”, “lost” or empty.")]
        outcome = ""
    f.outcome = outcome
    f.text = get("text")[:200]
    if too_short(search_terms(f.text)):
        errors["text"] = [
            _("Type at least %(n)s characters of a word in the subject or the notes.") % {"n": MIN_SEARCH_CHARS}
        ]
    sort = get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        errors["sort"] = [_("Sort by one of: %(sorts)s (a leading “-” for descending).") % {"sorts": ", ".join(SORTS)}]
        sort = DEFAULT_SORT
    f.sort = sort
    return f, errors


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def apply_filter(qs: TicketQuerySet, f: TicketFilter) -> TicketQuerySet:
    if f.service_types:
        qs = qs.filter(service_type_id__in=f.service_types)
    if f.crs:
        qs = qs.filter(cr_id__in=f.crs)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.person:
        qs = qs.filter(_person_condition(f.person, qs.db))
    if f.company is not None:
        qs = qs.filter(company_id=f.company)
    if f.next_contact_user is not None:
        qs = qs.filter(next_contact_user_id=f.next_contact_user)
    if f.next_contact_from:
        qs = qs.filter(next_contact_at__gte=_day_start(f.next_contact_from))
    if f.next_contact_to:
        qs = qs.filter(next_contact_at__lt=_day_start(f.next_contact_to + dt.timedelta(days=1)))
    if f.opened_from:
        qs = qs.filter(opened_at__gte=_day_start(f.opened_from))
    if f.opened_to:
        qs = qs.filter(opened_at__lt=_day_start(f.opened_to + dt.timedelta(days=1)))
    if f.text:
        qs = qs.filter(_text_condition(f.text, qs.db))
    if f.outcome:
        qs = qs.filter(sales__outcome=OUTCOMES[f.outcome])
    if f.overdue_min is not None or f.overdue_max is not None:
        qs = qs.filter(_overdue_condition(f.overdue_min, f.overdue_max))
    if f.open_min is not None or f.open_max is not None:
        qs = qs.alias(collection_open_filter=collection_open_amount())
        if f.open_min is not None:
            qs = qs.filter(collection_open_filter__gte=f.open_min)  # type: ignore[misc]  # an alias
        if f.open_max is not None:
            qs = qs.filter(collection_open_filter__lte=f.open_max)  # type: ignore[misc]
    return qs


def _open_receivables() -> QuerySet[Any]:
    """The ticket's receivables still in it (a collection ticket's) and still open."""
    from ciclo.collections.models import CollectionItem

    return CollectionItem.objects.filter(
        ticket_id=OuterRef("pk"), released_at__isnull=True, receivable__open_balance__gt=0
    )


def collection_open_amount() -> Any:
    """A collection ticket's open amount: the open balance of its receivables (NULL for another ticket)."""
    total = (
        _open_receivables()
        .order_by()
        .values("ticket_id")
        .annotate(total=Sum("receivable__open_balance"))
        .values("total")
    )
    return Subquery(total, output_field=DecimalField(max_digits=16, decimal_places=2))


def collection_oldest_due() -> Any:
    """The due date of a collection ticket's oldest open receivable (NULL when none)."""
    oldest = _open_receivables().order_by("receivable__due_date").values("receivable__due_date")[:1]
    return Subquery(oldest, output_field=DateField())


# Values a row can carry that are not a ticket's fields, by name: what a column of them reads.
ROW_ANNOTATIONS: dict[str, Any] = {
    "collection_open_amount": collection_open_amount,
    "collection_oldest_due": collection_oldest_due,
}


def row_annotations(names: Iterator[str] | list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {name: ROW_ANNOTATIONS[name]() for name in names}


def _overdue_condition(least: int | None, most: int | None) -> Q:
    """Collection tickets whose oldest open receivable is overdue by `least` to `most` days (today)."""
    today = timezone.localdate()
    condition = Q(Exists(_open_receivables()))
    if least is not None:
        condition &= Q(Exists(_open_receivables().filter(receivable__due_date__lte=today - dt.timedelta(days=least))))
    if most is not None:
        older = _open_receivables().filter(receivable__due_date__lt=today - dt.timedelta(days=most))
        condition &= ~Q(Exists(older))
    return condition


# The person and the text filters read their tickets by id when few match (see few_matches):
# the people's by the ticket_person_opened index (about 5 tickets a person), the texts' by
# their key, then sort them for the page. Past these limits the words are common, and the
# tickets are read in the page's order, each checked by its folded text (or its person's): a
# page stops after its rows, the capped count after its cap. The rows are the same either
# way; the limits are where one way becomes cheaper than the other (bench/people_search.py).
FEW_PEOPLE = 1000
FEW_TICKETS = 3000
# SQLite's FTS5 trigram table over tickets_ticket.search_text (tickets migration 0005).
TICKET_SEARCH_FTS = "tickets_ticket_search"


def _person_condition(person: str, db: str) -> Q:
    """Tickets of the people Person.objects.search(person) finds."""
    people = Person.objects.using(db).search(person).order_by()
    ids = list(people.values_list("id", flat=True)[: FEW_PEOPLE + 1])
    if len(ids) <= FEW_PEOPLE:
        return Q(person_id__in=ids)
    # A correlated EXISTS: asked only of the tickets read. A join's condition on the person
    # makes SQLite read every person first (a Bloom filter: 40 ms over 200,000 people).
    named = Person.objects.filter(pk=OuterRef("person_id")).filter(contains_all("search_key", search_terms(person)))
    return Q(Exists(named))


def _text_condition(text: str, db: str) -> Q:
    """Every word somewhere in the folded subject and notes (Ticket.search_text, kept by the engine)."""
    terms = search_terms(text)
    every_word = contains_all("search_text", terms)
    few = few_matches(Ticket, "search_text", TICKET_SEARCH_FTS, terms, FEW_TICKETS, db)
    return every_word if few is None else few


def encode_cursor(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    # A name's letters as UTF-8, not as 6-character escapes: the cursor stays short.
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class BadCursor(ValueError):
    pass


# What a cursor may carry: it comes back from the client, so every value is checked before it
# reaches the database (a huge int is an OverflowError in SQLite, a NUL byte an error in PostgreSQL).
MAX_CURSOR_CHARS = 4000


def _sort_kind(sort: str) -> type:
    field_name = SORTS[sort.lstrip("-")][0]
    if field_name in _DATETIME_SORT_FIELDS:
        return dt.datetime
    return str if field_name in _TEXT_SORT_FIELDS else int


def _cursor_value(value: Any, kind: type) -> Any:
    """The sort value as `kind` (an aware datetime, text, or a 64-bit int); ValueError/TypeError if it is not one."""
    if kind is dt.datetime:
        if not isinstance(value, str):
            raise TypeError
        parsed = dt.datetime.fromisoformat(value)  # years 1…9999 only
        if timezone.is_naive(parsed):
            raise TypeError
        # In UTC, as the database compares it; a year-1 or year-9999 value with an offset overflows here.
        return parsed.astimezone(dt.UTC)
    if kind is str:
        if not isinstance(value, str) or "\x00" in value:
            raise TypeError
        value.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError
        return value
    if type(value) is not int or not -_BIGINT <= value < _BIGINT:  # bool is not an int here
        raise TypeError
    return value


def unpack_cursor(cursor: str, tag: str, kind: type) -> tuple[Any, int]:
    """The (sort value, id) of a cursor made by encode_cursor([value, id, tag]); BadCursor for anything else.

    The tag names the list and sort the cursor was made for, so a cursor is refused by another
    one; a cursor without a tag ([value, id]) is read as one of any list.
    """
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
        if not isinstance(data, list) or len(data) not in (2, 3) or (len(data) == 3 and data[2] != tag):
            raise ValueError
        value, pk = data[0], data[1]
        if type(pk) is not int or not 0 <= pk < _BIGINT:
            raise TypeError
        return _cursor_value(value, kind), pk
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # binascii.Error, JSONDecodeError and UnicodeError are ValueErrors.
        raise BadCursor(_("The page cursor is not valid; start again from the first page.")) from exc


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    """The (sort value, id) of a page's cursor for `sort`; BadCursor when it is not one."""
    if sort.lstrip("-") not in SORTS:
        raise BadCursor(_("The page cursor is not valid; start again from the first page."))
    return unpack_cursor(cursor, sort, _sort_kind(sort))


def after(field_name: str, value: Any, pk: int, descending: bool) -> Q:
    """Rows after (value, pk) in the order (field_name, id), ascending or descending.

    The plain bound (>= / <=) is what the database reads the index from; the OR alone is no
    index bound, and a deep page would scan every row before the cursor.
    """
    if field_name == "id":
        return Q(id__lt=pk) if descending else Q(id__gt=pk)
    if descending:
        return Q(**{f"{field_name}__lte": value}) & (Q(**{f"{field_name}__lt": value}) | Q(id__lt=pk))
    return Q(**{f"{field_name}__gte": value}) & (Q(**{f"{field_name}__gt": value}) | Q(id__gt=pk))


@dataclass
class Page:
    rows: list[Any]  # tickets, or dicts from a .values() queryset
    next_cursor: str | None


def page(qs: QuerySet[Ticket, Any], sort: str, cursor: str | None, limit: int) -> Page:
    """One keyset page: rows after `cursor` in `sort` order, and the cursor of the next page.

    The cursor is the only lower bound, so the database reads the index from there. qs may
    be a .values() queryset, when it holds the sort's field (SORTS) and id.
    """
    return _keyset_page(qs, sort, cursor, max(1, min(limit, MAX_LIMIT)))


def walk(qs: TicketQuerySet, sort: str, batch_size: int = 2000) -> Iterator[Ticket]:
    """Every row of qs in `sort` order, read in keyset batches: memory stays constant whatever the count.

    For exports: each batch is one short query, so no cursor or transaction stays open
    while the rows are written out.
    """
    cursor: str | None = None
    while True:
        batch = _keyset_page(qs, sort, cursor, max(1, batch_size))
        yield from batch.rows
        if batch.next_cursor is None:
            return
        cursor = batch.next_cursor


def walk_matching(
    user: Any, f: TicketFilter, batch_size: int = 2000, annotations: Mapping[str, Any] | None = None
) -> Iterator[Ticket]:
    """Every ticket the user sees matching f, in f's order, in keyset batches (see walk()).

    Each batch leaves out the range bound its cursor makes redundant (seek_filter), so
    the last batch of a long export costs what the first one does. `annotations`: values the
    rows carry besides their fields (ROW_ANNOTATIONS).
    """
    cursor: str | None = None
    while True:
        qs = list_queryset(user, seek_filter(f, cursor))
        if annotations:
            qs = qs.annotate(**annotations)
        batch = _keyset_page(qs, f.sort, cursor, max(1, batch_size))
        yield from batch.rows
        if batch.next_cursor is None:
            return
        cursor = batch.next_cursor


def _sort_value(row: Ticket | dict[str, Any], field_name: str) -> Any:
    if isinstance(row, dict):
        return row[field_name]
    value: Any = row
    for part in field_name.split("__"):
        value = getattr(value, part)
    return value


def _keyset_page(qs: QuerySet[Ticket, Any], sort: str, cursor: str | None, limit: int) -> Page:
    descending = sort.startswith("-")
    field_name = SORTS[sort.lstrip("-")][0]
    if field_name == "id":
        ordering = ["-id"] if descending else ["id"]
    else:
        ordering = [f"-{field_name}", "-id"] if descending else [field_name, "id"]
    if field_name in _SORT_ANNOTATIONS:
        qs = qs.annotate(**{field_name: _SORT_ANNOTATIONS[field_name]})
    qs = qs.order_by(*ordering)
    if cursor:
        value, pk = decode_cursor(cursor, sort)
        qs = qs.filter(after(field_name, value, pk, descending))
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        pk = last["id"] if isinstance(last, dict) else last.pk
        next_cursor = encode_cursor([_sort_value(last, field_name) if field_name != "id" else pk, pk, sort])
    return Page(rows=rows, next_cursor=next_cursor)


# The filter's date range that a cursor of each sort bounds from the side it reads from.
_CURSOR_BOUNDS = {
    "next_contact_at": ("next_contact_from", "next_contact_to"),
    "opened_at": ("opened_from", "opened_to"),
}


def seek_filter(f: TicketFilter, cursor: str | None) -> TicketFilter:
    """f without the range bound that a page's cursor makes redundant (f itself when none is).

    Past the first page of a date sort, the cursor is a tighter bound than the range's
    start (its end, descending). Left in, SQLite reads the index from the range start
    and skips every row before the cursor (PERFORMANCE.md); the rows are the same.
    Raises BadCursor like page().
    """
    if not cursor:
        return f
    bounds = _CURSOR_BOUNDS.get(SORTS[f.sort.lstrip("-")][0])
    if bounds is None:
        return f
    value, _pk = decode_cursor(cursor, f.sort)
    if f.sort.startswith("-"):
        name = bounds[1]
        day = getattr(f, name)
        redundant = day is not None and value < _day_start(day + dt.timedelta(days=1))
    else:
        name = bounds[0]
        day = getattr(f, name)
        redundant = day is not None and value >= _day_start(day)
    if not redundant:
        return f
    seek = replace(f)
    setattr(seek, name, None)
    return seek


def list_queryset(user: Any, f: TicketFilter) -> TicketQuerySet:
    """The user's visible tickets matching f, with what a list row shows joined in."""
    from ciclo.tickets.access import visible_tickets

    qs = visible_tickets(user).select_related("person", "service_type", "cr", "company", "next_contact_user")
    return apply_filter(qs, f)


__all__ = [
    "SORTS",
    "Page",
    "TicketFilter",
    "apply_filter",
    "list_queryset",
    "page",
    "parse_filter",
    "seek_filter",
    "walk",
    "walk_matching",
]

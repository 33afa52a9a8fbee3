"""Finding tickets (Consulta de Atendimentos): the filter form, the results, columns and scenarios.

Every filter, sort and page comes from `ciclo.tickets.query`, shared with the API and
the exports; this module only reads the request, picks the columns and renders.
With htmx the form swaps the results fragment in place; without it the form is a
plain GET form and every link a plain link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from ciclo.accounts.decorators import ciclo_user
from ciclo.configurator.models import Priority, ResponsibilityCenter, ServiceType
from ciclo.http import get_id, parse_int
from ciclo.jinja import render_rows
from ciclo.people.documents import format_document
from ciclo.people.models import Company
from ciclo.sales.models import Outcome, SalesContact
from ciclo.tickets import query
from ciclo.tickets.access import company_restricted
from ciclo.tickets.models import Channel, Scenario, Ticket, TicketQuerySet

User = get_user_model()

# The outcome filter's choices (query.OUTCOMES): a sales ticket still open, won or lost.
OUTCOME_CHOICES = [("open", gettext_lazy("Open sale")), ("won", Outcome.WON.label), ("lost", Outcome.LOST.label)]

PAGE_SIZES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 20
# "Previous" walks back through at most this many pages; further back, it lands on the first page.
MAX_PREV = 20
# Every page tells how many tickets match, up to this many; past it, "more than …".
COUNT_CAP = 1000
SESSION_COLUMNS = "tickets_query_columns"
# The filter fields, in the order the form shows them: each has an error slot beside it.
FILTER_FIELDS = (
    "service_types",
    "crs",
    "status",
    "person",
    "company",
    "next_contact_user",
    "next_contact_from",
    "next_contact_to",
    "opened_from",
    "opened_to",
    "text",
    "outcome",
    "overdue_min",
    "overdue_max",
    "open_min",
    "open_max",
)


def _user(request: HttpRequest) -> Any:
    """The logged-in user (every view here is behind ciclo_user)."""
    return request.user


def _user_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class Shown(StrEnum):
    """How `tickets/query_rows.html` (Jinja2) shows a column's value in the table."""

    TEXT = ""
    LINK = "link"  # to the ticket
    DATETIME = "datetime"  # in the user's short date and time format
    SWATCH = "swatch"  # after the ticket's service type colour
    BADGE = "badge"  # the ticket's status


@dataclass(frozen=True)
class Column:
    """A column of the results: its label, the sort it offers (a key of query.SORTS), its value, the fields
    the value reads (the page reads no others) and how the table shows it.

    A column of a choice field gives the stored value and its `choices`: the labels are
    translated once per request, not once per row.
    """

    key: str
    label: Any
    value: Callable[[Ticket], Any]
    fields: tuple[str, ...]
    sort: str | None = None
    choices: type[models.TextChoices] | None = None
    shown_as: Shown = Shown.TEXT
    annotations: tuple[str, ...] = ()  # query.ROW_ANNOTATIONS the value reads


def _sale(ticket: Ticket, name: str) -> Any:
    """A field of the ticket's sales contact; None when it has none (not a sales ticket)."""
    try:
        return getattr(ticket.sales, name)  # type: ignore[attr-defined]
    except SalesContact.DoesNotExist:
        return None


def _days_overdue(due: dt.date | None) -> int | None:
    return None if due is None else max(0, (timezone.localdate() - due).days)


def _cents(amount: Any) -> Decimal | None:
    return None if amount is None else Decimal(str(amount)).quantize(Decimal("0.01"))


def column_annotations(columns: list[Column]) -> dict[str, Any]:
    """The query annotations the columns read (query.ROW_ANNOTATIONS)."""
    return query.row_annotations(sorted({name for c in columns for name in c.annotations}))


def choice_labels(columns: list[Column]) -> dict[str, dict[str, str]]:
    """For each choice column, stored value → label in the active language."""
    return {c.key: {value: str(label) for value, label in c.choices.choices} for c in columns if c.choices}


USER_NAME = ("next_contact_user__username", "next_contact_user__first_name", "next_contact_user__last_name")
COLUMNS: list[Column] = [
    Column("number", gettext_lazy("Number"), lambda t: t.pk, ("id",), "id", shown_as=Shown.LINK),
    Column(
        "opened", gettext_lazy("Opened"), lambda t: t.opened_at, ("opened_at",), "opened_at", shown_as=Shown.DATETIME
    ),
    Column("person", gettext_lazy("Person"), lambda t: t.person.name, ("person__name",), "person"),
    Column("document", gettext_lazy("CPF/CNPJ"), lambda t: format_document(t.person.document), ("person__document",)),
    Column("subject", gettext_lazy("Subject"), lambda t: t.subject, ("subject",), "subject"),
    Column(
        "type",
        gettext_lazy("Type"),
        lambda t: t.service_type.description,
        ("service_type__description", "service_type__colour"),
        "type",
        shown_as=Shown.SWATCH,
    ),
    Column(
        "phase",
        gettext_lazy("Phase"),
        lambda t: f"{t.cr.code} · {t.cr.description}",
        ("cr__code", "cr__description"),
        "phase",
    ),
    Column(
        "status",
        gettext_lazy("Status"),
        lambda t: t.status,
        ("status",),
        "status",
        choices=Ticket.Status,
        shown_as=Shown.BADGE,
    ),
    Column(
        "next_contact",
        gettext_lazy("Next contact"),
        lambda t: t.next_contact_at,
        ("next_contact_at",),
        "next_contact_at",
        shown_as=Shown.DATETIME,
    ),
    Column(
        "next_contact_user",
        gettext_lazy("Next contact with"),
        lambda t: _user_name(t.next_contact_user),
        USER_NAME,
        "next_contact_user",
    ),
    Column("company", gettext_lazy("Company"), lambda t: t.company.name, ("company__name",), "company"),
    Column("priority", gettext_lazy("Priority"), lambda t: Priority.describe(t.priority), ("priority",), "priority"),
    Column("channel", gettext_lazy("Channel"), lambda t: t.channel, ("channel",), choices=Channel),
    # A sales ticket's outcome (sales.SalesContact); blank for a ticket of another type.
    Column("outcome", gettext_lazy("Outcome"), lambda t: _sale(t, "outcome"), ("sales__outcome",), choices=Outcome),
    Column("won_value", gettext_lazy("Won value"), lambda t: _sale(t, "won_value"), ("sales__won_value",)),
    Column(
        "lost_reason",
        gettext_lazy("Lost reason"),
        lambda t: getattr(_sale(t, "lost_reason"), "name", None),
        ("sales__lost_reason__name",),
    ),
    # A collection ticket's: days its oldest open receivable is overdue, and its open amount.
    Column(
        "days_overdue",
        gettext_lazy("Days overdue"),
        lambda t: _days_overdue(t.collection_oldest_due),  # type: ignore[attr-defined]
        (),
        annotations=("collection_oldest_due",),
    ),
    Column(
        "open_amount",
        gettext_lazy("Open amount"),
        lambda t: _cents(t.collection_open_amount),  # type: ignore[attr-defined]
        (),
        annotations=("collection_open_amount",),
    ),
]
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}
DEFAULT_COLUMNS = [
    "number",
    "opened",
    "person",
    "subject",
    "type",
    "phase",
    "status",
    "next_contact",
    "next_contact_user",
]


def parse_columns(data: QueryDict) -> list[str] | None:
    """The column keys `cols` asks for, in table order; None when the request does not say.

    `cols` may repeat (the form's checkboxes) or be comma-separated (links); the form
    always sends an empty `cols` too, so unticking every box still says something.
    """
    if "cols" not in data:
        return None
    asked = {key.strip() for value in data.getlist("cols") for key in value.split(",")}
    return [c.key for c in COLUMNS if c.key in asked] or ["number"]


@dataclass
class QueryState:
    """What the request asks for: the filter (and its errors), the columns, the page."""

    filter: query.TicketFilter
    errors: dict[str, list[str]]
    columns: list[Column]
    size: int = DEFAULT_PAGE_SIZE
    after: str = ""
    prev: list[str] = field(default_factory=list)
    scenario: int | None = None

    def params(self, *, paging: bool = True, **changes: Any) -> list[tuple[str, str]]:
        """The canonical query parameters of this state; `changes` override after/prev/sort/size/cols."""
        f = self.filter
        sort = changes.get("sort", f.sort)
        items: list[tuple[str, str]] = []
        for name, value in f.as_params().items():
            if name == "sort":
                continue
            if isinstance(value, list):
                items += [(name, str(v)) for v in value]
            else:
                items.append((name, str(value)))
        if sort != query.DEFAULT_SORT:
            items.append(("sort", sort))
        items.append(("cols", ",".join(changes.get("cols", [c.key for c in self.columns]))))
        if not paging:
            return items
        size = changes.get("size", self.size)
        if size != DEFAULT_PAGE_SIZE:
            items.append(("size", str(size)))
        if self.scenario is not None:
            items.append(("scenario", str(self.scenario)))
        after = changes.get("after", self.after)
        prev = changes.get("prev", self.prev)
        if after:
            items.append(("after", after))
        if prev:
            items.append(("prev", ".".join(prev)))
        return items

    def url(self, **changes: Any) -> str:
        return reverse("tickets") + "?" + urlencode(self.params(**changes))

    def querystring(self) -> str:
        """The filter, sort and columns, without the page: what exports and scenarios take."""
        return urlencode(self.params(paging=False))

    @property
    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]


def read_state(request: HttpRequest, data: QueryDict | None = None, *, remember: bool = True) -> QueryState:
    """The query a request asks for. Columns not given come from the session; given ones are kept there."""
    data = request.GET if data is None else data
    f, errors = query.parse_filter(data)
    keys = parse_columns(data)
    if keys is None:
        saved = request.session.get(SESSION_COLUMNS)
        keys = [k for k in saved if k in COLUMNS_BY_KEY] if isinstance(saved, list) else []
        keys = keys or DEFAULT_COLUMNS
    elif remember and request.session.get(SESSION_COLUMNS) != keys:
        request.session[SESSION_COLUMNS] = keys
    size = parse_int(data.get("size", "")) or DEFAULT_PAGE_SIZE
    if size not in PAGE_SIZES:
        size = DEFAULT_PAGE_SIZE
    return QueryState(
        filter=f,
        errors=errors,
        columns=[COLUMNS_BY_KEY[k] for k in keys],
        size=size,
        after=data.get("after", "").strip()[:500],
        prev=[c for c in data.get("prev", "")[:10_000].split(".") if c][-MAX_PREV:],
        scenario=get_id(data, "scenario"),
    )


# --- the results -------------------------------------------------------------------------------------------------


class Cell(NamedTuple):
    """One value of a row, in its column, how the column shows it, and its text as the page shows it.

    Tuples, so that `tickets/query_rows.html` unpacks them in its loop instead of looking up
    attributes: a page of 200 rows has 2,600 cells. The text is made here once (a date in the
    user's format, a number as it reads); the template escapes it as any value."""

    key: str
    shown_as: Shown
    value: Any
    text: str


class Row(NamedTuple):
    """A ticket's row: its cells, and what the row's markup needs of the ticket, read once."""

    ticket: Ticket
    cells: list[Cell]
    number: str
    url: str
    colour: str
    closed: bool


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    next_cursor: str | None = None
    rows_html: str = ""  # the rows as the table shows them (tickets/jinja2/tickets/query_rows.html)
    count: int | None = None  # how many match, when known (counted cheaply, up to COUNT_CAP, on every page)
    count_capped: bool = False
    error: str = ""

    @property
    def shown(self) -> int:
        return len(self.rows)


def column_values(columns: list[Column], ticket: Ticket, labels: dict[str, dict[str, str]]) -> list[Any]:
    """The ticket's value in each column, a choice's by its label: what the table and the exports show."""
    values = []
    for column in columns:
        value = column.value(ticket)
        values.append(labels[column.key].get(value, value) if column.key in labels else value)
    return values


def _text(value: Any, shown_as: Shown, datetime_format: str) -> str:
    """A value as the table shows it: what the template would print (a date in `datetime_format`)."""
    if value is None or value == "":
        return ""
    if shown_as == Shown.DATETIME:
        return dateformat.format(timezone.localtime(value), datetime_format)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # what localize() gives an integer (no thousands separator): without its cost
    return str(formats.localize(value))


def _row(ticket: Ticket, columns: list[Column], labels: dict[str, dict[str, str]], swatch: bool, dates: str) -> Row:
    values = column_values(columns, ticket, labels)
    cells = [
        Cell(c.key, c.shown_as, "" if v is None else v, _text(v, c.shown_as, dates))
        for c, v in zip(columns, values, strict=True)
    ]
    return Row(
        ticket,
        cells,
        str(ticket.pk),
        reverse("ticket", args=[ticket.pk]),
        ticket.service_type.colour if swatch else "",
        ticket.is_closed,
    )


def shown_only(qs: TicketQuerySet, columns: list[Column], sort: str) -> TicketQuerySet:
    """qs reading what the columns show (and the row's status, and the sort's key for the next cursor), its
    related rows joined only when a column shows them: a page of 200 rows reads no more than it shows."""
    fields = {"id", "status", *(name for c in columns for name in c.fields)}
    sort_field = query.SORTS[sort.lstrip("-")][0]
    if not sort_field.startswith("sort_"):  # an annotation: not a field to read
        fields.add(sort_field)
    related = sorted({name.rsplit("__", 1)[0] for name in fields if "__" in name})
    qs = qs.select_related(None)
    if related:  # select_related() with no names would join every related row
        qs = qs.select_related(*related)
    qs = qs.only(*sorted(fields))
    annotations = column_annotations(columns)
    return qs.annotate(**annotations) if annotations else qs


def _rows_html(rows: list[Row]) -> str:
    return render_rows(
        "tickets/query_rows.html",
        {
            "rows": rows,
            "open_label": pgettext("the button that opens a ticket", "Open"),
            "open_title": _("Open the ticket"),
            "cycle_label": _("Cycle"),
        },
    )


def find(request: HttpRequest, state: QueryState) -> Results | None:
    """The page of tickets the state asks for; None while the filter has errors (no query runs)."""
    if state.errors:
        return None
    try:
        qs = query.list_queryset(request.user, query.seek_filter(state.filter, state.after))
        shown = shown_only(qs, state.columns, state.filter.sort)
        found = query.page(shown, state.filter.sort, state.after or None, state.size)
    except query.BadCursor as err:
        return Results(error=str(err))
    labels = choice_labels(state.columns)
    swatch = any(c.shown_as == Shown.SWATCH for c in state.columns)
    # The user's date and time format, as the template's `date` filter would read it for every cell.
    dates = formats.get_format("SHORT_DATETIME_FORMAT")
    rows = [_row(t, state.columns, labels, swatch, dates) for t in found.rows]
    results = Results(rows=rows, next_cursor=found.next_cursor, rows_html=_rows_html(rows))
    if not state.after and found.next_cursor is None:
        results.count = len(rows)
    elif not state.filter.text:
        # The whole filter, not this page's seek: the same total on every page. Bounded: at most
        # COUNT_CAP + 1 index entries, whatever the table holds. A text search reads notes, so
        # counting it could cost what a full scan costs: not done.
        every = qs if not state.after else query.list_queryset(request.user, state.filter)
        n = every.select_related(None).order_by()[: COUNT_CAP + 1].count()
        results.count, results.count_capped = min(n, COUNT_CAP), n > COUNT_CAP
    return results


def _headers(state: QueryState) -> list[dict[str, Any]]:
    """Each visible column's header: its label and, when sortable, the link that sorts by it."""
    current = state.filter.sort
    out = []
    for column in state.columns:
        header: dict[str, Any] = {"key": column.key, "label": column.label, "aria_sort": "", "url": ""}
        if column.sort:
            if current == column.sort:
                header["aria_sort"], target = "ascending", "-" + column.sort
            elif current == "-" + column.sort:
                header["aria_sort"], target = "descending", column.sort
            else:
                target = column.sort
            header["url"] = state.url(sort=target, after="", prev=[])
        out.append(header)
    return out


def _paging(state: QueryState, results: Results | None) -> dict[str, str]:
    links = {"next": "", "previous": "", "first": ""}
    if results is None:
        return links
    if results.next_cursor:
        links["next"] = state.url(after=results.next_cursor, prev=[*state.prev, state.after] if state.after else [])
    if state.after:
        links["first"] = state.url(after="", prev=[])
        links["previous"] = state.url(after=state.prev[-1] if state.prev else "", prev=state.prev[:-1])
    return links


@dataclass(frozen=True)
class Chip:
    """An active filter, shown above the results: what it is, and the link that drops it (and only it)."""

    label: str
    value: str
    remove_url: str


def _without(state: QueryState, name: str, value: Any = None) -> str:
    """The first page of the state's query without filter `name` (without `value` alone, for a list)."""
    current = getattr(state.filter, name)
    if isinstance(current, list):
        kept: Any = [v for v in current if v != value]
    else:
        kept = "" if isinstance(current, str) else None
    narrower = replace(state, filter=replace(state.filter, **{name: kept}))
    return narrower.url(after="", prev=[])


# What a CR or a type is shown as in the filter and its chips: (id, code, description, active).
Choice = tuple[int, str, str, bool]


def _cr_choices(ids: list[int] | None = None) -> list[Choice]:
    """Every CR (or those of `ids`), in code order: one query."""
    crs = ResponsibilityCenter.objects.order_by("code_key")
    if ids is not None:
        crs = crs.filter(pk__in=ids)
    return list(crs.values_list("id", "code", "description", "active"))


def _type_choices(ids: list[int] | None = None) -> list[Choice]:
    """Every analytical service type (the ones tickets are of), or those of `ids`, in code order: one query."""
    types = ServiceType.objects.filter(kind=ServiceType.Kind.ANALYTICAL).order_by("code_key")
    if ids is not None:
        types = types.filter(pk__in=ids)
    return list(types.values_list("id", "code", "description", "active"))


def _names(choices: Iterable[Choice]) -> dict[int, str]:
    return {pk: f"{code} · {text}" for pk, code, text, _active in choices}


def _chips(state: QueryState, types: list[Choice] | None = None, crs: list[Choice] | None = None) -> list[Chip]:
    """The filters in force as chips. Types and CRs are named from the lists the form offers when the
    page has them, otherwise by one query each, only when the filter names some; a company or a user
    by one query each, only when the filter names one."""
    f = state.filter
    if state.errors:
        return []
    if f.service_types and types is None:
        types = _type_choices(f.service_types)
    if f.crs and crs is None:
        crs = _cr_choices(f.crs)
    type_names, cr_names = _names(types or ()), _names(crs or ())
    chips = [
        Chip(str(_("Type")), type_names.get(pk, str(pk)), _without(state, "service_types", pk))
        for pk in f.service_types
    ]
    chips += [Chip(str(_("Phase")), cr_names.get(pk, str(pk)), _without(state, "crs", pk)) for pk in f.crs]
    if f.status:
        chips.append(Chip(str(_("Status")), str(Ticket.Status(f.status).label), _without(state, "status")))
    if f.person:
        chips.append(Chip(str(_("Person")), f.person, _without(state, "person")))
    if f.outcome:
        label = dict(OUTCOME_CHOICES).get(f.outcome, f.outcome)
        chips.append(Chip(str(_("Outcome")), str(label), _without(state, "outcome")))
    for name, label in (
        ("overdue_min", _("At least days overdue")),
        ("overdue_max", _("At most days overdue")),
        ("open_min", _("Open amount from")),
        ("open_max", _("Open amount up to")),
    ):
        if getattr(f, name) is not None:
            chips.append(Chip(str(label), str(getattr(f, name)), _without(state, name)))
    if f.company is not None:
        company = Company.objects.filter(pk=f.company).values_list("code", "name").first()
        name = f"{company[0]} · {company[1]}" if company else str(f.company)
        chips.append(Chip(str(_("Company")), name, _without(state, "company")))
    if f.next_contact_user is not None:
        user = User.objects.filter(pk=f.next_contact_user).first()
        chips.append(
            Chip(
                str(_("Next contact with")),
                _user_name(user) or str(f.next_contact_user),
                _without(state, "next_contact_user"),
            )
        )
    dates = (
        ("next_contact_from", _("Next contact from")),
        ("next_contact_to", _("Next contact until")),
        ("opened_from", _("Opened from")),
        ("opened_to", _("Opened until")),
    )
    for name, label in dates:
        day = getattr(f, name)
        if day is not None:
            chips.append(Chip(str(label), formats.date_format(day, "SHORT_DATE_FORMAT"), _without(state, name)))
    if f.text:
        chips.append(Chip(str(_("Text")), f.text, _without(state, "text")))
    return chips


def _results_context(
    state: QueryState,
    results: Results | None,
    *,
    types: list[Choice] | None = None,
    crs: list[Choice] | None = None,
) -> dict[str, Any]:
    """The results fragment's context; `types` and `crs` are the filter's choices when the page has read them."""
    return {
        "chips": _chips(state, types, crs),
        "clear_url": reverse("tickets") + "?" + urlencode({"cols": ",".join(state.column_keys)}),
        "state": state,
        "filter": state.filter,
        "errors": state.errors,
        "field_errors": [(name, state.errors.get(name, [])) for name in FILTER_FIELDS],
        # Each field's errors, [] when it has none: the form asks for every field's.
        "field_errs": {name: state.errors.get(name, []) for name in FILTER_FIELDS},
        "oob": False,
        "other_errors": [e for name, errs in state.errors.items() if name not in FILTER_FIELDS for e in errs],
        "results": results,
        "headers": _headers(state),
        "paging": _paging(state, results),
        "page_number": (len(state.prev) + 2) if state.after else 1,
        "querystring": state.querystring(),
    }


# --- the whole page ----------------------------------------------------------------------------------------------


class ScenarioForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    shared = forms.BooleanField(label=gettext_lazy("Shared with everyone"), required=False)


class RenameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=100)


class Checkbox(NamedTuple):
    """A checkbox of a multiple choice; a tuple, which the template's loop unpacks."""

    value: str  # the id, as the form sends it
    label: str
    checked: bool


@dataclass(frozen=True)
class MultiChoice:
    """A multiple choice (types, CRs) as checkboxes in a drop-down whose face lists what is ticked:
    a list a person can read, unlike a multiple select."""

    choices: list[Checkbox]

    @property
    def summary(self) -> str:
        ticked = [c.label for c in self.choices if c.checked]
        return "; ".join(ticked) if ticked else _("All")


def _checkboxes(items: Iterable[Choice], selected: Container[int], inactive: str) -> MultiChoice:
    return MultiChoice(
        [
            Checkbox(str(pk), f"{code} · {text}" + ("" if active else inactive), pk in selected)
            for pk, code, text, active in items
        ]
    )


def _choices(request: HttpRequest, state: QueryState, types: list[Choice], crs: list[Choice]) -> dict[str, Any]:
    """What the filter offers: the types and CRs given, and its selects' options (one query for
    companies and one for users, whatever the page shows), as (value, label) pairs."""
    f = state.filter
    shown = set(state.column_keys)
    inactive = " (" + _("inactive") + ")"
    companies = Company.objects.order_by("code")
    if company_restricted(request.user):
        companies = companies.filter(user_access__user=_user(request))
    users = (
        User.objects.filter(Q(groups__isnull=False) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
        .values_list("id", "first_name", "last_name", "username")
    )
    return {
        "service_type_choices": _checkboxes(types, f.service_types, inactive),
        "cr_choices": _checkboxes(crs, f.crs, inactive),
        "company_options": [(pk, f"{code} · {name}") for pk, code, name in companies.values_list("id", "code", "name")],
        "user_options": [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in users],
        "statuses": [("", _("All")), *Ticket.Status.choices],
        "outcomes": [("", _("All")), *OUTCOME_CHOICES],
        "page_sizes": PAGE_SIZES,
        # Each column's checkbox: (key, label, ticked).
        "all_columns": [(c.key, str(c.label), c.key in shown) for c in COLUMNS],
    }


def _visible_scenarios(user: Any) -> list[Scenario]:
    return list(Scenario.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "id"))


def _scenarios_context(request: HttpRequest, state: QueryState, **extra: Any) -> dict[str, Any]:
    scenarios = _visible_scenarios(request.user)
    rename_errors = extra.pop("rename_errors", {})
    for scenario in scenarios:
        scenario.rename_errors = rename_errors.get(scenario.pk, [])  # type: ignore[attr-defined]
    current = next((s for s in scenarios if s.pk == state.scenario), None)
    form = extra.pop("form", None)
    if form is None:
        initial = (
            {"name": current.name, "shared": current.shared} if current and current.owner_id == request.user.pk else {}
        )
        form = ScenarioForm(initial=initial)
    return {
        "scenarios": scenarios,
        "current_scenario": current,
        "scenario_form": form,
        "querystring": state.querystring(),
        # What only a saved or refused scenario shows: nothing, unless it says so.
        "notice": "",
        "confirm_overwrite": None,
        **extra,
    }


def render_page(request: HttpRequest, state: QueryState, *, status: int = 200, **scenario_extra: Any) -> HttpResponse:
    results = find(request, state)
    types, crs = _type_choices(), _cr_choices()
    context = {
        "nav": "tickets",
        **_choices(request, state, types, crs),
        **_results_context(state, results, types=types, crs=crs),
        **_scenarios_context(request, state, **scenario_extra),
    }
    return render(request, "tickets/query.html", context, status=status)


def _wants_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if htmx is None or not htmx:
        return False
    return not htmx.history_restore_request and not htmx.boosted


@require_GET
@ciclo_user
def tickets(request: HttpRequest) -> HttpResponse:
    """The query page; an htmx request gets the results fragment alone (errors swap in beside their fields)."""
    state = read_state(request)
    if _wants_fragment(request):
        results = find(request, state)
        context = {**_results_context(state, results), "oob": True}
        response = render(request, "tickets/_query_results.html", context)
        if not state.errors:
            # The form sends every field, empty ones too: the address bar gets the short, canonical URL.
            push_url(response, state.url())
    else:
        response = render_page(request, state)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- scenarios -----------------------------------------------------------------------------------------------------


def _posted_state(request: HttpRequest) -> QueryState:
    """The query a scenario form was posted from.

    With htmx the address bar follows the filter (hx-push-url), so the current URL
    is the truth; without it, the page was rendered fresh and its hidden `query` is.
    """
    raw = request.POST.get("query", "")
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.current_url:
        parts = urlsplit(htmx.current_url)
        if parts.path == reverse("tickets"):
            raw = parts.query
    return read_state(request, QueryDict(raw), remember=False)


def _scenario_for(request: HttpRequest, pk: int, *, change: bool = False) -> Scenario:
    """A scenario the user may open (theirs or shared; 404 otherwise); to change it, theirs (403 otherwise)."""
    scenario = Scenario.objects.filter(Q(owner=_user(request)) | Q(shared=True), pk=pk).first()
    if scenario is None:
        raise Http404(_("No such scenario."))
    if change and scenario.owner_id != request.user.pk:
        raise PermissionDenied(_("Only its owner changes or deletes a scenario."))
    return scenario


def _scenario_url(scenario: Scenario) -> str:
    items: list[tuple[str, str]] = []
    for name, value in (scenario.params or {}).items():
        if isinstance(value, list):
            items += [(name, str(v)) for v in value]
        elif value is not None:
            items.append((name, str(value)))
    if scenario.columns:
        items.append(("cols", ",".join(str(c) for c in scenario.columns)))
    items.append(("scenario", str(scenario.pk)))
    return reverse("tickets") + "?" + urlencode(items)


def _scenarios_response(
    request: HttpRequest, state: QueryState, *, invalid: bool = False, ask: bool = False, done: str = "", **extra: Any
) -> HttpResponse:
    """htmx: the scenarios panel again. Otherwise the whole page when the form has errors (422)
    or asks a question (200), or back to the query page with a message when done."""
    if _wants_fragment(request):
        context = _scenarios_context(request, state, notice=done, **extra)
        return render(request, "tickets/_query_scenarios.html", context)
    if invalid or ask:
        return render_page(request, state, status=422 if invalid else 200, **extra)
    if done:
        messages.success(request, done)
    return redirect(state.url())


@require_POST
@ciclo_user
def scenario_save(request: HttpRequest) -> HttpResponse:
    """Save the current filter and columns under a name; the same name again overwrites, once confirmed."""
    state = _posted_state(request)
    form = ScenarioForm(request.POST)
    if not form.is_valid():
        return _scenarios_response(request, state, invalid=True, form=form)
    if state.errors:
        form.add_error(None, _("Correct the filter before saving it as a scenario."))
        return _scenarios_response(request, state, invalid=True, form=form)
    name, shared = form.cleaned_data["name"], form.cleaned_data["shared"]
    values = {"params": state.filter.as_params(), "columns": state.column_keys, "shared": shared}
    existing = Scenario.objects.filter(owner=_user(request), name=name).first()
    if existing is not None and request.POST.get("overwrite") != name:
        return _scenarios_response(request, state, ask=True, form=form, confirm_overwrite=existing)
    if existing is not None:
        for attr, value in values.items():
            setattr(existing, attr, value)
        existing.save(update_fields=[*values, "updated_at"])
        scenario = existing
        done = _("Scenario “%(name)s” updated.") % {"name": name}
    else:
        try:
            with transaction.atomic():
                scenario = Scenario.objects.create(owner=_user(request), name=name, **values)
        except IntegrityError:  # saved by a twin request meanwhile: ask, as for any existing name
            existing = Scenario.objects.get(owner=_user(request), name=name)
            return _scenarios_response(request, state, ask=True, form=form, confirm_overwrite=existing)
        done = _("Scenario “%(name)s” saved.") % {"name": name}
    state.scenario = scenario.pk
    return _scenarios_response(request, state, done=done)


@require_GET
@ciclo_user
def scenario_open(request: HttpRequest, pk: int) -> HttpResponse:
    return redirect(_scenario_url(_scenario_for(request, pk)))


@require_POST
@ciclo_user
def scenario_rename(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario_for(request, pk, change=True)
    state = _posted_state(request)
    form = RenameForm(request.POST)
    name = form.cleaned_data["name"] if form.is_valid() else ""
    if name and Scenario.objects.filter(owner=_user(request), name=name).exclude(pk=scenario.pk).exists():
        form.add_error("name", _("You already have a scenario with this name."))
    if not form.is_valid():
        return _scenarios_response(request, state, invalid=True, rename_errors={scenario.pk: form.errors["name"]})
    old = scenario.name
    scenario.name = name
    scenario.save(update_fields=["name", "updated_at"])
    return _scenarios_response(
        request, state, done=_("Scenario “%(old)s” renamed to “%(new)s”.") % {"old": old, "new": name}
    )


@require_POST
@ciclo_user
def scenario_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scenario = _scenario_for(request, pk, change=True)
    name = scenario.name
    scenario.delete()
    state = _posted_state(request)
    if state.scenario == pk:
        state.scenario = None
    return _scenarios_response(request, state, done=_("Scenario “%(name)s” deleted.") % {"name": name})

"""Home (Hoje): the contacts due, overdue apart from today's, each list paged on its own.

An agent sees their own; a supervisor (or an admin) may look at the team's, everyone's or
one user's. An admin also gets the links to the configuration.

Whoever has 30,000 contacts due still gets the page at once. Every count is read up to
COUNT_CAP + 1 rows and a larger one shows as "1,000+": past a thousand the exact figure
changes nothing anyone does with this page, and counting all of them cost more than the
rest of the page. One query counts each phase's overdue and today's contacts; the lists'
counts are their sums. The lists are paged by keyset (the page after, or before, a cursor
naming a row by its next contact and id), so a list's hundredth page is read from the
index as quickly as its first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import IntegerField, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.roles import ROLE_ORDER, Role, is_supervisor, role_of
from ciclo.configurator.models import ResponsibilityCenter
from ciclo.http import parse_id
from ciclo.jinja import render_rows
from ciclo.reminders.sending import notices as reminder_notices
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Ticket, TicketQuerySet
from ciclo.tickets.query import BadCursor, after, encode_cursor, unpack_cursor

User = get_user_model()

PAGE_SIZE = 20
COUNT_CAP = 1000  # a count past this shows as "1,000+"
TEAM = "team"  # the `user` parameter of a supervisor's view of every user's contacts
ORDER = "next_contact_at"  # the lists' order, with the id after it


@dataclass(frozen=True)
class Capped:
    """A count as the page shows it: `shown`, and "+" after it when there are more (`more`)."""

    shown: int
    more: bool = False

    @classmethod
    def of(cls, n: int) -> Capped:
        """A count read up to COUNT_CAP + 1 rows: exact up to the cap, the cap and more past it."""
        return cls(min(n, COUNT_CAP), n > COUNT_CAP)

    def __bool__(self) -> bool:
        return self.shown > 0


class CappedCount(Subquery):
    """How many rows a (sliced) subquery returns, as a column of the outer query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) capped)"
    output_field = IntegerField()


def capped_sum(counts: list[int]) -> Capped:
    """The sum of counts each read up to COUNT_CAP + 1 rows, as the page shows it.

    Exact when no count reached the cap; when one did, the sum is past the cap too, and so is
    the true total: "1,000+" either way.
    """
    return Capped.of(sum(counts))


# What a row shows, as .values() names it: a page is read without model instances, and its
# values are made ready once per row (both the table and the phone's cards show them).
ROW_FIELDS = (
    "id",
    "subject",
    "next_contact_at",
    "person__name",
    "service_type__description",
    "service_type__colour",
    "cr__description",
)
USER_FIELDS = ("next_contact_user__username", "next_contact_user__first_name", "next_contact_user__last_name")


class DueRow(NamedTuple):
    """A contact as the lists show it, each value ready for the page (the template's loops unpack it)."""

    pk: int
    number: str  # the pk as the page shows it (an int would be localized for every place it shows)
    url: str
    when: str  # its next contact: the date and time when overdue, the time alone when today
    person: str
    subject: str
    colour: str
    type: str
    phase: str
    user: str  # whose contact it is ("" when the page shows only the user's own)
    next_contact_at: dt.datetime


def _due_row(v: dict[str, Any], overdue: bool) -> DueRow:
    at = timezone.localtime(v["next_contact_at"])
    when = formats.date_format(at, "SHORT_DATETIME_FORMAT") if overdue else formats.time_format(at, "TIME_FORMAT")
    first, last = v.get("next_contact_user__first_name"), v.get("next_contact_user__last_name")
    user = f"{first or ''} {last or ''}".strip() or v.get("next_contact_user__username") or ""
    return DueRow(
        v["id"],
        str(v["id"]),
        reverse("ticket", args=[v["id"]]),
        when,
        v["person__name"],
        v["subject"],
        v["service_type__colour"],
        v["service_type__description"],
        v["cr__description"],
        user,
        v["next_contact_at"],
    )


@dataclass
class DueList:
    """One of the home's lists (overdue, today): a page of it, how many it holds, the links to its neighbours."""

    key: str  # "overdue" or "today": its cursors are f"{key}_after" and f"{key}_before"
    title: str
    tickets: list[DueRow]
    count: Capped
    first_url: str = ""
    previous_url: str = ""
    next_url: str = ""
    rows_html: str = ""  # its tickets as the table's rows, and as a phone's cards (tickets/jinja2/)
    cards_html: str = ""


def _url(params: QueryDict, **changes: Any) -> str:
    """The home's URL with `changes` to its parameters (an empty value drops the parameter)."""
    query = params.copy()
    for name, value in changes.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = str(value)
    return "?" + urlencode(sorted(query.items()))


def _cursor(key: str, raw: str) -> tuple[dt.datetime, int] | None:
    """The (next contact, id) a list's cursor names; None for anything that is not one of this list's."""
    if not raw:
        return None
    try:
        return unpack_cursor(raw, f"home-{key}", dt.datetime)
    except BadCursor:
        return None


def _due_list(
    key: str,
    title: str,
    rows: TicketQuerySet,
    count: Capped,
    fields: tuple[str, ...],
    params: QueryDict,
    start_of_day: dt.datetime,
) -> DueList:
    """A page of `rows` (the list's tickets, their `fields` read) from its cursor in `params`, with its
    count and its links."""
    overdue = key == "overdue"

    def read(page: TicketQuerySet, *order: str) -> list[dict[str, Any]]:
        return list(page.order_by(*order).values(*fields)[: PAGE_SIZE + 1])

    in_list = rows.filter(next_contact_at__lt=start_of_day) if overdue else rows
    after_name, before_name = f"{key}_after", f"{key}_before"
    forward = _cursor(key, params.get(after_name, ""))
    backward = None if forward else _cursor(key, params.get(before_name, ""))
    found: list[dict[str, Any]] = []
    more_before = more_after = False
    if backward is not None:
        value, pk = backward
        page = in_list.filter(after(ORDER, value, pk, descending=True))
        if not overdue:
            page = page.filter(next_contact_at__gte=start_of_day)
        found = read(page, f"-{ORDER}", "-id")
        more_before, more_after = len(found) > PAGE_SIZE, True
        found = found[:PAGE_SIZE][::-1]
    if forward is not None:
        value, pk = forward
        page = in_list.filter(after(ORDER, value, pk, descending=False))
        # The cursor is the lower bound: today's start, which it makes redundant, is left out,
        # or SQLite reads the index from the start of the day (PERFORMANCE.md).
        if not overdue and value < start_of_day:
            page = page.filter(next_contact_at__gte=start_of_day)
        found = read(page, ORDER, "id")
        more_before, more_after = True, len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
    if not found:
        # No cursor, one of another list, or a page that emptied since its link was made: the first page.
        page = in_list if overdue else in_list.filter(next_contact_at__gte=start_of_day)
        found = read(page, ORDER, "id")
        more_before, more_after = False, len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
    tickets = [_due_row(v, overdue) for v in found]
    listing = DueList(key, title, tickets, count)
    base = {after_name: None, before_name: None}
    if more_before:
        listing.first_url = _url(params, **base)
        first = tickets[0]
        cursor = encode_cursor([first.next_contact_at, first.pk, f"home-{key}"])
        listing.previous_url = _url(params, **{**base, before_name: cursor})
    if more_after:
        last = tickets[-1]
        cursor = encode_cursor([last.next_contact_at, last.pk, f"home-{key}"])
        listing.next_url = _url(params, **{**base, after_name: cursor})
    return listing


def _per_phase(due: TicketQuerySet, start_of_day: dt.datetime) -> list[dict[str, Any]]:
    """Every phase in code order, with its contacts due counted overdue and today (COUNT_CAP + 1 index
    entries at most each) and their capped sum: one query."""
    in_phase = due.filter(cr=OuterRef("pk")).order_by()
    overdue = in_phase.filter(next_contact_at__lt=start_of_day).values("pk")[: COUNT_CAP + 1]
    today = in_phase.filter(next_contact_at__gte=start_of_day).values("pk")[: COUNT_CAP + 1]
    phases = (
        ResponsibilityCenter.objects.annotate(overdue=CappedCount(overdue), today=CappedCount(today))
        .order_by("code_key")
        .values("id", "code", "description", "overdue", "today")
    )
    return [{**p, "count": capped_sum([p["overdue"], p["today"]])} for p in phases]


def _team(request: HttpRequest) -> list[tuple[int, str]]:
    """The users a supervisor may look at: everyone with a Ciclo role, by name."""
    users = (
        User.objects.filter(Q(groups__name__in=[r.value for r in ROLE_ORDER]) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
        .values_list("id", "first_name", "last_name", "username")
    )
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in users]


def _whose(request: HttpRequest, team: list[tuple[int, str]]) -> tuple[str, int | None]:
    """Whose contacts the page lists: ("me", None), ("team", None) or ("user", id) for a supervisor's choice."""
    raw = request.GET.get("user", "")
    if not is_supervisor(request.user) or not raw:
        return "me", None
    if raw == TEAM:
        return "team", None
    chosen = parse_id(raw)
    if chosen is not None and chosen in dict(team):
        if chosen == request.user.pk:
            return "me", None
        return "user", chosen
    return "me", None


@ciclo_user
def home(request: HttpRequest) -> HttpResponse:
    """The contacts due by the end of today, overdue and today's in two paged lists, with counts per phase."""
    now = timezone.now()
    supervisor = is_supervisor(request.user)
    team = _team(request) if supervisor else []
    whose, user_id = _whose(request, team)
    mine = Ticket.objects.due_for(user_id or request.user.pk, at=now)
    due = visible_tickets(request.user, Ticket.objects.due(at=now) if whose == "team" else mine)
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    phases = _per_phase(due, start_of_day)
    per_phase = [p for p in phases if p["count"]]
    phase_id = parse_id(request.GET.get("phase", ""))
    # The lists' counts: of the phase shown, or of every phase.
    counted = [p for p in phases if p["id"] == phase_id] if phase_id is not None else phases
    # What a row shows, and no more: a ticket's search text alone can hold every note it has.
    # Whose contact it is shows in a column when the page is not the user's own.
    fields = (*ROW_FIELDS, *(USER_FIELDS if whose != "me" else ()))
    rows = due
    if phase_id is not None:
        rows = rows.filter(cr_id=phase_id)
    # A phase's link keeps whose contacts are shown, and starts both lists again at their first page.
    scope = QueryDict(mutable=True)
    if whose != "me":
        scope["user"] = request.GET["user"]
    for p in per_phase:
        p["url"] = _url(scope, phase=p["id"])
    params = request.GET.copy()
    overdue_count, today_count = (capped_sum([p[key] for p in counted]) for key in ("overdue", "today"))
    lists = [
        _due_list("overdue", pgettext("the home's list", "Overdue"), rows, overdue_count, fields, params, start_of_day),
        _due_list("today", _("Due today"), rows, today_count, fields, params, start_of_day),
    ]
    show_user_column = whose != "me"
    for listing in lists:
        shown: dict[str, Any] = {"tickets": listing.tickets, "show_user_column": show_user_column}
        when_class = "text-danger" if listing.key == "overdue" else "text-body-secondary"
        listing.rows_html = render_rows("tickets/home_rows.html", shown)
        listing.cards_html = render_rows("tickets/home_cards.html", {**shown, "when_class": when_class})
    return render(
        request,
        "tickets/home.html",
        {
            "nav": "home",
            "per_phase": per_phase,
            "lists": lists,
            # At least this many: a phase past the cap counts for the cap, and the total gets its "+".
            "total": Capped(sum(p["count"].shown for p in per_phase), any(p["count"].more for p in per_phase)),
            "cap": COUNT_CAP,
            "phase": phase_id,
            "whose": whose,
            "shown_user": user_id,
            "team": team,
            "team_value": TEAM,
            "show_user_column": show_user_column,
            "all_phases_url": _url(scope),
            "is_admin": role_of(request.user) == Role.ADMIN,
            "today": start_of_day.date(),
            # The reminders of the user's own appointments about to start (ciclo.reminders).
            "notices": reminder_notices(request.user, at=now),
        },
    )

"""Home (Hoje): the contacts due, overdue apart from today's, each list paged.

An agent sees their own; a supervisor (or an admin) may look at the team's, everyone's or
one user's. An admin also gets the links to the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.roles import ROLE_ORDER, Role, is_supervisor, role_of
from ciclo.http import parse_id, parse_int
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Ticket, TicketQuerySet

User = get_user_model()

PAGE_SIZE = 20
TEAM = "team"  # the `user` parameter of a supervisor's view of every user's contacts


@dataclass
class DueList:
    """One of the home's lists (overdue, today): a page of it and the links to its neighbours."""

    key: str  # "overdue" or "today": its page parameter is f"{key}_page"
    title: str
    page: Page[Ticket]
    previous_url: str = ""
    next_url: str = ""

    @property
    def tickets(self) -> list[Ticket]:
        return list(self.page.object_list)


def _page_number(raw: str) -> int:
    """A page number from the query string; anything but a small positive number is the first page."""
    return parse_int(raw, minimum=1, maximum=999_999) or 1


def _url(params: QueryDict, **changes: Any) -> str:
    """The home's URL with `changes` to its parameters (a list's first page is no parameter)."""
    query = params.copy()
    for name, value in changes.items():
        if value in (None, "") or (name.endswith("_page") and value == 1):
            query.pop(name, None)
        else:
            query[name] = str(value)
    return "?" + urlencode(sorted(query.items()))


def _due_list(key: str, title: str, rows: TicketQuerySet, params: QueryDict) -> DueList:
    paginator = Paginator(rows, PAGE_SIZE)
    # Past the last page (a list that shrank since the link was made): the last page.
    page = paginator.get_page(_page_number(params.get(f"{key}_page", "")))
    listing = DueList(key, title, page)
    name = f"{key}_page"
    if page.has_previous():
        listing.previous_url = _url(params, **{name: page.previous_page_number()})
    if page.has_next():
        listing.next_url = _url(params, **{name: page.next_page_number()})
    return listing


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
    per_phase = list(
        due.values("cr_id", "cr__code", "cr__description").annotate(n=Count("id")).order_by("cr__code_key")
    )
    phase = request.GET.get("phase", "")
    phase_id = parse_id(phase)
    rows = due.select_related("person", "service_type", "cr", "company", "next_contact_user").order_by(
        "next_contact_at", "id"
    )
    if phase_id is not None:
        rows = rows.filter(cr_id=phase_id)
    # A phase's link keeps whose contacts are shown, and starts both lists again at their first page.
    scope = QueryDict(mutable=True)
    if whose != "me":
        scope["user"] = request.GET["user"]
    for p in per_phase:
        p["url"] = _url(scope, phase=p["cr_id"])
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    params = request.GET.copy()
    lists = [
        _due_list(
            "overdue", pgettext("the home's list", "Overdue"), rows.filter(next_contact_at__lt=start_of_day), params
        ),
        _due_list("today", _("Due today"), rows.filter(next_contact_at__gte=start_of_day), params),
    ]
    return render(
        request,
        "tickets/home.html",
        {
            "nav": "home",
            "per_phase": per_phase,
            "lists": lists,
            "total": sum(p["n"] for p in per_phase),
            "phase": phase_id,
            "whose": whose,
            "shown_user": user_id,
            "team": team,
            "team_value": TEAM,
            "show_user_column": whose != "me",
            "all_phases_url": _url(scope),
            "is_admin": role_of(request.user) == Role.ADMIN,
            "today": start_of_day.date(),
        },
    )

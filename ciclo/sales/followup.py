"""The daily follow-up list (Vendas Follow-Up): a user's open sales contacts, to call back.

One module serves the web page, its exports, the API and the morning digest, so a filter
means the same everywhere. The contacts are split into overdue / today / upcoming / no next
contact; each group is paged on its own by keyset (a cursor naming a row by its sort value
and id), so a deep page costs what the first one does. The groups' counts and the weighted
pipeline (Σ expected value × success %) are one aggregate over every contact the filter
matches, not only the rows of the pages shown.

A contact's "days in phase" are business days (ciclo.sales.businessdays: Brazil's national
holidays and the company's days off) since it entered its phase; it is "stale" past its
phase's `stale_after_days`. The "stale only" filter is exact in SQL: for each threshold the
latest day a contact may have entered its phase and still be stale is worked out once, and
the rows are filtered by their `phase_entered_at` against it.

What the page reads is constant in the rows it shows: the counts, each group's page, then the
cycle progress of the rows shown in one more query.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from ciclo.accounts.roles import is_supervisor
from ciclo.configurator.models import Question, ResponsibilityCenter, sales_type_ids
from ciclo.http import parse_id, parse_int
from ciclo.people.text import MIN_SEARCH_CHARS, search_terms, too_short
from ciclo.sales.businessdays import BusinessCalendar
from ciclo.tickets import query
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Answer, Channel, Ticket, TicketQuerySet

PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
TEAM = "team"  # the `user` value of a supervisor's view of every user's contacts


class Group(NamedTuple):
    key: str
    title: Any


GROUPS = (
    Group("overdue", pgettext_lazy("the follow-up list's group", "Overdue")),
    Group("today", pgettext_lazy("the follow-up list's group", "Today")),
    Group("upcoming", pgettext_lazy("the follow-up list's group", "Upcoming")),
    Group("no_next_contact", pgettext_lazy("the follow-up list's group", "No next contact")),
)
GROUP_KEYS = tuple(g.key for g in GROUPS)


class Sort(NamedTuple):
    field: str  # the model field or annotation (SORT_ANNOTATIONS) the rows are ordered by, then by id
    descending: bool
    kind: type  # how a cursor carries the value
    label: Any


SORTS: dict[str, Sort] = {
    "next_contact": Sort("next_contact_at", False, dt.datetime, gettext_lazy("Next contact, earliest first")),
    "-next_contact": Sort("next_contact_at", True, dt.datetime, gettext_lazy("Next contact, latest first")),
    "days": Sort("phase_entered_at", False, dt.datetime, gettext_lazy("Longest in its phase first")),
    "success": Sort("sort_success", True, int, gettext_lazy("Highest success chance first")),
    "value": Sort("sort_value", True, Decimal, gettext_lazy("Highest expected value first")),
    "person": Sort("person__search_name", False, str, gettext_lazy("Person, A to Z")),
    "phase": Sort("cr__code_key", False, str, gettext_lazy("Phase, in the phases' order")),
}
DEFAULT_SORT = "next_contact"
# Sort keys that may be NULL, as a value a keyset bound can compare: nothing sorts below -1.
SORT_ANNOTATIONS: dict[str, Any] = {
    "sort_success": Coalesce("sales__success", Value(-1), output_field=IntegerField()),
    "sort_value": Coalesce(
        "sales__expected_value", Value(Decimal(-1)), output_field=DecimalField(max_digits=14, decimal_places=2)
    ),
}


@dataclass
class FollowupFilter:
    service_types: list[int] = field(default_factory=list)
    crs: list[int] = field(default_factory=list)
    channel: str = ""
    stale: bool = False
    success_min: int | None = None
    success_max: int | None = None
    text: str = ""
    sort: str = DEFAULT_SORT

    def as_params(self) -> dict[str, Any]:
        """The filter as query parameters: what the exports' and the groups' links carry."""
        params: dict[str, Any] = {}
        for name in ("service_types", "crs"):
            if getattr(self, name):
                params[name] = [str(v) for v in getattr(self, name)]
        if self.channel:
            params["channel"] = self.channel
        if self.stale:
            params["stale"] = "1"
        for name in ("success_min", "success_max"):
            if getattr(self, name) is not None:
                params[name] = str(getattr(self, name))
        if self.text:
            params["text"] = self.text
        if self.sort != DEFAULT_SORT:
            params["sort"] = self.sort
        return params


def _getlist(data: Mapping[str, Any], name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def parse_filter(data: Mapping[str, Any]) -> tuple[FollowupFilter, dict[str, list[str]]]:
    """Read a filter from query parameters (a QueryDict or a dict of lists/values); errors name the field."""

    def get(name: str) -> str:
        values = _getlist(data, name)
        return values[-1].strip() if values else ""

    errors: dict[str, list[str]] = {}
    f = FollowupFilter()
    for name in ("service_types", "crs"):
        ids = []
        for raw in _getlist(data, name):
            if raw == "":
                continue
            ident = parse_id(raw)
            if ident is None:
                errors.setdefault(name, []).append(_("“%(value)s” is not a valid id.") % {"value": raw})
            else:
                ids.append(ident)
        setattr(f, name, ids)
    channel = get("channel")
    if channel and channel not in Channel.values:
        errors["channel"] = [_("“%(value)s” is not a channel.") % {"value": channel}]
    else:
        f.channel = channel
    stale = get("stale")
    if stale not in ("", "0", "1"):
        errors["stale"] = [_("“Stale only” is 1 (on) or 0 (off).")]
    f.stale = stale == "1"
    for name in ("success_min", "success_max"):
        raw = get(name)
        if raw:
            value = parse_int(raw, minimum=0, maximum=100)
            if value is None:
                errors[name] = [_("Give a success chance as a whole number from 0 to 100.")]
            setattr(f, name, value)
    if f.success_min is not None and f.success_max is not None and f.success_min > f.success_max:
        errors["success_max"] = [_("The highest success chance is below the lowest.")]
    f.text = get("text")[:200]
    if too_short(search_terms(f.text)):
        errors["text"] = [
            _("Type at least %(n)s characters of a word in the subject or the notes.") % {"n": MIN_SEARCH_CHARS}
        ]
    sort = get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        errors["sort"] = [_("Sort by one of: %(sorts)s.") % {"sorts": ", ".join(SORTS)}]
        sort = DEFAULT_SORT
    f.sort = sort
    return f, errors


# ---- whose contacts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Whose:
    """Whose contacts the list shows: the user's own, one user's (a supervisor's choice), or the team's."""

    kind: str  # "me" | "user" | "team"
    user_id: int | None = None

    def condition(self, group: str | None = None) -> Q:
        """A user's contacts: those whose next contact is with them, and those they opened that have no
        next-contact user (nobody else would call them back). Of one `group`, only the side it holds: the
        database then reads a group's page in its order from the index of the user's next contacts."""
        if self.kind == "team":
            return Q()
        with_them = Q(next_contact_user_id=self.user_id)
        opened = Q(next_contact_user__isnull=True, opened_by_id=self.user_id)
        if group is None:
            return with_them | opened
        return opened if group == "no_next_contact" else with_them


def whose(user: Any, raw: str | int | None) -> Whose:
    """What a `user` parameter asks for: "" (or anything an agent gives) is the user's own list; a
    supervisor may give "team" or a user's id."""
    if raw in (None, "") or not is_supervisor(user):
        return Whose("me", user.pk)
    if raw == TEAM:
        return Whose("team")
    chosen = raw if isinstance(raw, int) else parse_id(raw)
    if chosen is None or chosen == user.pk:
        return Whose("me", user.pk)
    return Whose("user", chosen)


# ---- the list ----------------------------------------------------------------------------------------------------


class Progress(NamedTuple):
    answered: int
    total: int
    required_missing: int


NO_PROGRESS = Progress(0, 0, 0)


@dataclass
class FollowupRow:
    """One sales contact as every interface shows it."""

    pk: int
    subject: str
    version: int
    next_contact_at: dt.datetime | None
    next_contact_user_id: int | None
    next_contact_user: str
    next_contact_username: str
    person_id: int
    person: str
    channel: str
    channel_label: str
    service_type_id: int
    service_type_code: str
    service_type: str
    colour: str
    referral_id: int | None
    referral: str
    success: int | None
    expected_value: Decimal | None
    cr_id: int
    phase_code: str
    phase: str
    phase_entered_at: dt.datetime | None
    days_in_phase: int | None
    stale_after_days: int | None
    stale: bool
    progress: Progress = NO_PROGRESS
    sort_value: Any = None

    @property
    def weighted_value(self) -> Decimal:
        if self.expected_value is None or self.success is None:
            return Decimal("0.00")
        return (self.expected_value * self.success / 100).quantize(Decimal("0.01"))


@dataclass
class GroupPage:
    key: str
    title: str
    count: int
    rows: list[FollowupRow]
    next_cursor: str | None = None
    cursor: str | None = None  # the cursor this page was read after (None: the first page)


@dataclass
class FollowupList:
    today: dt.date
    whose: Whose
    filter: FollowupFilter
    groups: list[GroupPage]
    count: int
    pipeline: Decimal  # Σ expected value × success % of every contact the filter matches
    expected_total: Decimal

    def group(self, key: str) -> GroupPage:
        return next(g for g in self.groups if g.key == key)

    @property
    def overdue(self) -> GroupPage:
        return self.group("overdue")

    @property
    def today_group(self) -> GroupPage:
        return self.group("today")

    @property
    def upcoming(self) -> GroupPage:
        return self.group("upcoming")

    @property
    def no_next_contact(self) -> GroupPage:
        return self.group("no_next_contact")


ROW_FIELDS = (
    "id",
    "subject",
    "version",
    "next_contact_at",
    "next_contact_user_id",
    "next_contact_user__username",
    "next_contact_user__first_name",
    "next_contact_user__last_name",
    "person_id",
    "person__name",
    "channel",
    "service_type_id",
    "service_type__code",
    "service_type__description",
    "service_type__colour",
    "sales__referral_id",
    "sales__referral__name",
    "sales__success",
    "sales__expected_value",
    "cr_id",
    "cr__code",
    "cr__description",
    "cr__stale_after_days",
    "phase_entered_at",
    "company_id",
)


def day_bounds(today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start of `today` and of the next day, in the site's time zone."""
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))


def group_condition(key: str, today: dt.date) -> Q:
    start, end = day_bounds(today)
    if key == "no_next_contact":
        return Q(next_contact_user__isnull=True)
    with_someone = Q(next_contact_user__isnull=False)
    if key == "overdue":
        return with_someone & Q(next_contact_at__lt=start)
    if key == "today":
        return with_someone & Q(next_contact_at__gte=start, next_contact_at__lt=end)
    return with_someone & Q(next_contact_at__gte=end)


def sales_contacts(
    user: Any, who: Whose, sales_types: set[int] | None = None, group: str | None = None
) -> TicketQuerySet:
    """The open sales contacts `user` may see, of whom `who` names (`sales_types`: their ids, when read;
    `group`: of that group only)."""
    if sales_types is None:
        sales_types = sales_type_ids()
    qs = Ticket.objects.open().filter(service_type_id__in=sorted(sales_types)).filter(who.condition(group))
    return visible_tickets(user, qs)


class _Calendar:
    """The business calendar of every company, read (one query) the first time a list needs it."""

    def __init__(self) -> None:
        self._calendar: BusinessCalendar | None = None
        self._thresholds: tuple[list[tuple[int, int]], list[int]] | None = None

    def stale_thresholds(self) -> tuple[list[tuple[int, int]], list[int]]:
        """The phases that go stale with their days, and every company: read once (two queries)."""
        if self._thresholds is None:
            from ciclo.people.models import Company

            phases = ResponsibilityCenter.objects.filter(stale_after_days__isnull=False)
            crs = [(pk, days) for pk, days in phases.values_list("id", "stale_after_days") if days is not None]
            self._thresholds = (crs, list(Company.objects.values_list("id", flat=True)))
        return self._thresholds

    def days_between(self, start: dt.date, end: dt.date, company_id: int | None) -> int:
        if self._calendar is None:
            self._calendar = BusinessCalendar.for_companies()
        return self._calendar.business_days_between(start, end, company_id)


class _StaleDays:
    """For each threshold N (a phase's stale_after_days) and company: the latest day a contact may have
    entered its phase and be stale today (more than N business days in it). Counting is monotone in the
    day entered, so one walk back from today per (N, company) answers every row."""

    def __init__(self, today: dt.date, calendar: _Calendar) -> None:
        self.today = today
        self.calendar = calendar
        self._cutoffs: dict[tuple[int, int | None], dt.date] = {}

    def cutoff(self, days: int, company_id: int | None) -> dt.date:
        key = (days, company_id)
        if key not in self._cutoffs:
            # A contact entered on `day` has business_days_between(day, today) days in its phase; that
            # grows by at most one a day back, so the answer is within days + (holidays, weekends) back.
            day = self.today - dt.timedelta(days=days)
            while self.calendar.days_between(day, self.today, company_id) <= days:
                day -= dt.timedelta(days=1)
            self._cutoffs[key] = day
        return self._cutoffs[key]


def _stale_condition(today: dt.date, crs: list[tuple[int, int]], companies: list[int], calendar: _Calendar) -> Q:
    """Contacts more than their phase's stale_after_days business days in it: (cr, N) pairs, per company."""
    by_days: dict[int, list[int]] = {}
    for cr_id, days in crs:
        by_days.setdefault(days, []).append(cr_id)
    if not by_days:
        return Q(pk__in=[])
    stale_days = _StaleDays(today, calendar)
    condition = Q(pk__in=[])
    for days, cr_ids in sorted(by_days.items()):
        for company_id in companies:
            last_day = stale_days.cutoff(days, company_id)
            entered_by = timezone.make_aware(dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min))
            condition |= Q(cr_id__in=cr_ids, company_id=company_id, phase_entered_at__lt=entered_by)
    return condition


def filtered(
    user: Any,
    who: Whose,
    f: FollowupFilter,
    today: dt.date,
    calendar: _Calendar | None = None,
    sales_types: set[int] | None = None,
    group: str | None = None,
) -> TicketQuerySet:
    """Every sales contact the list holds for this filter, of every group (or of one `group`)."""
    qs = sales_contacts(user, who, sales_types, group)
    if group is not None:
        qs = qs.filter(group_condition(group, today))
    if f.service_types:
        qs = qs.filter(service_type_id__in=f.service_types)
    if f.crs:
        qs = qs.filter(cr_id__in=f.crs)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.success_min is not None:
        qs = qs.filter(sales__success__gte=f.success_min)
    if f.success_max is not None:
        qs = qs.filter(sales__success__lte=f.success_max)
    if f.text:
        qs = query.apply_filter(qs, query.TicketFilter(text=f.text))
    if f.stale:
        calendar = calendar or _Calendar()
        crs, companies = calendar.stale_thresholds()
        qs = qs.filter(_stale_condition(today, crs, companies, calendar))
    return qs


class _CountOf(Subquery):
    """How many rows a subquery returns, as a column of the outer query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def progress_of(ticket_ids: list[int]) -> dict[int, Progress]:
    """Each ticket's cycle progress in its current phase: its active questions answered, of how many, and
    the required ones still unanswered (one query for every ticket given)."""
    if not ticket_ids:
        return {}
    in_phase = Question.objects.filter(
        cycle__service_types=OuterRef("service_type_id"), cr_id=OuterRef("cr_id"), active=True
    ).order_by()
    answered = Answer.objects.filter(
        ticket_id=OuterRef(OuterRef("pk")), question_id=OuterRef("pk"), is_empty=False
    ).order_by()
    found = (
        Ticket.objects.filter(pk__in=ticket_ids)
        .order_by()
        .annotate(
            total=_CountOf(in_phase.values("pk")),
            answered=_CountOf(in_phase.filter(Exists(answered)).values("pk")),
            missing=_CountOf(in_phase.filter(required=True).exclude(Exists(answered)).values("pk")),
        )
        .values_list("id", "total", "answered", "missing")
    )
    return {pk: Progress(answered_n, total, missing) for pk, total, answered_n, missing in found}


def _user_name(v: Mapping[str, Any]) -> str:
    first, last = v.get("next_contact_user__first_name"), v.get("next_contact_user__last_name")
    return f"{first or ''} {last or ''}".strip() or v.get("next_contact_user__username") or ""


class _DaysInPhase:
    """Business days since a contact entered its phase, counted once per (day entered, company)."""

    def __init__(self, today: dt.date, calendar: _Calendar) -> None:
        self.today = today
        self.calendar = calendar
        self._seen: dict[tuple[dt.date, int | None], int] = {}

    def __call__(self, entered: dt.datetime | None, company_id: int | None) -> int | None:
        if entered is None:
            return None
        day = timezone.localtime(entered).date()
        key = (day, company_id)
        if key not in self._seen:
            self._seen[key] = self.calendar.days_between(day, self.today, company_id)
        return self._seen[key]


def _row(v: Mapping[str, Any], days: _DaysInPhase, channels: Mapping[str, Any], sort_field: str) -> FollowupRow:
    in_phase = days(v["phase_entered_at"], v["company_id"])
    stale_after = v["cr__stale_after_days"]
    return FollowupRow(
        pk=v["id"],
        subject=v["subject"],
        version=v["version"],
        next_contact_at=v["next_contact_at"] if v["next_contact_user_id"] is not None else None,
        next_contact_user_id=v["next_contact_user_id"],
        next_contact_user=_user_name(v),
        next_contact_username=v["next_contact_user__username"] or "",
        person_id=v["person_id"],
        person=v["person__name"],
        channel=v["channel"],
        channel_label=str(channels.get(v["channel"], v["channel"])),
        service_type_id=v["service_type_id"],
        service_type_code=v["service_type__code"],
        service_type=v["service_type__description"],
        colour=v["service_type__colour"],
        referral_id=v["sales__referral_id"],
        referral=v["sales__referral__name"] or "",
        success=v["sales__success"],
        expected_value=v["sales__expected_value"],
        cr_id=v["cr_id"],
        phase_code=v["cr__code"],
        phase=v["cr__description"],
        phase_entered_at=v["phase_entered_at"],
        days_in_phase=in_phase,
        stale_after_days=stale_after,
        stale=stale_after is not None and in_phase is not None and in_phase > stale_after,
        sort_value=v.get(sort_field),
    )


# ---- cursors -----------------------------------------------------------------------------------------------------


def _tag(group: str, sort: str) -> str:
    return f"followup-{group}-{sort}"


def encode_cursor(group: str, sort: str, row: FollowupRow) -> str:
    value = row.sort_value
    if isinstance(value, Decimal):
        value = str(value)
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps([value, row.pk, _tag(group, sort)], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, group: str, sort: str) -> tuple[Any, int]:
    """The (sort value, id) a group's cursor names; query.BadCursor for anything else (another group's,
    another sort's, or not one at all)."""
    refused = query.BadCursor(_("The page cursor is not valid; start again from the first page."))
    try:
        if len(cursor) > query.MAX_CURSOR_CHARS:
            raise ValueError
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode())
        if not isinstance(data, list) or len(data) != 3 or data[2] != _tag(group, sort):
            raise ValueError
        value, pk = data[0], data[1]
        if type(pk) is not int or not 0 < pk < 2**63:
            raise ValueError
        kind = SORTS[sort].kind
        if kind is dt.datetime:
            parsed = dt.datetime.fromisoformat(value)
            if timezone.is_naive(parsed):
                raise ValueError
            return parsed.astimezone(dt.UTC), pk
        if kind is Decimal:
            number = Decimal(value)
            if not number.is_finite() or abs(number) >= 10**12:
                raise ValueError
            return number, pk
        if kind is int:
            if type(value) is not int or not -(2**31) < value < 2**31:
                raise ValueError
            return value, pk
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError
        value.encode("utf-8")
        return value, pk
    except (ValueError, TypeError, OverflowError, RecursionError, InvalidOperation, UnicodeError):
        raise refused from None


# ---- reading a list ----------------------------------------------------------------------------------------------


def _ordered(qs: TicketQuerySet, sort: str) -> TicketQuerySet:
    s = SORTS[sort]
    if s.field in SORT_ANNOTATIONS:
        qs = qs.annotate(**{s.field: SORT_ANNOTATIONS[s.field]})
    if s.descending:
        return qs.order_by(F(s.field).desc(), "-id")
    return qs.order_by(s.field, "id")


def _page(
    qs: TicketQuerySet, key: str, sort: str, cursor: str | None, size: int, days: _DaysInPhase
) -> tuple[list[FollowupRow], str | None]:
    s = SORTS[sort]
    qs = _ordered(qs, sort)
    if cursor:
        value, pk = decode_cursor(cursor, key, sort)
        qs = qs.filter(query.after(s.field, value, pk, s.descending))
    channels = dict(Channel.choices)
    fields = (*ROW_FIELDS, s.field) if s.field not in ROW_FIELDS else ROW_FIELDS
    found = list(qs.values(*fields)[: size + 1])
    rows = [_row(v, days, channels, s.field) for v in found[:size]]
    next_cursor = encode_cursor(key, sort, rows[-1]) if len(found) > size else None
    return rows, next_cursor


def followup_list(
    user: Any,
    *,
    today: dt.date | None = None,
    users: Whose | None = None,
    filters: FollowupFilter | None = None,
    cursors: Mapping[str, str] | None = None,
    groups: tuple[str, ...] = GROUP_KEYS,
    size: int = PAGE_SIZE,
    sales_types: set[int] | None = None,
) -> FollowupList:
    """The follow-up list of `user` (or, for a supervisor, of whom `users` names): its groups' pages
    (`cursors`: where each group's page starts; `groups`: the groups to read rows of), their counts and
    the weighted pipeline of every contact matching `filters`. `sales_types`: the sales types' ids, when the
    caller has read them (configurator.models.sales_type_ids). Raises query.BadCursor for a bad cursor."""
    today = today or timezone.localdate()
    who = users or Whose("me", user.pk)
    f = filters or FollowupFilter()
    cursors = cursors or {}
    size = max(1, min(size, MAX_PAGE_SIZE))
    for key, cursor in cursors.items():
        if cursor:  # refused whether or not its group has rows now
            decode_cursor(cursor, key, f.sort)
    calendar = _Calendar()
    if sales_types is None:
        sales_types = sales_type_ids()
    matching = filtered(user, who, f, today, calendar, sales_types)
    counts = {key: Count("pk", filter=group_condition(key, today)) for key in GROUP_KEYS}
    weighted = ExpressionWrapper(
        F("sales__expected_value") * F("sales__success"), output_field=DecimalField(max_digits=20, decimal_places=2)
    )
    totals = matching.order_by().aggregate(
        **counts,
        weighted=Coalesce(Sum(weighted), Value(Decimal(0)), output_field=DecimalField(max_digits=20, decimal_places=2)),
        expected=Coalesce(
            Sum("sales__expected_value"), Value(Decimal(0)), output_field=DecimalField(max_digits=20, decimal_places=2)
        ),
    )
    days = _DaysInPhase(today, calendar)
    pages = []
    for group in GROUPS:
        rows: list[FollowupRow] = []
        next_cursor = None
        # Every group asked for is read, even one counted empty: the queries are the same whatever the rows.
        if group.key in groups:
            rows, next_cursor = _page(
                filtered(user, who, f, today, calendar, sales_types, group.key),
                group.key,
                f.sort,
                cursors.get(group.key) or None,
                size,
                days,
            )
        pages.append(
            GroupPage(group.key, str(group.title), totals[group.key], rows, next_cursor, cursors.get(group.key))
        )
    progress = progress_of([r.pk for p in pages for r in p.rows])
    for p in pages:
        for r in p.rows:
            r.progress = progress.get(r.pk, NO_PROGRESS)
    pipeline = (Decimal(totals["weighted"]) / 100).quantize(Decimal("0.01"))
    return FollowupList(
        today=today,
        whose=who,
        filter=f,
        groups=pages,
        count=sum(totals[key] for key in GROUP_KEYS),
        pipeline=pipeline,
        expected_total=Decimal(totals["expected"]).quantize(Decimal("0.01")),
    )


def walk(
    user: Any, who: Whose, f: FollowupFilter, today: dt.date | None = None, batch_size: int = 1000
) -> Iterator[tuple[str, FollowupRow]]:
    """Every contact the filter matches as (group key, row), group by group in the list's order, read in
    keyset batches (for the exports: memory stays flat and no cursor stays open while rows are written)."""
    today = today or timezone.localdate()
    calendar = _Calendar()
    sales_types = sales_type_ids()
    days = _DaysInPhase(today, calendar)
    for group in GROUPS:
        matching = filtered(user, who, f, today, calendar, sales_types, group.key)
        cursor: str | None = None
        while True:
            rows, cursor = _page(matching, group.key, f.sort, cursor, batch_size, days)
            progress = progress_of([r.pk for r in rows])
            for row in rows:
                row.progress = progress.get(row.pk, NO_PROGRESS)
                yield group.key, row
            if cursor is None:
                break


def with_sort(f: FollowupFilter, sort: str) -> FollowupFilter:
    return replace(f, sort=sort)

"""The measurements: functions that read the ledger and the tickets and return plain data.

The one home the dashboards, the API and the exports call. Each report also lays out its numbers as
tables (Table) — what the pages show under each chart and what the exports write.
Measured now (no `at`), the phases, funnel and answers read the summaries (ciclo.insight.summaries)
where they hold the slice asked for — every slice but a ticket's current phase or user — and the raw
rows otherwise, or when given `at`: the same numbers, a test says, times and numbers exact to their
summary bucket. Percentiles are computed here over (value, count) lists, the same way for both.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.accounts.roles import users_with_role
from ciclo.configurator.models import (
    AnswerType,
    DecisionOption,
    Question,
    ResponsibilityCenter,
    ServiceType,
    WorkflowStep,
)
from ciclo.insight.models import AnswerTally, NoteTally, OpenTally, PhaseStay, PhaseTally, SalesTally
from ciclo.insight.summaries import HOUR, WORKFLOW, epoch_hour
from ciclo.people.models import Company
from ciclo.sales.businessdays import BusinessCalendar
from ciclo.sales.models import LostReason, Outcome, SalesContact
from ciclo.tickets.models import Answer, AnswerChoice, MoveDecision, Note, Ticket

DAY = 86400
AGING_BUCKETS = ((0, 2, "0–2"), (3, 7, "3–7"), (8, 30, "8–30"), (31, None, "> 30"))
STALE_LISTED = 50
LONGEST_STALE_SEARCH = 10 * 366  # days back to look for the first stale day of a company
HISTOGRAM_BINS = 10


# ---- the filters every measurement shares ----------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days, first and last included, in the local time zone."""

    start: dt.date
    end: dt.date

    @property
    def since(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def until(self) -> dt.datetime:
        """The first moment after the period."""
        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def last_weeks(cls, weeks: int, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=7 * weeks - 1), today)


@dataclass(frozen=True)
class Slice:
    """What narrows the tickets measured: their type, current phase, user (next contact), company."""

    service_type_id: int | None = None
    cr_id: int | None = None
    user_id: int | None = None
    company_id: int | None = None

    def tickets(self, prefix: str = "") -> Q:
        q = Q()
        if self.service_type_id:
            q &= Q(**{f"{prefix}service_type_id": self.service_type_id})
        if self.cr_id:
            q &= Q(**{f"{prefix}cr_id": self.cr_id})
        if self.user_id:
            q &= Q(**{f"{prefix}next_contact_user_id": self.user_id})
        if self.company_id:
            q &= Q(**{f"{prefix}company_id": self.company_id})
        return q


# ---- tables: the numbers under each chart, and what the exports write -------------------------------


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    text_columns: int = 1  # the first columns are names (aligned left), the others numbers


# ---- small statistics over plain lists ---------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0..100) of sorted values, interpolated between ranks as PERCENTILE_CONT does."""
    if not values:
        return None
    rank = (len(values) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(values[low])
    return float(values[low]) + (float(values[high]) - float(values[low])) * (rank - low)


def weighted_percentile(pairs: Sequence[tuple[float, int]], p: float) -> float | None:
    """percentile() of values given as (value, how many times), sorted by value."""
    whole = sum(n for _v, n in pairs)
    if not whole:
        return None
    rank = (whole - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    found: dict[int, float] = {}
    seen = 0
    for value, n in pairs:
        for wanted in (low, high):
            if wanted not in found and seen <= wanted < seen + n:
                found[wanted] = float(value)
        seen += n
        if high in found:
            break
    return found[low] + (found[high] - found[low]) * (rank - low)


def _weighted(values: Iterable[float]) -> list[tuple[float, int]]:
    return [(v, 1) for v in sorted(values)]


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / DAY, 2)


def _pct(part: int | float, whole: int | float) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def workflow_crs(workflow_id: int) -> list[ResponsibilityCenter]:
    """The workflow's phases in workflow order (each once, where it first comes)."""
    seen: dict[int, ResponsibilityCenter] = {}
    for step in (
        WorkflowStep.objects.filter(workflow_id=workflow_id, cr__isnull=False).select_related("cr").order_by("order")
    ):
        assert step.cr is not None
        seen.setdefault(step.cr_id, step.cr)  # type: ignore[arg-type]
    return list(seen.values())


# ---- 1. phases ------------------------------------------------------------------------------------


@dataclass
class StaleTicket:
    ticket_id: int
    subject: str
    cr_id: int
    cr: str
    entered_at: dt.datetime
    business_days: int
    user: str


@dataclass
class PhaseRow:
    cr_id: int
    code: str
    name: str
    closes: bool
    now: int
    latest_median_days: float | None
    latest_p90_days: float | None
    total_median_days: float | None
    total_p90_days: float | None
    aging: list[int]
    stale: int


@dataclass
class WeekRow:
    week: dt.date
    arrivals: int
    exits: int


@dataclass
class PhasesReport:
    workflow_id: int
    period: Period
    at: dt.datetime
    phases: list[PhaseRow]
    weeks: list[WeekRow]
    stale: list[StaleTicket]
    aging_labels: list[str] = field(default_factory=lambda: [label for _a, _b, label in AGING_BUCKETS])

    def tables(self) -> list[Table]:
        return [
            Table(
                "phases",
                _("Time in each phase (days)"),
                [
                    _("Phase"),
                    _("Tickets there now"),
                    _("Latest stay: median"),
                    _("Latest stay: 90th percentile"),
                    _("All stays: median"),
                    _("All stays: 90th percentile"),
                    _("Stale"),
                ],
                [
                    [
                        p.name,
                        p.now,
                        p.latest_median_days,
                        p.latest_p90_days,
                        p.total_median_days,
                        p.total_p90_days,
                        p.stale,
                    ]
                    for p in self.phases
                ],
            ),
            Table(
                "aging",
                _("Open tickets by days in their phase"),
                [_("Phase"), *[_("%(days)s days") % {"days": label} for label in self.aging_labels]],
                [[p.name, *p.aging] for p in self.phases if not p.closes],
            ),
            Table(
                "weeks",
                _("Arrivals and exits per week"),
                [_("Week of"), _("Arrivals"), _("Exits")],
                [[w.week, w.arrivals, w.exits] for w in self.weeks],
            ),
            Table(
                "stale",
                _("Stale tickets"),
                [_("Ticket"), _("Subject"), _("Phase"), _("In the phase since"), _("Business days"), _("User")],
                [[f"#{s.ticket_id}", s.subject, s.cr, s.entered_at, s.business_days, s.user] for s in self.stale],
                text_columns=4,
            ),
        ]


def _weeks(period: Period) -> list[dt.date]:
    first = period.start - dt.timedelta(days=period.start.weekday())
    return [first + dt.timedelta(days=7 * i) for i in range((period.end - first).days // 7 + 1)]


def summarised(slice: Slice) -> bool:
    """Whether the summaries can answer for the slice: they are kept by service type and company, which
    a ticket keeps; its phase and next contact's user change, so those slices read the raw rows."""
    return not slice.cr_id and not slice.user_id


def _tally_dims(slice: Slice) -> dict[str, int]:
    dims = {}
    if slice.service_type_id:
        dims["service_type_id"] = slice.service_type_id
    if slice.company_id:
        dims["company_id"] = slice.company_id
    return dims


@dataclass
class _Times:
    """What the phases dashboard reads of the stays touching the period, per phase."""

    now: dict[int, int] = field(default_factory=dict)
    latest: dict[int, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    total: dict[int, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    aging: dict[int, list[int]] = field(default_factory=dict)
    stale: Counter[int] = field(default_factory=Counter)
    stale_rows: list[tuple[int, int, dt.datetime, int]] = field(default_factory=list)


def _aging_index(days: int) -> int:
    for i, (low, high, _label) in enumerate(AGING_BUCKETS):
        if days >= low and (high is None or days <= high):
            return i
    return len(AGING_BUCKETS) - 1


def phases(
    workflow_id: int, *, period: Period | None = None, slice: Slice = Slice(), at: dt.datetime | None = None
) -> PhasesReport:
    """Per phase of the workflow: tickets there now, the time spent there (median and 90th percentile of
    each ticket's latest stay touching the period, and of the ticket's stays there summed up to that one),
    the aging of those still there and the stale ones; arrivals and exits per week of the period.

    Measured now over a period that reaches today, and not sliced by phase or user, the numbers come from
    the summaries (times exact to their bucket: ciclo.insight.summaries); otherwise from the ledger."""
    live = at is None
    at = at or timezone.now()
    period = period or Period.last_weeks(12, timezone.localdate(at))
    crs = workflow_crs(workflow_id)
    times = _Times(aging={cr.pk: [0] * len(AGING_BUCKETS) for cr in crs})
    from_summaries = live and summarised(slice) and period.until > at
    if from_summaries:
        _times_from_summaries(times, workflow_id, crs, period, slice, at)
    else:
        _times_from_ledger(times, workflow_id, crs, period, slice, at)

    times.stale_rows.sort(key=lambda r: r[2])
    listed = times.stale_rows[:STALE_LISTED]
    info = {t.pk: t for t in Ticket.objects.filter(pk__in=[r[0] for r in listed]).select_related("next_contact_user")}
    names = {cr.pk: str(cr.description) for cr in crs}
    stale = [
        StaleTicket(
            ticket_id=ticket_id,
            subject=info[ticket_id].subject,
            cr_id=cr_id,
            cr=names[cr_id],
            entered_at=entered,
            business_days=days,
            user=_user_label(info[ticket_id].next_contact_user),
        )
        for ticket_id, cr_id, entered, days in listed
        if ticket_id in info
    ]

    rows = []
    for cr in crs:
        lat = sorted(times.latest.get(cr.pk, []))
        tot = sorted(times.total.get(cr.pk, []))
        rows.append(
            PhaseRow(
                cr_id=cr.pk,
                code=cr.code,
                name=str(cr.description),
                closes=cr.closes_process,
                now=times.now.get(cr.pk, 0),
                latest_median_days=_days(weighted_percentile(lat, 50)),
                latest_p90_days=_days(weighted_percentile(lat, 90)),
                total_median_days=_days(weighted_percentile(tot, 50)),
                total_p90_days=_days(weighted_percentile(tot, 90)),
                aging=times.aging[cr.pk],
                stale=times.stale.get(cr.pk, 0),
            )
        )

    mondays = _weeks(period)
    if summarised(slice):
        arrivals, exits = _weekly_from_summaries(workflow_id, period, slice, mondays)
    else:
        scoped = PhaseStay.objects.filter(workflow_id=workflow_id, ticket__in=Ticket.objects.filter(slice.tickets()))
        weekly = scoped.filter(cr_id=slice.cr_id) if slice.cr_id else scoped
        arrivals = _weekly_counts(
            weekly.filter(entered_at__gte=period.since, entered_at__lt=period.until), "entered_at", mondays
        )
        exits = _weekly_counts(weekly.filter(left_at__gte=period.since, left_at__lt=period.until), "left_at", mondays)
    weeks = [WeekRow(w, arrivals.get(w, 0), exits.get(w, 0)) for w in mondays]
    return PhasesReport(workflow_id, period, at, rows, weeks, stale)


def _times_from_ledger(
    times: _Times, workflow_id: int, crs: list[ResponsibilityCenter], period: Period, slice: Slice, at: dt.datetime
) -> None:
    """Every stay touching the period, counted to its end (or to `at`): each ticket's latest per phase."""
    tickets = Ticket.objects.filter(slice.tickets())
    scoped = PhaseStay.objects.filter(workflow_id=workflow_id)
    if slice.tickets():
        scoped = scoped.filter(ticket__in=tickets)
    times.now = dict(
        scoped.filter(left_at__isnull=True).values_list("cr_id").annotate(n=Count("id")).values_list("cr_id", "n")
    )
    latest: dict[tuple[int, int], tuple[dt.datetime, float, float]] = {}
    touching = scoped.filter(entered_at__lt=min(period.until, at)).filter(
        Q(left_at__isnull=True) | Q(left_at__gte=period.since)
    )
    open_by_cr: dict[int, list[tuple[int, dt.datetime, int]]] = defaultdict(list)
    for ticket_id, cr_id, entered, left, seconds, before, company_id in touching.values_list(
        "ticket_id", "cr_id", "entered_at", "left_at", "seconds", "before_seconds", "ticket__company_id"
    ).iterator(chunk_size=5000):
        spent = float(seconds or 0) if left is not None else max(0.0, (at - entered).total_seconds())
        key = (cr_id, ticket_id)
        if key not in latest or entered > latest[key][0]:
            latest[key] = (entered, spent, spent + float(before or 0))
        if left is None and cr_id in times.aging:
            times.aging[cr_id][_aging_index(int(spent // DAY))] += 1
            open_by_cr[cr_id].append((ticket_id, entered, company_id))
    for (cr_id, _t), (_e, spent, total) in latest.items():
        times.latest[cr_id].append((spent, 1))
        times.total[cr_id].append((total, 1))

    tz = timezone.get_current_timezone()
    today = timezone.localdate(at)
    calendar = BusinessCalendar.for_companies()
    for cr in crs:
        if cr.closes_process or cr.stale_after_days is None:
            continue
        for ticket_id, entered, company_id in open_by_cr.get(cr.pk, []):
            # Business days never outnumber calendar days: most stays are ruled out without counting.
            if (today - entered.astimezone(tz).date()).days <= cr.stale_after_days:
                continue
            days = calendar.business_days_between(entered.astimezone(tz).date(), today, company_id)
            if days > cr.stale_after_days:
                times.stale[cr.pk] += 1
                times.stale_rows.append((ticket_id, cr.pk, entered, days))


def _times_from_summaries(
    times: _Times, workflow_id: int, crs: list[ResponsibilityCenter], period: Period, slice: Slice, at: dt.datetime
) -> None:
    """The same numbers read off the summaries: the ended stays that were each ticket's latest in their
    phase, by end day from the period's first, and the stays open now by hour entered. Aging counts the
    stays of an hour that straddles a bucket's edge one by one from the ledger, so it stays exact."""
    dims = _tally_dims(slice)
    closed = (
        PhaseTally.objects.filter(
            workflow_id=workflow_id,
            kind__in=[PhaseTally.Kind.LATEST, PhaseTally.Kind.TOTAL],
            day__gte=period.start,
            **dims,
        )
        .values_list("kind", "cr_id", "bucket")
        .annotate(stays=Sum("n"), spent=Sum("seconds"))
        .order_by()
    )
    for kind, cr_id, _bucket, n, spent in closed:
        if n:
            target = times.latest if kind == PhaseTally.Kind.LATEST else times.total
            target[cr_id].append((spent / n, n))

    edges = [at - dt.timedelta(days=low) for low, _high, _label in AGING_BUCKETS[1:]]
    straddling = {epoch_hour(edge) for edge in edges}
    today = timezone.localdate(at)
    calendar = BusinessCalendar.for_companies()
    stale_after = {
        cr.pk: cr.stale_after_days for cr in crs if not cr.closes_process and cr.stale_after_days is not None
    }
    now_hour = int(at.timestamp()) // HOUR
    open_stays = OpenTally.objects.filter(workflow_id=workflow_id, n__gt=0, **dims)
    entered_rows = open_stays.filter(kind=OpenTally.Kind.ENTERED)
    # Per time since entry, by the hour up to 128 hours and 64 steps per doubling beyond (as the ended
    # stays' buckets), the hours that straddle an aging edge alone (negative: they are counted below).
    opened = (
        entered_rows.annotate(age_key=_age_key(now_hour, straddling))
        .values_list("cr_id", "age_key")
        .annotate(stays=Sum("n"), moments=Sum("moments"))
        .order_by()
    )
    for cr_id, age_key, n, moments in opened:
        if not n:
            continue
        times.now[cr_id] = times.now.get(cr_id, 0) + n
        spent = max(0.0, at.timestamp() - moments / n)
        times.latest[cr_id].append((spent, n))
        if cr_id in times.aging and age_key >= 0:
            times.aging[cr_id][_aging_index(int(spent // DAY))] += n
    if stale_after:
        _stale_counts(times, entered_rows.filter(cr_id__in=stale_after), stale_after, today, calendar)
    # The tickets' totals in the phase: the time since their time there began counting, in the same steps.
    totals = (
        open_stays.filter(kind=OpenTally.Kind.STARTED)
        .annotate(age_key=_age_key(now_hour, set()))
        .values_list("cr_id", "age_key")
        .annotate(stays=Sum("n"), moments=Sum("moments"))
        .order_by()
    )
    for cr_id, _key, n, moments in totals:
        if n:
            times.total[cr_id].append((max(0.0, at.timestamp() - moments / n), n))
    if straddling:
        edge_hours = Q()
        for hour in straddling:
            start = dt.datetime.fromtimestamp(hour * HOUR, dt.UTC)
            edge_hours |= Q(entered_at__gte=start, entered_at__lt=start + dt.timedelta(hours=1))
        edge_stays = _open_stays(workflow_id, slice).filter(edge_hours, cr_id__in=list(times.aging))
        for cr_id, entered in edge_stays.values_list("cr_id", "entered_at"):
            if cr_id in times.aging:
                times.aging[cr_id][_aging_index(int(max(0.0, (at - entered).total_seconds()) // DAY))] += 1
    for cr_id, limit in stale_after.items():
        times.stale_rows.extend(_oldest_stale(workflow_id, cr_id, limit, slice, today, calendar))


def _age_key(now_hour: int, alone: set[int]) -> Case:
    """An open stays row's group by its hours since `hour`: each hour up to 128, then 64 steps per
    doubling; the hours in `alone` each by itself, negative."""
    age = Value(now_hour) - F("hour")
    steps = [When(hour__in=alone, then=-age)] if alone else []
    steps.append(When(hour__gt=now_hour - 128, then=age))
    steps += [When(hour__gt=now_hour - (128 << k), then=age / (1 << k) * (1 << k)) for k in range(1, 12)]
    return Case(*steps, default=age)


def _stale_counts(
    times: _Times,
    open_stays: QuerySet[OpenTally],
    stale_after: dict[int, int],
    today: dt.date,
    calendar: BusinessCalendar,
) -> None:
    """The open stays more business days in their phase than it allows. The longer ago a stay was
    entered, the more business days it has: per phase and company, those entered before the first hour
    of the first day that is not stale are."""
    companies = list(Company.objects.values_list("pk", flat=True))
    for cr_id, limit in stale_after.items():
        by_threshold: dict[int, list[int]] = defaultdict(list)
        for company_id in companies:
            day = today - dt.timedelta(days=limit + 1)  # business days never outnumber calendar days
            oldest = today - dt.timedelta(days=LONGEST_STALE_SEARCH)
            while day > oldest and calendar.business_days_between(day, today, company_id) <= limit:
                day -= dt.timedelta(days=1)
            by_threshold[epoch_hour(_local_midnight(day + dt.timedelta(days=1)))].append(company_id)
        stale = Q()
        for threshold, ids in by_threshold.items():
            stale |= Q(company_id__in=ids, hour__lt=threshold)
        counted = open_stays.filter(stale, cr_id=cr_id).aggregate(stays=Sum("n"))["stays"]
        times.stale[cr_id] = counted or 0


def _open_stays(workflow_id: int, slice: Slice) -> QuerySet[PhaseStay]:
    stays = PhaseStay.objects.filter(workflow_id=workflow_id, left_at__isnull=True)
    if slice.tickets():
        stays = stays.filter(ticket__in=Ticket.objects.filter(slice.tickets()))
    return stays


def _oldest_stale(
    workflow_id: int, cr_id: int, limit: int, slice: Slice, today: dt.date, calendar: BusinessCalendar
) -> list[tuple[int, int, dt.datetime, int]]:
    """The phase's stale stays, oldest first (at most the number listed): read in the order of the
    index, past those too recent by the calendar, until enough are stale."""
    found: list[tuple[int, int, dt.datetime, int]] = []
    tz = timezone.get_current_timezone()
    candidates = (
        _open_stays(workflow_id, slice)
        .filter(cr_id=cr_id, entered_at__lt=_local_midnight(today - dt.timedelta(days=limit)))
        .order_by("entered_at", "id")
        .values_list("ticket_id", "entered_at", "ticket__company_id")
    )
    for start in itertools.count(0, 4 * STALE_LISTED):
        chunk = list(candidates[start : start + 4 * STALE_LISTED])
        for ticket_id, entered, company_id in chunk:
            days = calendar.business_days_between(entered.astimezone(tz).date(), today, company_id)
            if days > limit:
                found.append((ticket_id, cr_id, entered, days))
                if len(found) >= STALE_LISTED:
                    return found
        if len(chunk) < 4 * STALE_LISTED:
            break
    return found


def _weekly_from_summaries(
    workflow_id: int, period: Period, slice: Slice, weeks: list[dt.date]
) -> tuple[dict[dt.date, int], dict[dt.date, int]]:
    arrivals: dict[dt.date, int] = dict.fromkeys(weeks, 0)
    exits: dict[dt.date, int] = dict.fromkeys(weeks, 0)
    for kind, day, n in (
        PhaseTally.objects.filter(
            workflow_id=workflow_id,
            kind__in=[PhaseTally.Kind.ARRIVED, PhaseTally.Kind.LEFT],
            day__gte=period.start,
            day__lte=period.end,
            **_tally_dims(slice),
        )
        .values_list("kind", "day")
        .annotate(stays=Sum("n"))
        .order_by()
    ):
        week = day - dt.timedelta(days=day.weekday())
        target = arrivals if kind == PhaseTally.Kind.ARRIVED else exits
        if week in target:
            target[week] += n
    return arrivals, exits


def _weekly_counts(qs: QuerySet[Any], field_name: str, weeks: list[dt.date]) -> dict[dt.date, int]:
    """Rows per local week (Monday to Sunday) of `field_name`: one aggregate of a count per week, plain
    comparisons the index serves (a date function per row is slow on SQLite)."""
    if not weeks:
        return {}
    bounds = [_local_midnight(w) for w in [*weeks, weeks[-1] + dt.timedelta(days=7)]]
    counts = qs.aggregate(
        **{
            f"w{i}": Count("id", filter=Q(**{f"{field_name}__gte": bounds[i], f"{field_name}__lt": bounds[i + 1]}))
            for i in range(len(weeks))
        }
    )
    return {week: counts[f"w{i}"] for i, week in enumerate(weeks)}


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _user_label(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# ---- 2. the funnel -----------------------------------------------------------------------------------


@dataclass
class FunnelStep:
    cr_id: int
    name: str
    reached: int
    conversion: float | None  # % of those here who reached the next phase
    drop_off: float | None


@dataclass
class Share:
    label: str
    count: int
    percent: float | None


@dataclass
class DecisionSplit:
    step_id: int
    question: str
    options: list[Share]


@dataclass
class SalesSummary:
    tickets: int
    won: int
    lost: int
    open: int
    won_value: Decimal
    lost_value: Decimal  # the expected value of those lost
    win_rate: float | None  # won / (won + lost)
    loss_reasons: list[Share]


@dataclass
class FunnelReport:
    workflow_id: int
    period: Period
    opened: int
    steps: list[FunnelStep]
    decisions: list[DecisionSplit]
    sales: SalesSummary | None

    def tables(self) -> list[Table]:
        tables = [
            Table(
                "funnel",
                _("Tickets that reached each phase"),
                [_("Phase"), _("Reached"), _("Went on to the next (%)"), _("Drop-off (%)")],
                [[s.name, s.reached, s.conversion, s.drop_off] for s in self.steps],
            ),
            Table(
                "decisions",
                _("Decisions taken"),
                [_("Decision"), _("Option"), _("Times"), _("%")],
                [[d.question, o.label, o.count, o.percent] for d in self.decisions for o in d.options],
                text_columns=2,
            ),
        ]
        if self.sales is not None:
            s = self.sales
            tables.append(
                Table(
                    "sales",
                    _("Sales"),
                    [_("Won"), _("Lost"), _("Open"), _("Won value"), _("Lost value"), _("Win rate (%)")],
                    [[s.won, s.lost, s.open, s.won_value, s.lost_value, s.win_rate]],
                )
            )
            tables.append(
                Table(
                    "loss_reasons",
                    _("Reasons of losses"),
                    [_("Reason"), _("Losses"), _("%")],
                    [[r.label, r.count, r.percent] for r in s.loss_reasons],
                )
            )
        return tables


def funnel(workflow_id: int, *, period: Period, slice: Slice = Slice(), at: dt.datetime | None = None) -> FunnelReport:
    """The tickets opened in the period that entered the workflow: how many reached each phase, how many
    went on, the decisions' options taken, and for sales contacts their outcomes. Measured now and not
    sliced by phase or user, the counts come from the summaries (by the tickets' opening day); given
    `at`, from the ledger and the moves. The sales come from the contacts."""
    # A ticket now in the workflow has entered it (its open stay is there): the ledger is read for the others.
    entered = Q(workflow_id=workflow_id) | Exists(
        PhaseStay.objects.filter(ticket_id=OuterRef("pk"), workflow_id=workflow_id)
    )
    cohort = Ticket.objects.filter(
        slice.tickets(), entered, opened_at__gte=period.since, opened_at__lt=period.until
    ).order_by()
    cohort_ids = cohort.values("pk")
    crs = workflow_crs(workflow_id)
    if at is None and summarised(slice):
        opened, reached, taken = _funnel_from_summaries(workflow_id, period, slice)
    else:
        opened = cohort.count()
        reached = dict(
            PhaseStay.objects.filter(workflow_id=workflow_id, ticket_id__in=cohort_ids)
            .values_list("cr_id")
            .annotate(n=Count("ticket_id", distinct=True))
            .values_list("cr_id", "n")
        )
        taken = list(
            MoveDecision.objects.filter(move__ticket_id__in=cohort_ids, step__workflow_id=workflow_id)
            .values_list("step_id", "option_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    steps = []
    for i, cr in enumerate(crs):
        here = reached.get(cr.pk, 0)
        following = reached.get(crs[i + 1].pk, 0) if i + 1 < len(crs) else None
        conversion = _pct(following, here) if following is not None else None
        steps.append(
            FunnelStep(
                cr.pk,
                str(cr.description),
                here,
                conversion,
                None if conversion is None else round(100 - conversion, 1),
            )
        )

    counts = {(step_id, option_id): n for step_id, option_id, n in taken if n}
    options = (
        DecisionOption.objects.filter(step__workflow_id=workflow_id, pk__in={o for _s, o in counts})
        .values_list("step_id", "step__question", "pk", "label")
        .order_by("step__order", "position", "pk")
    )
    by_step: dict[int, DecisionSplit] = {}
    for step_id, question, option_id, label in options:
        n = counts.get((step_id, option_id), 0)
        if n:
            by_step.setdefault(step_id, DecisionSplit(step_id, question, [])).options.append(Share(label, n, None))
    for split in by_step.values():
        whole = sum(o.count for o in split.options)
        for o in split.options:
            o.percent = _pct(o.count, whole)

    # The cohort's sales contacts: per outcome and reason of loss, counted and summed.
    sales = None
    outcomes: Counter[str] = Counter()
    values: dict[str, Decimal] = defaultdict(Decimal)
    reasons: Counter[str | None] = Counter()
    grouped: Iterable[tuple[Any, ...]]
    if at is None and summarised(slice):
        grouped = _cohort_sales_from_summaries(workflow_id, period, slice)
    else:
        grouped = (
            SalesContact.objects.filter(ticket_id__in=cohort_ids)
            .values_list("outcome", "lost_reason__name")
            .annotate(n=Count("pk"), won_value=Sum("won_value"), expected=Sum("expected_value"))
            .order_by()
        )
    for outcome, reason, n, won_value, expected in grouped:
        outcomes[outcome] += n
        if outcome == Outcome.WON:
            values[Outcome.WON] += won_value or 0
        elif outcome == Outcome.LOST:
            values[Outcome.LOST] += expected or 0
            reasons[reason] += n
    contacts = sum(outcomes.values())
    if contacts:
        won, lost = outcomes[Outcome.WON], outcomes[Outcome.LOST]
        ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
        sales = SalesSummary(
            tickets=contacts,
            won=won,
            lost=lost,
            open=contacts - won - lost,
            won_value=values[Outcome.WON].quantize(Decimal("0.01")) if won else Decimal("0.00"),
            lost_value=values[Outcome.LOST].quantize(Decimal("0.01")) if lost else Decimal("0.00"),
            win_rate=_pct(won, won + lost),
            loss_reasons=[Share(name or _("No reason"), n, _pct(n, lost)) for name, n in ranked],
        )
    return FunnelReport(workflow_id, period, opened, steps, list(by_step.values()), sales)


def _funnel_from_summaries(
    workflow_id: int, period: Period, slice: Slice
) -> tuple[int, dict[int, int], list[tuple[int, int, int]]]:
    """The tickets opened in the period that entered the workflow, those that reached each phase, and
    the decisions they took (step, option, times), read off the summaries."""
    rows = (
        PhaseTally.objects.filter(
            workflow_id=workflow_id,
            kind__in=[PhaseTally.Kind.REACHED, PhaseTally.Kind.DECIDED],
            day__gte=period.start,
            day__lte=period.end,
            **_tally_dims(slice),
        )
        .values_list("kind", "cr_id", "bucket")
        .annotate(tickets=Sum("n"))
        .order_by()
    )
    reached: dict[int, int] = {}
    taken: list[tuple[int, int, int]] = []
    for kind, cr_id, bucket, n in rows:
        if kind == PhaseTally.Kind.REACHED:
            reached[cr_id] = n
        else:
            taken.append((cr_id, bucket, n))
    return reached.pop(WORKFLOW, 0), reached, taken


def _cohort_sales_from_summaries(
    workflow_id: int, period: Period, slice: Slice
) -> list[tuple[str, str | None, int, Decimal, Decimal]]:
    """(outcome, reason of loss's name, contacts, won value, expected value) of the tickets opened in the
    period that entered the workflow, read off the summaries, in the shape of the raw rows' aggregate."""
    rows = (
        SalesTally.objects.filter(
            kind=SalesTally.Kind.COHORT,
            workflow_id=workflow_id,
            day__gte=period.start,
            day__lte=period.end,
            **_tally_dims(slice),
        )
        .values_list("outcome", "reason_id")
        .annotate(contacts=Sum("n"), value=Sum("value"))
        .order_by()
    )
    found = [(outcome, reason_id, n, value or Decimal(0)) for outcome, reason_id, n, value in rows if n]
    names = dict(LostReason.objects.filter(pk__in={r for _o, r, _n, _v in found if r}).values_list("pk", "name"))
    return [
        (
            outcome,
            names.get(reason_id) if outcome == Outcome.LOST else None,
            n,
            value if outcome == Outcome.WON else Decimal(0),
            value if outcome == Outcome.LOST else Decimal(0),
        )
        for outcome, reason_id, n, value in found
    ]


# ---- 3. people ---------------------------------------------------------------------------------------


@dataclass
class PersonRow:
    user_id: int
    name: str
    open: int
    by_phase: dict[int, int]
    overdue: int
    notes: int
    notes_per_day: float
    won: int
    lost: int
    pipeline: Decimal


@dataclass
class DayRow:
    day: dt.date
    notes: int


@dataclass
class PeopleReport:
    period: Period
    at: dt.datetime
    phases: list[tuple[int, str]]
    people: list[PersonRow]
    days: list[DayRow]

    def tables(self) -> list[Table]:
        return [
            Table(
                "people",
                _("People"),
                [
                    _("User"),
                    _("Open tickets"),
                    *[name for _id, name in self.phases],
                    _("Overdue next contacts"),
                    _("Notes"),
                    _("Notes per day"),
                    _("Won"),
                    _("Lost"),
                    _("Weighted pipeline"),
                ],
                [
                    [
                        p.name,
                        p.open,
                        *[p.by_phase.get(cr_id, 0) for cr_id, _n in self.phases],
                        p.overdue,
                        p.notes,
                        p.notes_per_day,
                        p.won,
                        p.lost,
                        p.pipeline,
                    ]
                    for p in self.people
                ],
            ),
            Table("notes", _("Notes per day"), [_("Day"), _("Notes")], [[d.day, d.notes] for d in self.days]),
        ]


def people(*, period: Period, slice: Slice = Slice(), at: dt.datetime | None = None) -> PeopleReport:
    """Per user with a role: open tickets (their next contacts) by phase, those overdue, notes written in
    the period (and per day), sales won and lost in the period, the weighted pipeline of their open contacts."""
    measured_at = at  # given: read from the raw rows, as every measurement does
    at = at or timezone.now()
    users = users_with_role().order_by("first_name", "last_name", "username")
    if slice.user_id:
        users = users.filter(pk=slice.user_id)
    tickets = Ticket.objects.open().filter(slice.tickets(), next_contact_user__isnull=False)
    start_of_today = timezone.make_aware(dt.datetime.combine(timezone.localdate(at), dt.time.min))
    # One pass over the open tickets (an index holds what it reads): per user and phase, and those overdue.
    by_phase: dict[int, dict[int, int]] = defaultdict(dict)
    overdue: Counter[int] = Counter()
    for user_id, cr_id, n, late in (
        tickets.values_list("next_contact_user_id", "cr_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(next_contact_at__lt=start_of_today)))
        .order_by()
    ):
        by_phase[user_id][cr_id] = n
        overdue[user_id] += late
    notes_by_user: Counter[int] = Counter()
    per_day: Counter[dt.date] = Counter()
    for author_id, day, n in _notes_per_author_and_day(period, slice, measured_at):
        notes_by_user[author_id] += n
        per_day[day] += n
    won_lost: dict[int, Counter[str]] = defaultdict(Counter)
    for user_id, outcome, n in _outcomes_per_user(period, slice, measured_at):
        won_lost[user_id][outcome] += n
    pipeline = _pipeline_per_user(slice, measured_at)
    rows = []
    for user in users:
        phase_counts = by_phase.get(user.pk, {})
        written = notes_by_user.get(user.pk, 0)
        weighted = Decimal(pipeline.get(user.pk) or 0) / 100
        rows.append(
            PersonRow(
                user_id=user.pk,
                name=_user_label(user),
                open=sum(phase_counts.values()),
                by_phase=phase_counts,
                overdue=overdue.get(user.pk, 0),
                notes=written,
                notes_per_day=round(written / period.days, 2),
                won=won_lost[user.pk][Outcome.WON],
                lost=won_lost[user.pk][Outcome.LOST],
                pipeline=weighted.quantize(Decimal("0.01")),
            )
        )
    phases_seen = {cr_id for counts in by_phase.values() for cr_id in counts}
    phase_list = [
        (cr.pk, str(cr.description)) for cr in ResponsibilityCenter.objects.filter(pk__in=phases_seen).order_by("code")
    ]
    days = [
        DayRow(day, per_day.get(day, 0)) for day in (period.start + dt.timedelta(days=i) for i in range(period.days))
    ]
    return PeopleReport(period, at, phase_list, rows, days)


def _notes_per_author_and_day(
    period: Period, slice: Slice, at: dt.datetime | None
) -> Iterable[tuple[int, dt.date, int]]:
    """(author, local day, notes) of the notes written in the period: off the summaries measured now and
    not sliced by phase or user, else from the notes (index note_created_author)."""
    if at is None and summarised(slice):
        yield from (
            NoteTally.objects.filter(day__gte=period.start, day__lte=period.end, **_tally_dims(slice))
            .values_list("user_id", "day")
            .annotate(notes=Sum("n"))
            .values_list("user_id", "day", "notes")
            .order_by()
        )
        return
    notes = Note.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
    if slice.tickets():
        notes = notes.filter(ticket__in=Ticket.objects.filter(slice.tickets()))
    if slice.user_id:
        notes = notes.filter(author_id=slice.user_id)
    yield from _per_author_and_day(notes, period)


def _outcomes_per_user(period: Period, slice: Slice, at: dt.datetime | None) -> Iterable[tuple[int, str, int]]:
    """(who recorded it, outcome, contacts) of the sales outcomes recorded in the period."""
    if at is None and summarised(slice):
        return (
            SalesTally.objects.filter(
                kind=SalesTally.Kind.OUTCOME, day__gte=period.start, day__lte=period.end, **_tally_dims(slice)
            )
            .values_list("user_id", "outcome")
            .annotate(contacts=Sum("n"))
            .values_list("user_id", "outcome", "contacts")
            .order_by()
        )
    outcomes = SalesContact.objects.filter(outcome_at__gte=period.since, outcome_at__lt=period.until)
    if slice.tickets():
        outcomes = outcomes.filter(ticket__in=Ticket.objects.filter(slice.tickets()))
    return outcomes.values_list("outcome_by_id", "outcome").annotate(n=Count("pk")).order_by()


def _pipeline_per_user(slice: Slice, at: dt.datetime | None) -> dict[int, Decimal]:
    """Per user, the sum of expected value × success (%) of the open sales contacts of the open tickets
    whose next contact is theirs."""
    if at is None and summarised(slice):
        return dict(
            SalesTally.objects.filter(kind=SalesTally.Kind.PIPELINE, **_tally_dims(slice))
            .values_list("user_id")
            .annotate(w=Sum("value"))
            .values_list("user_id", "w")
            .order_by()
        )
    return dict(
        SalesContact.objects.filter(
            slice.tickets("ticket__"),
            outcome=Outcome.OPEN,
            ticket__status=Ticket.Status.OPEN,
            ticket__next_contact_user__isnull=False,
        )
        .values_list("ticket__next_contact_user_id")
        .annotate(w=Sum(F("expected_value") * F("success")))
        .values_list("ticket__next_contact_user_id", "w")
        .order_by()
    )


class _PeriodDay(Func):
    """The day of the period a moment falls on, 0 for the first: PostgreSQL's width_bucket over the local
    midnights that begin the period's days after the first (a binary search, cheaper than converting
    every moment to local time)."""

    function = "width_bucket"
    output_field = IntegerField()

    def __init__(self, expression: Any, period: Period) -> None:
        from django.contrib.postgres.fields import ArrayField

        midnights = [_local_midnight(period.start + dt.timedelta(days=i)) for i in range(1, period.days)]
        super().__init__(expression, Value(midnights, output_field=ArrayField(DateTimeField())))


def _per_author_and_day(notes: QuerySet[Note], period: Period) -> Iterable[tuple[int, dt.date, int]]:
    """(author, local day, notes) of the period's notes `notes`."""
    if connection.vendor == "postgresql" and period.days > 1:
        for author_id, index, n in (
            notes.annotate(index=_PeriodDay("created_at", period))
            .values_list("author_id", "index")
            .annotate(n=Count("*"))
            .values_list("author_id", "index", "n")
            .order_by()
        ):
            yield author_id, period.start + dt.timedelta(days=index), n
        return
    yield from (
        notes.annotate(day=TruncDate("created_at"))
        .values_list("author_id", "day")
        .annotate(n=Count("*"))
        .values_list("author_id", "day", "n")
        .order_by()
    )


# ---- 4. answers --------------------------------------------------------------------------------------


@dataclass
class OptionCount:
    label: str
    count: int
    percent: float | None
    complements: int


@dataclass
class Bin:
    label: str
    low: float | None
    high: float | None
    count: int


@dataclass
class QuestionStats:
    question_id: int
    code: str
    text: str
    answer_type: str
    cr: str
    asked: int  # tickets in the slice that reached the question's phase
    answered: int
    response_rate: float | None
    options: list[OptionCount] = field(default_factory=list)
    count: int | None = None
    sum: Decimal | None = None
    mean: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    histogram: list[Bin] = field(default_factory=list)


@dataclass
class AnswersReport:
    cycle_id: int
    period: Period
    questions: list[QuestionStats]

    def tables(self) -> list[Table]:
        tables = [
            Table(
                "response",
                _("Response rate"),
                [_("Code"), _("Question"), _("Asked"), _("Answered"), _("Response rate (%)")],
                [[q.code, q.text, q.asked, q.answered, q.response_rate] for q in self.questions],
                text_columns=2,
            )
        ]
        for q in self.questions:
            if q.options:
                tables.append(
                    Table(
                        f"q{q.question_id}",
                        f"{q.code} {q.text}",
                        [_("Option"), _("Answers"), _("%"), _("Complements given")],
                        [[o.label, o.count, o.percent, o.complements] for o in q.options],
                    )
                )
            elif q.histogram:
                columns = [_("From"), _("To"), _("Answers")] if q.answer_type != AnswerType.DATE else [_("Month")]
                rows = (
                    [[b.low, b.high, b.count] for b in q.histogram]
                    if q.answer_type != AnswerType.DATE
                    else [[b.label, b.count] for b in q.histogram]
                )
                if q.answer_type == AnswerType.DATE:
                    columns.append(_("Answers"))
                tables.append(Table(f"q{q.question_id}", f"{q.code} {q.text}", columns, rows))
        return tables


def answers(cycle_id: int, *, period: Period, slice: Slice = Slice(), at: dt.datetime | None = None) -> AnswersReport:
    """Per question of the cycle, the answers given in the period by tickets of the slice (the slice's user
    is who answered): options counted, numbers summarised, dates by month, and how many answered.

    Measured now (no `at`) and not sliced by phase, the answers come from the summaries (numbers' median,
    quartiles, extremes and histogram exact to their bucket: ciclo.insight.summaries), and so do the
    tickets asked over a period that reaches today; otherwise from the answers and the ledger."""
    live = at is None
    at = at or timezone.now()
    questions = list(Question.objects.filter(cycle_id=cycle_id).select_related("cr").order_by("code", "id"))
    numeric = {q.pk for q in questions if q.answer_type in (AnswerType.NUMBER, AnswerType.MONEY)}
    dated = {q.pk for q in questions if q.answer_type == AnswerType.DATE}
    if not live or slice.cr_id:
        answered, choices, complements, numbers, months = _answers_from_rows(cycle_id, period, slice, numeric, dated)
    else:
        answered, choices, complements, numbers, months = _answers_from_summaries(questions, period, slice, numeric)
    asked = _asked(cycle_id, {q.cr_id for q in questions}, period, slice, at if not live else None)

    stats = []
    for q in questions:
        given = answered.get(q.pk, 0)
        reach = asked.get(q.cr_id, 0)
        s = QuestionStats(q.pk, q.code, q.text, q.answer_type, str(q.cr.description), reach, given, _pct(given, reach))
        if q.answer_type in AnswerType.choice_types():
            counted = choices.get(q.pk, Counter())
            for option in q.options.order_by("position", "id"):
                s.options.append(
                    OptionCount(
                        option.label,
                        counted[option.pk],
                        _pct(counted[option.pk], given),
                        complements.get(q.pk, Counter())[option.pk],
                    )
                )
        elif q.pk in numeric:
            _summarise(s, sorted(numbers.get(q.pk, [])))
        elif q.pk in dated:
            s.count = given
            s.histogram = [Bin(month, None, None, n) for month, n in sorted(months.get(q.pk, Counter()).items())]
        stats.append(s)
    return AnswersReport(cycle_id, period, stats)


_AnswerCounts = tuple[
    dict[int, int],
    dict[int, Counter[int]],
    dict[int, Counter[int]],
    dict[int, list[tuple[Decimal, int, Decimal]]],
    dict[int, Counter[str]],
]


def _answers_from_rows(
    cycle_id: int, period: Period, slice: Slice, numeric: set[int], dated: set[int]
) -> _AnswerCounts:
    """The answers given in the period by the slice's tickets, counted from the answers themselves: per
    question, how many; the options chosen and complemented; each number (value, 1, value); the months."""
    rows = Answer.objects.filter(
        question__cycle_id=cycle_id,
        is_empty=False,
        answered_at__gte=period.since,
        answered_at__lt=period.until,
    )
    ticket_slice = Slice(slice.service_type_id, slice.cr_id, None, slice.company_id)
    if ticket_slice.tickets():
        rows = rows.filter(ticket__in=Ticket.objects.filter(ticket_slice.tickets()))
    if slice.user_id:
        rows = rows.filter(answered_by_id=slice.user_id)
    answered = dict(rows.values_list("question_id").annotate(n=Count("id")).values_list("question_id", "n"))
    choices: dict[int, Counter[int]] = defaultdict(Counter)
    complements: dict[int, Counter[int]] = defaultdict(Counter)
    for question_id, option_id, with_complement, n in (
        AnswerChoice.objects.filter(answer__in=rows)
        .values_list("answer__question_id", "option_id")
        .annotate(with_complement=Count("id", filter=~Q(complement="")), n=Count("id"))
        .values_list("answer__question_id", "option_id", "with_complement", "n")
        .order_by()
    ):
        choices[question_id][option_id] += n
        complements[question_id][option_id] += with_complement
    numbers: dict[int, list[tuple[Decimal, int, Decimal]]] = defaultdict(list)
    months: dict[int, Counter[str]] = defaultdict(Counter)
    for question_id, number, day in (
        rows.filter(question_id__in=numeric | dated)
        .values_list("question_id", "value_number", "value_date")
        .iterator(chunk_size=5000)
    ):
        if question_id in numeric and number is not None:
            numbers[question_id].append((number, 1, number))
        elif question_id in dated and day is not None:
            months[question_id][f"{day:%Y-%m}"] += 1
    return answered, choices, complements, numbers, months


def _answers_from_summaries(
    questions: list[Question], period: Period, slice: Slice, numeric: set[int]
) -> _AnswerCounts:
    """The same counts read off the answers' summary; a number bucket stands for its values at their mean."""
    tallies = AnswerTally.objects.filter(
        question_id__in=[q.pk for q in questions], day__gte=period.start, day__lte=period.end, **_tally_dims(slice)
    )
    if slice.user_id:
        tallies = tallies.filter(user_id=slice.user_id)
    answered: dict[int, int] = defaultdict(int)
    choices: dict[int, Counter[int]] = defaultdict(Counter)
    complements: dict[int, Counter[int]] = defaultdict(Counter)
    numbers: dict[int, list[tuple[Decimal, int, Decimal]]] = defaultdict(list)
    months: dict[int, Counter[str]] = defaultdict(Counter)
    for question_id, option_id, bucket, n, with_complement, total in (
        tallies.values_list("question_id", "option_id", "bucket")
        .annotate(answers=Sum("n"), with_complement=Sum("complements"), total=Sum("total"))
        .order_by()
    ):
        if not n:
            continue
        if option_id:
            choices[question_id][option_id] += n
            complements[question_id][option_id] += with_complement
            continue
        answered[question_id] += n
        if question_id in numeric:
            total = Decimal(total).quantize(Decimal("0.0001"))
            numbers[question_id].append((total / n, n, total))
        elif bucket:
            months[question_id][f"{bucket // 100:04d}-{bucket % 100:02d}"] += n
    return answered, choices, complements, numbers, months


def _asked(cycle_id: int, cr_ids: set[int], period: Period, slice: Slice, at: dt.datetime | None) -> dict[int, int]:
    """Per phase, the tickets of the cycle's service types (and the slice's) in it at some time of the
    period: from the summaries (each ticket's latest stay there) when measured now over a period that
    reaches today."""
    types = list(ServiceType.objects.filter(cycle_id=cycle_id).values_list("pk", flat=True))
    ticket_slice = Slice(slice.service_type_id, slice.cr_id, None, slice.company_id)
    if at is None and summarised(ticket_slice) and period.until > timezone.now():
        dims = _tally_dims(ticket_slice)
        asked: Counter[int] = Counter()
        ended = PhaseTally.objects.filter(
            kind=PhaseTally.Kind.LATEST, day__gte=period.start, cr_id__in=cr_ids, service_type_id__in=types, **dims
        )
        for cr_id, n in ended.values_list("cr_id").annotate(stays=Sum("n")).order_by():
            asked[cr_id] += n
        still = OpenTally.objects.filter(
            kind=OpenTally.Kind.ENTERED, cr_id__in=cr_ids, service_type_id__in=types, **dims
        )
        for cr_id, n in still.values_list("cr_id").annotate(stays=Sum("n")).order_by():
            asked[cr_id] += n
        return dict(asked)
    stays = PhaseStay.objects.filter(cr_id__in=cr_ids, entered_at__lt=period.until).filter(
        Q(left_at__isnull=True) | Q(left_at__gte=period.since)
    )
    stays = stays.filter(ticket__service_type__cycle_id=cycle_id)
    if ticket_slice.tickets():
        stays = stays.filter(ticket__in=Ticket.objects.filter(ticket_slice.tickets()))
    return dict(stays.values_list("cr_id").annotate(n=Count("ticket_id", distinct=True)).values_list("cr_id", "n"))


def _summarise(s: QuestionStats, values: list[tuple[Decimal, int, Decimal]]) -> None:
    """Numbers given as (value, how many times, their sum), sorted by value."""
    s.count = sum(n for _v, n, _t in values)
    if not values:
        return
    total = sum((t for _v, _n, t in values), Decimal(0))
    pairs = [(float(v), n) for v, n, _t in values]
    s.sum = total
    s.mean = round(float(total) / s.count, 4)
    s.median = weighted_percentile(pairs, 50)
    s.q1 = weighted_percentile(pairs, 25)
    s.q3 = weighted_percentile(pairs, 75)
    s.minimum, s.maximum = pairs[0][0], pairs[-1][0]
    s.histogram = weighted_histogram(pairs)


def histogram(values: Iterable[float], bins: int = HISTOGRAM_BINS) -> list[Bin]:
    """Equal-width bins from the least to the greatest value (one bin when all are equal); each bin holds
    the values from its low end, up to but not including its high end — the last one includes it."""
    return weighted_histogram(_weighted(values), bins)


def weighted_histogram(pairs: Sequence[tuple[float, int]], bins: int = HISTOGRAM_BINS) -> list[Bin]:
    """histogram() of values given as (value, how many times), sorted by value."""
    if not pairs:
        return []
    low, high = pairs[0][0], pairs[-1][0]
    if low == high:
        return [Bin(_number(low), low, high, sum(n for _v, n in pairs))]
    width = (high - low) / bins
    counts = [0] * bins
    for v, n in pairs:
        counts[min(bins - 1, int((v - low) / width))] += n
    edges = [low + width * i for i in range(bins + 1)]
    return [
        Bin(f"{_number(edges[i])}–{_number(edges[i + 1])}", round(edges[i], 4), round(edges[i + 1], 4), counts[i])
        for i in range(bins)
    ]


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"

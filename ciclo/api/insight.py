"""/insight: every measurement of the insight dashboards (phases, funnel, people, answers), with the
dashboards' filters, for supervisors and administrators.

The numbers are ciclo.insight.measures', the filters read by ciclo.insight.filters — as the pages and
their exports read them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from ciclo.accounts.roles import is_supervisor
from ciclo.api.auth import user_of
from ciclo.api.errors import forbidden, invalid
from ciclo.api.schemas import LIST, Out, responses
from ciclo.http import MAX_ID
from ciclo.insight import measures
from ciclo.insight.filters import Filters, parse_filters

router = Router()


class InsightFilters(Schema):
    workflow: int | None = Field(
        None, ge=1, le=MAX_ID, description="The workflow's id (phases, funnel); the first by default."
    )
    cycle: int | None = Field(
        None, ge=1, le=MAX_ID, description="The service cycle's id (answers); the first by default."
    )
    start: dt.date | None = Field(None, description="The period's first day (the funnel: of openings).")
    end: dt.date | None = Field(None, description="The period's last day; without a period, the last 12 weeks.")
    compare_start: dt.date | None = Field(None, description="Answers: a second period to compare, its first day.")
    compare_end: dt.date | None = Field(None, description="Answers: the second period's last day.")
    service_type: int | None = Field(None, ge=1, le=MAX_ID, description="Only tickets of this service type (id).")
    cr: int | None = Field(None, ge=1, le=MAX_ID, description="Only tickets now in this phase (id).")
    user: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only this user's (id): next contacts, notes, answers given."
    )
    company: int | None = Field(None, ge=1, le=MAX_ID, description="Only tickets of this company (id).")


def _filters(request: HttpRequest, given: InsightFilters) -> Filters:
    if not is_supervisor(user_of(request)):
        raise forbidden(_("Only supervisors and administrators see the measurements."))
    raw = {k: ("" if v is None else str(v)) for k, v in given.dict().items()}
    parsed, errors = parse_filters(raw)
    if errors:
        raise invalid(errors)
    return parsed


def _plain(report: Any) -> dict[str, Any]:
    return dataclasses.asdict(report)


class PeriodOut(Out):
    start: dt.date
    end: dt.date


# ---- phases ---------------------------------------------------------------------------------------


class PhaseRowOut(Out):
    cr_id: int
    code: str
    name: str
    closes: bool = Field(description="The phase closes the process (its tickets are closed).")
    now: int = Field(description="Tickets in the phase now.")
    latest_median_days: float | None = Field(description="Median days of each ticket's latest stay here.")
    latest_p90_days: float | None
    total_median_days: float | None = Field(description="Median days of each ticket's stays here, summed.")
    total_p90_days: float | None
    aging: list[int] = Field(description="Tickets here now by days in the phase: 0–2, 3–7, 8–30, > 30.")
    stale: int = Field(description="Tickets here longer than the phase's business days to go stale.")


class WeekOut(Out):
    week: dt.date = Field(description="The week's Monday.")
    arrivals: int
    exits: int


class StaleOut(Out):
    ticket_id: int
    subject: str
    cr_id: int
    cr: str
    entered_at: dt.datetime
    business_days: int
    user: str


class PhasesOut(Out):
    workflow_id: int
    period: PeriodOut
    at: dt.datetime
    phases: list[PhaseRowOut]
    weeks: list[WeekOut]
    stale: list[StaleOut] = Field(description="The stale tickets, longest in their phase first (50 at most).")
    aging_labels: list[str]


@router.get("/phases", response=responses({200: PhasesOut}, LIST), summary="Time in phase, aging, stale tickets")
def phases(request: HttpRequest, filters: Query[InsightFilters]) -> dict[str, Any]:
    """Per phase of the workflow, in workflow order: tickets there now, median and 90th percentile of the
    days spent there (latest stay and all stays), aging and stale tickets; arrivals and exits per week."""
    f = _filters(request, filters)
    if f.workflow is None:
        raise invalid({"workflow": [_("There is no workflow to measure.")]})
    return _plain(measures.phases(f.workflow.pk, period=f.period, slice=f.slice))


# ---- funnel ---------------------------------------------------------------------------------------


class FunnelStepOut(Out):
    cr_id: int
    name: str
    reached: int = Field(description="Tickets of the cohort that were ever in this phase.")
    conversion: float | None = Field(description="% of them that reached the next phase.")
    drop_off: float | None


class ShareOut(Out):
    label: str
    count: int
    percent: float | None


class DecisionOut(Out):
    step_id: int
    question: str
    options: list[ShareOut]


class InsightSalesOut(Out):
    tickets: int
    won: int
    lost: int
    open: int
    won_value: Decimal
    lost_value: Decimal = Field(description="The expected value of the contacts lost.")
    win_rate: float | None = Field(description="Won ÷ (won + lost), %.")
    loss_reasons: list[ShareOut]


class FunnelOut(Out):
    workflow_id: int
    period: PeriodOut
    opened: int = Field(description="Tickets opened in the period that entered the workflow.")
    steps: list[FunnelStepOut]
    decisions: list[DecisionOut]
    sales: InsightSalesOut | None = Field(description="The cohort's sales contacts, when it has any.")


@router.get("/funnel", response=responses({200: FunnelOut}, LIST), summary="The funnel of a period's openings")
def funnel(request: HttpRequest, filters: Query[InsightFilters]) -> dict[str, Any]:
    """The tickets opened in the period: how many reached each phase, conversion and drop-off, each
    decision's options taken, and the sales contacts' outcomes, values and reasons of losses."""
    f = _filters(request, filters)
    if f.workflow is None:
        raise invalid({"workflow": [_("There is no workflow to measure.")]})
    return _plain(measures.funnel(f.workflow.pk, period=f.period, slice=f.slice))


# ---- people ---------------------------------------------------------------------------------------


class PhaseCountOut(Out):
    cr_id: int
    count: int


class InsightPersonOut(Out):
    user_id: int
    name: str
    open: int = Field(description="Open tickets whose next contact is with this user.")
    by_phase: list[PhaseCountOut]
    overdue: int = Field(description="Of them, those whose next contact was due before today.")
    notes: int = Field(description="Notes written in the period.")
    notes_per_day: float
    won: int
    lost: int
    pipeline: Decimal = Field(description="Σ expected value × success % of the user's open sales contacts.")


class PhaseNameOut(Out):
    cr_id: int
    name: str


class DayOut(Out):
    day: dt.date
    notes: int


class PeopleOut(Out):
    period: PeriodOut
    at: dt.datetime
    phases: list[PhaseNameOut]
    people: list[InsightPersonOut]
    days: list[DayOut]


@router.get("/people", response=responses({200: PeopleOut}, LIST), summary="Each user's tickets and pipeline")
def people(request: HttpRequest, filters: Query[InsightFilters]) -> dict[str, Any]:
    """Per user: open tickets by phase, overdue next contacts, notes per day, won and lost in the period,
    the weighted pipeline."""
    f = _filters(request, filters)
    report = measures.people(period=f.period, slice=f.slice)
    data = _plain(report)
    data["phases"] = [{"cr_id": pk, "name": name} for pk, name in report.phases]
    for row in data["people"]:
        row["by_phase"] = [{"cr_id": pk, "count": n} for pk, n in row["by_phase"].items()]
    return data


# ---- answers --------------------------------------------------------------------------------------


class InsightOptionOut(Out):
    label: str
    count: int
    percent: float | None = Field(description="% of the answers to the question.")
    complements: int = Field(description="Of them, how many gave a complement.")


class BinOut(Out):
    label: str
    low: float | None
    high: float | None
    count: int


class InsightQuestionOut(Out):
    question_id: int
    code: str
    text: str
    answer_type: str
    cr: str
    asked: int = Field(description="Tickets of the slice that were in the question's phase in the period.")
    answered: int
    response_rate: float | None
    options: list[InsightOptionOut]
    count: int | None
    sum: Decimal | None
    mean: float | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    histogram: list[BinOut] = Field(description="Numbers: ten equal bins; dates: one per month (YYYY-MM).")


class AnswersOut(Out):
    cycle_id: int
    period: PeriodOut
    questions: list[InsightQuestionOut]
    compare: AnswersOut | None = None


@router.get("/answers", response=responses({200: AnswersOut}, LIST), summary="What the cycle's questions say")
def answers(request: HttpRequest, filters: Query[InsightFilters]) -> dict[str, Any]:
    """Per question of the cycle, the answers given in the period: choices counted with their %, numbers
    summed and summarised with a histogram, dates by month, response rates; `compare_*` adds a second period."""
    f = _filters(request, filters)
    if f.cycle is None:
        raise invalid({"cycle": [_("There is no service cycle to measure.")]})
    data = _plain(measures.answers(f.cycle.pk, period=f.period, slice=f.slice))
    if f.compare is not None:
        data["compare"] = _plain(measures.answers(f.cycle.pk, period=f.compare, slice=f.slice))
    return data

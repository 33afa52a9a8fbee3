"""The insight's summaries: counts the measurements read instead of scanning the raw rows.

Five tables (ciclo.insight.models): PhaseTally (per day and phase: stays entered and left, the times of
ended stays by duration bucket, the tickets that reached each phase and the decisions they took, by the
day they were opened), OpenTally (the stays still open, per hour they were entered), AnswerTally (per
day, question and option: the answers given, their numbers by bucket, the months of their dates),
NoteTally (per day and author: the notes written) and SalesTally (the sales contacts by opening day and
outcome, their outcomes by day and who recorded them, the open pipeline by next contact's user).

They are kept in the transaction of the change: the ledger (record_move, record_openings) adds what a
move changes, the engine's answer saves call answers_changing(), every writer of notes notes_written(),
and the engine's note, move and sales contact changes contact_changing() (the openings
contacts_opened()). Every change is an increment done by the database (INSERT … ON CONFLICT DO UPDATE
SET n = n + excluded.n), so two transactions changing the same row add up. rebuild() writes every row
again from the raw rows, with the same functions: what a stay or an answer contributes is said once, in
stay_facts() and answer_facts().

Durations are bucketed by the hour below 128 hours, and beyond in 64 buckets per doubling (each bucket
at most 1/64 of its values wide); numbers likewise from 128 up. A bucket keeps its count and its sum,
so percentiles are read at each bucket's mean: exact when a bucket holds one value, within a bucket's
width otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from ciclo.configurator.models import AnswerType

HOUR = 3600
ROWS_PER_STATEMENT = 500
NUMERIC_TYPES = (AnswerType.NUMBER, AnswerType.MONEY)
CHOICE_TYPES = (AnswerType.SINGLE_CHOICE, AnswerType.MULTIPLE_CHOICE)

# PhaseTally's kinds (the model's Kind, spelled here so that migrations' historical models can use them).
ARRIVED, LEFT, LATEST, TOTAL, REACHED, DECIDED = 1, 2, 3, 4, 5, 6
WORKFLOW = 0  # REACHED with cr 0: the ticket entered the workflow
ENTERED, STARTED = 1, 2  # OpenTally's kinds


# ---- buckets ---------------------------------------------------------------------------------------


def _log_bucket(units: int) -> int:
    """`units` itself below 128; beyond, 64 buckets per doubling, in order and without gaps."""
    if units < 128:
        return units
    shift = units.bit_length() - 7
    return 64 * shift + (units >> shift)


def duration_bucket(seconds: int) -> int:
    return _log_bucket(max(0, int(seconds)) // HOUR)


def number_bucket(value: Decimal) -> int:
    """Positive buckets for values ≥ 0, negative ones below (the sign kept apart from the magnitude)."""
    k = _log_bucket(int(abs(value)))
    return k + 1 if value >= 0 else -(k + 1)


def _local_day(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    if timezone.is_naive(moment):
        return moment.date()
    return moment.astimezone(tz).date()


def epoch_hour(moment: dt.datetime) -> int:
    """The hour of `moment`, counted from 1970 (UTC): OpenTally's key."""
    return int(moment.timestamp()) // HOUR


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# ---- what a stay contributes ------------------------------------------------------------------------

PhaseKey = tuple[int, int, dt.date, int, int, int, int]  # workflow, kind, day, cr, service type, company, bucket
OpenKey = tuple[int, int, int, int, int, int]  # kind, workflow, cr, hour, service type, company


class Deltas:
    """Changes to the summaries, added up by key before they are written (a row once per statement)."""

    def __init__(self) -> None:
        self.phase: dict[PhaseKey, list[int]] = defaultdict(lambda: [0, 0])
        self.open: dict[OpenKey, list[int]] = defaultdict(lambda: [0, 0])
        self.answer: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0)])
        self.notes: dict[NoteKey, list[int]] = defaultdict(lambda: [0])
        self.sales: dict[SalesKey, list[Any]] = defaultdict(lambda: [0, Decimal(0)])

    def add_phase(self, key: PhaseKey, n: int, seconds: int = 0) -> None:
        row = self.phase[key]
        row[0] += n
        row[1] += n * seconds

    def add_open(self, key: OpenKey, n: int, moment: int) -> None:
        row = self.open[key]
        row[0] += n
        row[1] += n * moment

    def write(self, registry: Any = None) -> None:
        registry = registry or global_apps
        for name, (rows, keys, values) in TABLES.items():
            if (model := _tally(registry, name)) is not None:
                _upsert(model, keys, values, getattr(self, rows))


def _tally(registry: Any, name: str) -> Any:
    """The summary model `name`, None in an earlier migration's registry that does not have it yet."""
    try:
        return registry.get_model("insight", name)
    except LookupError:
        return None


PHASE_KEY = ("workflow_id", "kind", "day", "cr_id", "service_type_id", "company_id", "bucket")
OPEN_KEY = ("kind", "workflow_id", "cr_id", "hour", "service_type_id", "company_id")
ANSWER_KEY = ("question_id", "day", "option_id", "bucket", "service_type_id", "company_id", "user_id")
NOTE_KEY = ("day", "user_id", "service_type_id", "company_id")
SALES_KEY = ("kind", "day", "workflow_id", "service_type_id", "company_id", "user_id", "outcome", "reason_id")
TABLES = {  # each summary model: its rows in Deltas, its key, its increments
    "PhaseTally": ("phase", PHASE_KEY, ("n", "seconds")),
    "OpenTally": ("open", OPEN_KEY, ("n", "moments")),
    "AnswerTally": ("answer", ANSWER_KEY, ("n", "complements", "total")),
    "NoteTally": ("notes", NOTE_KEY, ("n",)),
    "SalesTally": ("sales", SALES_KEY, ("n", "value")),
}
NoteKey = tuple[dt.date, int, int, int]
SalesKey = tuple[int, dt.date, int, int, int, int, str, int]


def _upsert(model: Any, keys: Sequence[str], values: Sequence[str], rows: dict[tuple[Any, ...], list[Any]]) -> None:
    """Add `rows` (key → increments) to the table: one INSERT … ON CONFLICT DO UPDATE a few hundred rows."""
    # In key order: two transactions adding to the same rows lock them in the same order.
    changed = sorted(((k, v) for k, v in rows.items() if any(v)), key=lambda item: item[0])
    if not changed:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [*keys, *values]
    fields = [model._meta.get_field(c) for c in columns]
    quoted = [connection.ops.quote_name(f.column) for f in fields]
    updates = ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted[len(keys) :])
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    conflict = ", ".join(quoted[: len(keys)])
    with connection.cursor() as cursor:
        for start in range(0, len(changed), ROWS_PER_STATEMENT):
            chunk = changed[start : start + ROWS_PER_STATEMENT]
            params: list[Any] = []
            for key, increments in chunk:
                row = (*key, *increments)
                params.extend(f.get_db_prep_value(v, connection) for f, v in zip(fields, row, strict=True))
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES {', '.join([row_sql] * len(chunk))} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
                params,
            )


class TicketStays:
    """One ticket's stays (dicts with the ledger's fields), in time order, with what the summaries need
    of the ticket: its service type, company and opening day."""

    def __init__(self, service_type_id: int, company_id: int, opened_day: dt.date, stays: list[dict[str, Any]]):
        self.service_type_id = service_type_id
        self.company_id = company_id
        self.opened_day = opened_day
        self.stays = stays


def stay_facts(deltas: Deltas, ticket: TicketStays, index: int, sign: int, tz: dt.tzinfo) -> None:
    """Add (sign 1) or take away (sign -1) what the ticket's stay at `index` contributes, as the ticket's
    stays are now: its entry and end by day; if it ended and is the ticket's latest in its phase, its
    time and the ticket's total time there by end day and bucket; if open, its hour of entry; if it is
    the ticket's first in its phase (or workflow), the ticket reached it."""
    stay = ticket.stays[index]
    wf, cr = stay["workflow_id"], stay["cr_id"]
    st, co = ticket.service_type_id, ticket.company_id
    earlier = ticket.stays[:index]
    later = ticket.stays[index + 1 :]
    deltas.add_phase((wf, ARRIVED, _local_day(stay["entered_at"], tz), cr, st, co, 0), sign)
    left = stay["left_at"]
    if left is not None:
        day = _local_day(left, tz)
        deltas.add_phase((wf, LEFT, day, cr, st, co, 0), sign)
        if not any(s["workflow_id"] == wf and s["cr_id"] == cr for s in later):
            spent = int(stay["seconds"] or 0)
            total = spent + int(stay["before_seconds"] or 0)
            deltas.add_phase((wf, LATEST, day, cr, st, co, duration_bucket(spent)), sign, spent)
            deltas.add_phase((wf, TOTAL, day, cr, st, co, duration_bucket(total)), sign, total)
    else:
        # By the hour it was entered, and by the hour the ticket's time in the phase began counting
        # (entered less the time it spent there before): its time there now, and its total there now.
        entered = _epoch(stay["entered_at"])
        started = entered - int(stay["before_seconds"] or 0)
        deltas.add_open((ENTERED, wf, cr, entered // HOUR, st, co), sign, entered)
        deltas.add_open((STARTED, wf, cr, started // HOUR, st, co), sign, started)
    if not any(s["workflow_id"] == wf and s["cr_id"] == cr for s in earlier):
        deltas.add_phase((wf, REACHED, ticket.opened_day, cr, st, co, 0), sign)
    if not any(s["workflow_id"] == wf for s in earlier):
        deltas.add_phase((wf, REACHED, ticket.opened_day, WORKFLOW, st, co, 0), sign)


def decision_facts(
    deltas: Deltas, ticket: TicketStays, decisions: Iterable[tuple[int, int, int]], sign: int = 1
) -> None:
    """The decisions (workflow, decision step, option) of the ticket's moves, by its opening day."""
    for wf, step_id, option_id in decisions:
        key = (wf, DECIDED, ticket.opened_day, step_id, ticket.service_type_id, ticket.company_id, option_id)
        deltas.add_phase(key, sign)


def before_in_phase(stays: Sequence[dict[str, Any]], workflow_id: int, cr_id: int) -> int:
    """The time a ticket spent in the phase in its stays `stays` (those that ended)."""
    return sum(
        int(s["seconds"] or 0)
        for s in stays
        if s["workflow_id"] == workflow_id and s["cr_id"] == cr_id and s["left_at"] is not None
    )


# ---- what an answer contributes ---------------------------------------------------------------------


def answer_facts(
    deltas: Deltas,
    answer: dict[str, Any],
    choices: Iterable[tuple[int, bool]],
    service_type_id: int,
    company_id: int,
    sign: int,
    tz: dt.tzinfo,
) -> None:
    """An answer given (not cleared): counted by day, question and who answered, with its number's bucket
    and value or its date's month; each option chosen, and whether with a complement."""
    if answer["is_empty"]:
        return
    day = _local_day(answer["answered_at"], tz)
    base = (answer["question_id"], day)
    dims = (service_type_id, company_id, answer["answered_by_id"])
    bucket, total = 0, Decimal(0)
    if answer["answer_type"] in NUMERIC_TYPES and answer["value_number"] is not None:
        total = Decimal(answer["value_number"])
        bucket = number_bucket(total)
    elif answer["answer_type"] == AnswerType.DATE and answer["value_date"] is not None:
        bucket = answer["value_date"].year * 100 + answer["value_date"].month
    row = deltas.answer[(*base, 0, bucket, *dims)]
    row[0] += sign
    row[2] += sign * total
    for option_id, with_complement in choices:
        row = deltas.answer[(*base, option_id, 0, *dims)]
        row[0] += sign
        row[1] += sign * int(with_complement)


ANSWER_FIELDS = ("id", "question_id", "answer_type", "value_number", "value_date", "is_empty", "answered_by_id")


def _answer_state(answers: Iterable[Any]) -> list[tuple[dict[str, Any], list[tuple[int, bool]]]]:
    """The answers (model instances, their choices prefetched when they have any) as answer_facts reads them."""
    state = []
    for a in answers:
        row = {name: getattr(a, name) for name in ANSWER_FIELDS}
        row["answered_at"] = a.answered_at
        chosen = [(c.option_id, bool(c.complement)) for c in a.choices.all()] if a.answer_type in CHOICE_TYPES else []
        state.append((row, chosen))
    return state


@contextmanager
def answers_changing(ticket: Any, question_ids: Sequence[int], current: dict[int, Any]) -> Iterator[None]:
    """Around the writes of an answer save (tickets.answering): the ticket's answers to `question_ids`
    as they are (`current`, by question, choices prefetched) are taken away from the summaries and, once
    the block has written, added back as they are then."""
    before = _answer_state(current.values())
    yield
    from ciclo.tickets.models import Answer

    tz = timezone.get_current_timezone()
    # The answers as written, each with its choices (one row per choice: a left join).
    found: dict[int, tuple[dict[str, Any], list[tuple[int, bool]]]] = {}
    for row in (
        Answer.objects.filter(ticket_id=ticket.pk, question_id__in=question_ids)
        .order_by()
        .values(*ANSWER_FIELDS, "answered_at", "choices__option_id", "choices__complement")
    ):
        option_id, complement = row.pop("choices__option_id"), row.pop("choices__complement")
        answer, chosen = found.setdefault(row["id"], (row, []))
        if option_id is not None and answer["answer_type"] in CHOICE_TYPES:
            chosen.append((option_id, bool(complement)))
    after = list(found.values())
    deltas = Deltas()
    for sign, state in ((-1, before), (1, after)):
        for row, options in state:
            answer_facts(deltas, row, options, ticket.service_type_id, ticket.company_id, sign, tz)
    deltas.write()


# ---- what a note contributes -------------------------------------------------------------------------


def note_facts(deltas: Deltas, day: dt.date, author_id: int, service_type_id: int, company_id: int, n: int = 1) -> None:
    deltas.notes[(day, author_id, service_type_id, company_id)][0] += n


def notes_written(notes: Sequence[Any], tickets: dict[int, tuple[int, int]] | None = None) -> None:
    """Count notes just written (saved Note instances): by their local day and author, with their tickets'
    service type and company (`tickets`: ticket id → both; read when not given)."""
    if not notes:
        return
    if tickets is None:
        from ciclo.tickets.models import Ticket

        ids = {n.ticket_id for n in notes}
        tickets = {
            pk: (st, co)
            for pk, st, co in Ticket.objects.filter(pk__in=ids)
            .order_by()
            .values_list("pk", "service_type_id", "company_id")
        }
    tz = timezone.get_current_timezone()
    deltas = Deltas()
    for note in notes:
        st, co = tickets[note.ticket_id]
        note_facts(deltas, _local_day(note.created_at, tz), note.author_id, st, co)
    deltas.write()


# ---- what a sales contact contributes -----------------------------------------------------------------

COHORT, OUTCOME, PIPELINE = 1, 2, 3  # SalesTally's kinds
PIPELINE_DAY = dt.date(1970, 1, 1)  # the pipeline is "now": one day holds it
OPEN, WON, LOST = "", "won", "lost"  # sales.Outcome's values


@dataclass(frozen=True)
class ContactState:
    """A sales contact as the summaries see it, with what they need of its ticket."""

    opened_day: dt.date
    service_type_id: int
    company_id: int
    ticket_open: bool
    user_id: int | None  # the ticket's next contact's
    outcome: str
    reason_id: int | None
    won_value: Decimal | None
    expected_value: Decimal | None
    success: int | None
    outcome_at: dt.datetime | None
    outcome_by_id: int | None
    workflows: frozenset[int]  # every workflow the ticket entered


def contact_facts(deltas: Deltas, c: ContactState, sign: int, tz: dt.tzinfo) -> None:
    """Add (sign 1) or take away (sign -1) what a sales contact contributes: to the tickets opened that
    day in each workflow it entered, by outcome (a win's value, a loss's expected value and reason); its
    outcome on the day it was recorded, by whom; its weighted value to its next contact's user's pipeline
    while it and its ticket are open."""
    dims = (c.service_type_id, c.company_id)
    value = c.won_value if c.outcome == WON else c.expected_value if c.outcome == LOST else None
    reason = (c.reason_id or 0) if c.outcome == LOST else 0
    for workflow_id in c.workflows:
        row = deltas.sales[(COHORT, c.opened_day, workflow_id, *dims, 0, c.outcome, reason)]
        row[0] += sign
        row[1] += sign * Decimal(value or 0)
    if c.outcome in (WON, LOST) and c.outcome_at is not None:
        row = deltas.sales[(OUTCOME, _local_day(c.outcome_at, tz), 0, *dims, c.outcome_by_id or 0, c.outcome, 0)]
        row[0] += sign
    if c.outcome == OPEN and c.ticket_open and c.user_id is not None:
        row = deltas.sales[(PIPELINE, PIPELINE_DAY, 0, *dims, c.user_id, OPEN, 0)]
        row[0] += sign
        if c.expected_value is not None and c.success is not None:
            row[1] += sign * Decimal(c.expected_value) * c.success


CONTACT_FIELDS = (
    "ticket_id",
    "ticket__opened_at",
    "ticket__service_type_id",
    "ticket__company_id",
    "ticket__status",
    "ticket__next_contact_user_id",
    "outcome",
    "lost_reason_id",
    "won_value",
    "expected_value",
    "success",
    "outcome_at",
    "outcome_by_id",
)


def _contact_states(registry: Any, ticket_ids: Iterable[int] | None, chunk: int = 2000) -> Iterator[ContactState]:
    """The sales contacts of `ticket_ids` (all of them: None) as they are in the database, with the
    workflows their tickets entered (the ledger's)."""
    contact_model = registry.get_model("sales", "SalesContact")
    stay_model = registry.get_model("insight", "PhaseStay")
    tz = timezone.get_current_timezone()
    contacts = contact_model.objects.order_by("ticket_id").values_list(*CONTACT_FIELDS)
    rows: Iterable[tuple[Any, ...]]
    if ticket_ids is not None:
        rows = list(contacts.filter(ticket_id__in=ticket_ids))
        if not rows:
            return
        stays = stay_model.objects.filter(ticket_id__in=ticket_ids)
    else:
        rows = contacts.iterator(chunk_size=chunk)
        stays = stay_model.objects.filter(ticket__sales__isnull=False)  # the tickets that are sales contacts
    workflows: dict[int, set[int]] = defaultdict(set)
    for ticket_id, workflow_id in (
        stays.order_by().values_list("ticket_id", "workflow_id").distinct().iterator(chunk_size=chunk)
    ):
        workflows[ticket_id].add(workflow_id)
    for row in rows:
        (ticket_id, opened, st, co, status, user_id, outcome, reason_id, won, expected, success, at, by_id) = row
        yield ContactState(
            _local_day(opened, tz),
            st,
            co,
            status == "open",
            user_id,
            outcome,
            reason_id,
            won,
            expected,
            success,
            at,
            by_id,
            frozenset(workflows.get(ticket_id, ())),
        )


_tracked: ContextVar[frozenset[int]] = ContextVar("ciclo_contacts_tracked", default=frozenset())


@contextmanager
def contact_changing(ticket_id: int) -> Iterator[None]:
    """Around a change that may touch a ticket's sales contact or what the summaries read of its ticket
    (its status, its next contact's user, the workflows it entered), inside the change's transaction:
    what the contact contributed is taken away and, once the block has written, added back as it is
    then. A ticket without a sales contact costs one query. Nested blocks for the same ticket count once."""
    if ticket_id in _tracked.get():
        yield
        return
    before = list(_contact_states(global_apps, [ticket_id]))
    token = _tracked.set(_tracked.get() | {ticket_id})
    try:
        yield
    finally:
        _tracked.reset(token)
    if not before:  # not a sales contact (a ticket does not become one after its opening)
        return
    tz = timezone.get_current_timezone()
    deltas = Deltas()
    for state in before:
        contact_facts(deltas, state, -1, tz)
    for state in _contact_states(global_apps, [ticket_id]):
        contact_facts(deltas, state, 1, tz)
    deltas.write()


def contacts_opened(tickets: Sequence[Any], contacts: Sequence[Any]) -> None:
    """The sales contacts of tickets just opened (tickets.opening, sales.phases.start_sales_contacts):
    what they contribute, from the objects just saved (each ticket is in its first workflow)."""
    if not contacts:
        return
    tz = timezone.get_current_timezone()
    by_ticket = {t.pk: t for t in tickets}
    deltas = Deltas()
    for c in contacts:
        t = by_ticket[c.ticket_id]
        state = ContactState(
            _local_day(t.opened_at, tz),
            t.service_type_id,
            t.company_id,
            t.status == "open",
            t.next_contact_user_id,
            c.outcome,
            c.lost_reason_id,
            c.won_value,
            c.expected_value,
            c.success,
            c.outcome_at,
            c.outcome_by_id,
            frozenset([t.workflow_id]),
        )
        contact_facts(deltas, state, 1, tz)
    deltas.write()


# ---- the recount ------------------------------------------------------------------------------------

STAY_FIELDS = (
    "ticket_id",
    "workflow_id",
    "cr_id",
    "entered_at",
    "left_at",
    "seconds",
    "before_seconds",
)


def recount(*, apps: Any = None, chunk: int = 20000) -> Deltas:
    """Every summary row, counted from the raw rows (the ledger, the moves' decisions, the answers)."""
    registry = apps or global_apps
    stay_model = registry.get_model("insight", "PhaseStay")
    decision_model = registry.get_model("tickets", "MoveDecision")
    answer_model = registry.get_model("tickets", "Answer")
    choice_model = registry.get_model("tickets", "AnswerChoice")
    tz = timezone.get_current_timezone()
    deltas = Deltas()

    rows = (
        stay_model.objects.order_by("ticket_id", "entered_at", "id")
        .values_list(*STAY_FIELDS, "ticket__service_type_id", "ticket__company_id", "ticket__opened_at")
        .iterator(chunk_size=chunk)
    )
    current: TicketStays | None = None
    current_id = None

    def flush(t: TicketStays | None) -> None:
        if t is not None:
            for i in range(len(t.stays)):
                stay_facts(deltas, t, i, 1, tz)

    for row in rows:
        ticket_id = row[0]
        if ticket_id != current_id:
            flush(current)
            current_id = ticket_id
            current = TicketStays(row[7], row[8], _local_day(row[9], tz), [])
        assert current is not None
        current.stays.append(dict(zip(STAY_FIELDS, row[:7], strict=True)))
    flush(current)

    decided = (
        decision_model.objects.order_by()
        .values_list(
            "step__workflow_id",
            "step_id",
            "option_id",
            "move__ticket__service_type_id",
            "move__ticket__company_id",
            "move__ticket__opened_at",
        )
        .iterator(chunk_size=chunk)
    )
    for wf, step_id, option_id, st, co, opened in decided:
        decision_facts(deltas, TicketStays(st, co, _local_day(opened, tz), []), [(wf, step_id, option_id)])

    chosen: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for answer_id, option_id, complement in (
        choice_model.objects.filter(answer__is_empty=False)
        .order_by()
        .values_list("answer_id", "option_id", "complement")
        .iterator(chunk_size=chunk)
    ):
        chosen[answer_id].append((option_id, bool(complement)))
    for values in (
        answer_model.objects.filter(is_empty=False)
        .order_by()
        .values(*ANSWER_FIELDS, "answered_at", "ticket__service_type_id", "ticket__company_id")
        .iterator(chunk_size=chunk)
    ):
        st, co = values.pop("ticket__service_type_id"), values.pop("ticket__company_id")
        answer_facts(deltas, values, chosen.get(values["id"], []), st, co, 1, tz)

    if _tally(registry, "SalesTally") is None:  # an earlier migration's registry: the first three only
        return deltas
    # The notes, counted per local day by the database (TruncDate in the current time zone).
    note_model = registry.get_model("tickets", "Note")
    for day, author_id, st, co, n in (
        note_model.objects.annotate(day=TruncDate("created_at"))
        .values_list("day", "author_id", "ticket__service_type_id", "ticket__company_id")
        .annotate(n=Count("*"))
        .values_list("day", "author_id", "ticket__service_type_id", "ticket__company_id", "n")
        .order_by()
    ):
        note_facts(deltas, day, author_id, st, co, n)

    for state in _contact_states(registry, None, chunk=chunk):
        contact_facts(deltas, state, 1, tz)
    return deltas


def rebuild(*, apps: Any = None) -> int:
    """Write every summary again from the raw rows, in one transaction; returns the rows written."""
    registry = apps or global_apps
    deltas = recount(apps=registry)
    with transaction.atomic():
        for name in TABLES:
            if (model := _tally(registry, name)) is not None:
                model.objects.all().delete()
        deltas.write(registry)
    every: list[dict[Any, list[Any]]] = [deltas.phase, deltas.open, deltas.answer, deltas.notes, deltas.sales]
    return sum(1 for rows in every for v in rows.values() if any(v))


def stored(*, apps: Any = None) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """The summaries as they are in the database, zero rows left out (what a recount is compared with)."""
    registry = apps or global_apps
    found: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}
    for name, (_rows, keys, values) in TABLES.items():
        model = registry.get_model("insight", name)
        found[name] = {
            tuple(r[: len(keys)]): tuple(r[len(keys) :])
            for r in model.objects.values_list(*keys, *values)
            if any(r[len(keys) :])
        }
    return found


def counted(deltas: Deltas) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    """A recount's rows in the shape stored() gives."""
    return {
        name: {k: tuple(v) for k, v in getattr(deltas, rows).items() if any(v)}
        for name, (rows, _k, _v) in TABLES.items()
    }

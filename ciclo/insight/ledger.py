"""The phase ledger's one writer: the engine calls record_move with each move, in the move's transaction;
rebuild() writes the same rows again from the moves' history (the backfill, and a repair)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import transaction
from django.utils import timezone

from ciclo.insight import summaries
from ciclo.sales.businessdays import BusinessCalendar, business_days_between

BATCH = 5000


def _spent(entered: dt.datetime, left: dt.datetime, business_days: int) -> dict[str, Any]:
    return {"seconds": max(0, int((left - entered).total_seconds())), "business_days": business_days}


def _local_day(moment: dt.datetime, tz: dt.tzinfo | None = None) -> dt.date:
    """The day of `moment` where Ciclo is (the current time zone, read once by a caller that loops)."""
    if timezone.is_naive(moment):
        return moment.date()
    return moment.astimezone(tz or timezone.get_current_timezone()).date()


def record_move(ticket: Any, move: Any) -> None:
    """End the ticket's stay in the phase it leaves and start the stay the move enters; the summaries
    follow (ciclo.insight.summaries: what the ticket's stays contributed before and after the move).

    Called by the engine (tickets.routing.apply_route) right after it writes the PhaseMove (and the
    decisions taken on its route), inside the transaction that holds the ticket's row: the partial unique
    constraint keeps one open stay per ticket.
    """
    from ciclo.insight.models import PhaseStay

    tz = timezone.get_current_timezone()
    rows = list(
        PhaseStay.objects.filter(ticket_id=ticket.pk).order_by("entered_at", "id").values("id", *summaries.STAY_FIELDS)
    )
    before = summaries.TicketStays(
        ticket.service_type_id, ticket.company_id, _local_day(ticket.opened_at, tz), [dict(r) for r in rows]
    )
    current = next((r for r in rows if r["left_at"] is None), None)
    if current is not None:
        days = business_days_between(_local_day(current["entered_at"], tz), _local_day(move.at, tz), ticket.company_id)
        current.update(left_at=move.at, left_by_id=move.by_id, **_spent(current["entered_at"], move.at, days))
        PhaseStay.objects.filter(pk=current["id"]).update(
            left_at=move.at, left_by_id=move.by_id, seconds=current["seconds"], business_days=days
        )
    entering = _entering(move)
    entering.before_seconds = summaries.before_in_phase(rows, entering.workflow_id, entering.cr_id)
    entering.save(force_insert=True)
    rows.append({"id": entering.pk, **{name: getattr(entering, name) for name in summaries.STAY_FIELDS}})
    after = summaries.TicketStays(before.service_type_id, before.company_id, before.opened_day, rows)

    deltas = summaries.Deltas()
    for sign, state in ((-1, before), (1, after)):
        for i in range(len(state.stays)):
            summaries.stay_facts(deltas, state, i, sign, tz)
    summaries.decision_facts(deltas, after, _decisions([move]).get(move.pk, []))
    deltas.write()


def record_openings(moves: Sequence[Any]) -> None:
    """The first stays of tickets opened together (tickets.opening.open_tickets), one per opening move:
    a ticket just opened has no stay to end. Called in the openings' transaction, after the moves and
    their decisions are written; the summaries follow."""
    from ciclo.insight.models import PhaseStay
    from ciclo.tickets.models import Ticket

    if not moves:
        return
    stays = [_entering(move) for move in moves]
    PhaseStay.objects.bulk_create(stays, batch_size=BATCH)
    tz = timezone.get_current_timezone()
    tickets = {
        pk: (st, co, _local_day(opened, tz))
        for pk, st, co, opened in Ticket.objects.filter(pk__in=[m.ticket_id for m in moves])
        .order_by()
        .values_list("pk", "service_type_id", "company_id", "opened_at")
    }
    decided = _decisions(moves)
    deltas = summaries.Deltas()
    for move, stay in zip(moves, stays, strict=True):
        st, co, opened_day = tickets[move.ticket_id]
        state = summaries.TicketStays(st, co, opened_day, [{n: getattr(stay, n) for n in summaries.STAY_FIELDS}])
        summaries.stay_facts(deltas, state, 0, 1, tz)
        summaries.decision_facts(deltas, state, decided.get(move.pk, []))
    deltas.write()


def _decisions(moves: Sequence[Any]) -> dict[int, list[tuple[int, int, int]]]:
    """The decisions taken on these moves' routes: (workflow, decision step, option) by move; read only
    for moves whose route (its hops) passed a decision."""
    from ciclo.configurator.models import WorkflowStep
    from ciclo.tickets.models import MoveDecision

    found: dict[int, list[tuple[int, int, int]]] = {}
    decided = [m.pk for m in moves if any(h.get("kind") == WorkflowStep.Kind.DECISION for h in m.route or [])]
    if not decided:
        return found
    for move_id, wf, step_id, option_id in (
        MoveDecision.objects.filter(move_id__in=decided)
        .order_by()
        .values_list("move_id", "step__workflow_id", "step_id", "option_id")
    ):
        found.setdefault(move_id, []).append((wf, step_id, option_id))
    return found


def _entering(move: Any) -> Any:
    """The stay `move` starts (unsaved)."""
    from ciclo.insight.models import PhaseStay

    return PhaseStay(
        ticket_id=move.ticket_id,
        cr_id=move.to_cr_id,
        workflow_id=move.to_step.workflow_id,
        step_id=move.to_step_id,
        move=move,
        entered_at=move.at,
        entered_by_id=move.by_id,
    )


def _stays(rows: Iterable[tuple[Any, ...]], calendar: BusinessCalendar) -> Iterator[dict[str, Any]]:
    """The stays the moves make: rows are (move id, ticket id, company id, to CR, to step, workflow, by, at),
    ordered by ticket then time; each move ends the ticket's previous stay and starts one."""
    previous: dict[str, Any] | None = None
    spent: dict[tuple[int, int], int] = {}  # the ticket's time so far per workflow and phase
    tz = timezone.get_current_timezone()
    for move_id, ticket_id, company_id, cr_id, step_id, workflow_id, by_id, at in rows:
        if previous is not None:
            if previous["ticket_id"] == ticket_id:
                days = calendar.business_days_between(
                    _local_day(previous["entered_at"], tz), _local_day(at, tz), previous.pop("company_id")
                )
                previous.update(left_at=at, left_by_id=by_id, **_spent(previous["entered_at"], at, days))
                key = (previous["workflow_id"], previous["cr_id"])
                spent[key] = spent.get(key, 0) + previous["seconds"]
            else:
                previous.pop("company_id")
                spent = {}
            yield previous
        previous = {
            "ticket_id": ticket_id,
            "company_id": company_id,
            "cr_id": cr_id,
            "step_id": step_id,
            "workflow_id": workflow_id,
            "move_id": move_id,
            "entered_at": at,
            "entered_by_id": by_id,
            "before_seconds": spent.get((workflow_id, cr_id), 0),
        }
    if previous is not None:
        previous.pop("company_id")
        yield previous


def rebuild(
    *, apps: Any = None, progress: Callable[[int, int], None] | None = None, with_summaries: bool = True
) -> int:
    """Write the whole ledger again from the moves (PhaseMove), and the summaries from it (unless
    `with_summaries` is false: an early migration, whose summaries are not yet as they are now), in one
    transaction; returns the stays written.

    `apps` is a migration's app registry (the backfill); `progress(done, total)` is told as moves are read.
    """
    registry = apps or global_apps
    stay_model = registry.get_model("insight", "PhaseStay")
    move_model = registry.get_model("tickets", "PhaseMove")
    day_off = registry.get_model("sales", "DayOff")
    calendar = BusinessCalendar(day_off.objects.values_list("date", "company_id"))
    total = move_model.objects.count()
    rows = (
        move_model.objects.order_by("ticket_id", "at", "id")
        .values_list(
            "id", "ticket_id", "ticket__company_id", "to_cr_id", "to_step_id", "to_step__workflow_id", "by_id", "at"
        )
        .iterator(chunk_size=BATCH)
    )
    written = 0
    with transaction.atomic():
        stay_model.objects.all().delete()
        batch: list[Any] = []
        for done, stay in enumerate(_stays(rows, calendar), start=1):
            batch.append(stay_model(**stay))
            if len(batch) >= BATCH:
                stay_model.objects.bulk_create(batch)
                written += len(batch)
                batch = []
                if progress is not None:
                    progress(done, total)
        stay_model.objects.bulk_create(batch)
        written += len(batch)
        if with_summaries:
            summaries.rebuild(apps=registry)
    if progress is not None:
        progress(total, total)
    return written

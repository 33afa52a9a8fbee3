"""The phase ledger's one writer: the engine calls record_move with each move, in the move's transaction;
rebuild() writes the same rows again from the moves' history (the backfill, and a repair)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.apps import apps as global_apps
from django.db import transaction
from django.utils import timezone

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
    """End the ticket's stay in the phase it leaves and start the stay the move enters.

    Called by the engine (tickets.routing.apply_route) right after it writes the PhaseMove, inside the
    transaction that holds the ticket's row: the partial unique constraint keeps one open stay per ticket.
    """
    from ciclo.insight.models import PhaseStay

    current = PhaseStay.objects.filter(ticket_id=ticket.pk, left_at__isnull=True).first()
    if current is not None:
        days = business_days_between(_local_day(current.entered_at), _local_day(move.at), ticket.company_id)
        current.left_at = move.at
        current.left_by_id = move.by_id
        for name, value in _spent(current.entered_at, move.at, days).items():
            setattr(current, name, value)
        current.save(update_fields=["left_at", "left_by", "seconds", "business_days"])
    _entering(move).save(force_insert=True)


def record_openings(moves: Sequence[Any]) -> None:
    """The first stays of tickets opened together (tickets.opening.open_tickets), one per opening move:
    a ticket just opened has no stay to end. Called in the openings' transaction."""
    from ciclo.insight.models import PhaseStay

    PhaseStay.objects.bulk_create([_entering(move) for move in moves], batch_size=BATCH)


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
    tz = timezone.get_current_timezone()
    for move_id, ticket_id, company_id, cr_id, step_id, workflow_id, by_id, at in rows:
        if previous is not None:
            if previous["ticket_id"] == ticket_id:
                days = calendar.business_days_between(
                    _local_day(previous["entered_at"], tz), _local_day(at, tz), previous.pop("company_id")
                )
                previous.update(left_at=at, left_by_id=by_id, **_spent(previous["entered_at"], at, days))
            else:
                previous.pop("company_id")
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
        }
    if previous is not None:
        previous.pop("company_id")
        yield previous


def rebuild(*, apps: Any = None, progress: Callable[[int, int], None] | None = None) -> int:
    """Write the whole ledger again from the moves (PhaseMove), in one transaction; returns the stays written.

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
    if progress is not None:
        progress(total, total)
    return written

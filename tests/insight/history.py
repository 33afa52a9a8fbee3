"""A small hand-built history for the insight tests: tickets opened and moved at given times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import move_to_step, record_note
from tests.factory import SalesSetup, make_ticket

TZ = dt.timezone(dt.timedelta(hours=-3))  # São Paulo, no daylight saving


def at(day: int, hour: int = 9, month: int = 3, year: int = 2026) -> dt.datetime:
    """A moment in March 2026 by default (São Paulo time): 2 March 2026 is a Monday."""
    return dt.datetime(year, month, day, hour, 0, tzinfo=TZ)


def open_at(setup: SalesSetup, by: Any, when: dt.datetime, **kw: Any) -> Ticket:
    kw.setdefault("next_contact_at", when + dt.timedelta(days=2))
    return make_ticket(setup, by, at=when, **kw)


def move_on(ticket: Ticket, by: Any, when: dt.datetime, choices: dict[int, int] | None = None, **kw: Any) -> None:
    """A note that moves on (past the required questions: `by` is a supervisor)."""
    record_note(
        ticket,
        by=by,
        text="Seguindo",
        move_on=True,
        choices=choices,
        override_reason="Teste",
        at=when,
        next_contact_at=when + dt.timedelta(days=3),
        **kw,
    )


def jump(ticket: Ticket, by: Any, step: Any, when: dt.datetime, **kw: Any) -> None:
    move_to_step(ticket, step, by=by, reason="Ajuste", at=when, **kw)

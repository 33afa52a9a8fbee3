"""The follow-up tests' world: the tests' sales workflow as a sales type, its phases with a default success
and days to go stale, and a factory of sales contacts with their next contact, success and value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ciclo.accounts.roles import ensure_role_groups
from ciclo.sales.models import SalesContact
from ciclo.tickets.models import Ticket
from tests.factory import SalesSetup, make_ticket

SP = ZoneInfo("America/Sao_Paulo")
# Wednesday 25 November 2026, 10:00 in São Paulo; Friday 20 was a national holiday (Consciência Negra).
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SP)


@pytest.fixture(autouse=True)
def _role_groups(db):
    ensure_role_groups()


@pytest.fixture
def world(sales: SalesSetup) -> SalesSetup:
    return as_sales_world(sales)


def as_sales_world(sales: SalesSetup) -> SalesSetup:
    """The tests' sales setup with its group marked as a sales type and days to go stale on two phases."""
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    sales.cr_prospect.stale_after_days = 3
    sales.cr_prospect.save(update_fields=["stale_after_days"])
    sales.cr_proposal.stale_after_days = 5
    sales.cr_proposal.save(update_fields=["stale_after_days"])
    return sales


def at(day: int, hour: int = 9, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SP)


def make_contact(
    setup: SalesSetup,
    by: Any,
    *,
    success: int | None = None,
    value: str | None = None,
    entered: dt.datetime | None = None,
    no_next_contact: bool = False,
    **kw: Any,
) -> Ticket:
    """A sales contact (a ticket of the sales type with its SalesContact row), its next contact with `by`."""
    kw.setdefault("next_contact_user", by)
    kw.setdefault("next_contact_at", NOW)
    ticket = make_ticket(setup, by, **kw)
    SalesContact.objects.update_or_create(
        ticket=ticket,
        defaults={
            "contact_date": ticket.opened_at.date(),
            "success": success,
            "expected_value": Decimal(value) if value is not None else None,
        },
    )
    if no_next_contact:
        Ticket.objects.filter(pk=ticket.pk).update(next_contact_user=None)
        ticket.next_contact_user = None
    if entered is not None:
        Ticket.objects.filter(pk=ticket.pk).update(phase_entered_at=entered)
        ticket.phase_entered_at = entered
    return ticket

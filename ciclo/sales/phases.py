"""What the ticket engine does to a sales contact as its ticket opens and moves.

The engine (tickets.opening, tickets.routing) calls these inside its own transaction, with the
ticket's row locked: a sales ticket gets its SalesContact when opened; each move brings the
phase's default success (unless it was set by hand); the move that closes it records its
outcome, which it must have; a move that opens a closed one again clears the outcome (kept in
the history row). ciclo.sales.contacts holds the changes people make to a contact directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.configurator.models import AnswerType, ResponsibilityCenter
from ciclo.history.models import Change, record_change, record_creations, snapshot
from ciclo.rows import insert
from ciclo.sales.models import LostReason, Outcome, SalesContact
from ciclo.tickets.errors import InvalidInput
from ciclo.tickets.models import Ticket
from ciclo.tickets.values import NumberRefused, number_message, parse_decimal

MONEY_LIMIT = Decimal("1000000000000")  # 12 integer digits: what a Decimal(14, 2) column holds


@dataclass
class OutcomeInput:
    """How a sales contact ends: won with its value, or lost with a reason (and a text)."""

    outcome: str
    won_value: Any = None  # a Decimal, a number, or text as people type it ("1.234,56")
    lost_reason: LostReason | int | str | None = None  # the reason or its id
    text: str = ""


def clean_money(raw: Any, field: str) -> Decimal | None:
    """An amount in reais as Ciclo reads numbers everywhere (tickets.values.parse_decimal), two decimals,
    not negative; blank is None. Raises InvalidInput naming `field`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = parse_decimal(raw)
    except NumberRefused as refused:
        raise InvalidInput({field: [number_message(refused, AnswerType.MONEY)]}) from None
    if value < 0:
        raise InvalidInput({field: [_("The amount cannot be negative.")]})
    value = value.quantize(Decimal("0.01"))
    if value >= MONEY_LIMIT:
        raise InvalidInput({field: [_("The amount is too large: at most 12 digits before the decimals.")]})
    return value


def clean_outcome(outcome: OutcomeInput, *, keep_reason: int | None = None) -> dict[str, Any]:
    """The outcome's fields as a SalesContact stores them, or InvalidInput naming each bad field.

    A lost reason must be active (`keep_reason`: the one already recorded, which may have been
    deactivated since).
    """
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"won_value": None, "lost_reason": None}
    text = (outcome.text or "").strip() if isinstance(outcome.text, str) else ""
    if outcome.outcome not in (Outcome.WON, Outcome.LOST):
        raise InvalidInput({"outcome": [_("Say how the sale ended: won or lost.")]})
    if outcome.outcome == Outcome.WON:
        try:
            values["won_value"] = clean_money(outcome.won_value, "won_value")
        except InvalidInput as bad:
            errors.update(bad.errors)
        else:
            if values["won_value"] is None:
                errors["won_value"] = [_("Give the value of the sale won.")]
    else:
        reason = _lost_reason(outcome.lost_reason)
        if reason is None:
            errors["lost_reason"] = [_("Choose why the sale was lost.")]
        elif not reason.active and reason.pk != keep_reason:
            errors["lost_reason"] = [_("The lost reason “%(reason)s” is no longer in use.") % {"reason": reason}]
        else:
            values["lost_reason"] = reason
    if len(text) > 20000:
        errors["outcome_text"] = [_("The outcome note has at most 20,000 characters.")]
    if errors:
        raise InvalidInput(errors)
    return {"outcome": outcome.outcome, "outcome_text": text, **values}


def _lost_reason(raw: Any) -> LostReason | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, LostReason):
        return raw
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        return None
    return LostReason.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None


def start_sales_contacts(tickets: Sequence[Ticket], *, by: Any, at: dt.datetime) -> list[SalesContact]:
    """The sales contacts of tickets just opened (saved, of one service type), when their type is a sales
    type: each one's contact date is the opening day, its success its first phase's default."""
    if not tickets or not tickets[0].service_type.is_sales_type():
        return []
    day = timezone.localdate(at)
    contacts = insert([SalesContact(ticket=t, contact_date=day, success=t.cr.default_success) for t in tickets])
    record_creations(contacts, by=by)
    return contacts


def enter_phase(
    ticket: Ticket,
    cr: ResponsibilityCenter,
    *,
    by: Any,
    at: dt.datetime,
    outcome: OutcomeInput | None,
    reason: str = "",
) -> None:
    """The ticket (locked, still as it was before the move) enters the phase `cr`: its time in phase
    starts again and, for a sales ticket, what the phase means for its contact. Raises InvalidInput
    (field "outcome") for a sales ticket closed without an outcome, or an outcome given to a move that
    does not close a sales ticket."""
    ticket.phase_entered_at = at
    contact = SalesContact.objects.select_for_update().filter(ticket_id=ticket.pk).first() if ticket.pk else None
    if contact is None:
        if outcome is not None:
            raise InvalidInput({"outcome": [_("Only a sales ticket records an outcome.")]})
        return
    closes = cr.closes_process
    was_closed = ticket.status == Ticket.Status.CLOSED
    before = snapshot(contact)
    extra: dict[str, list[Any]] = {}
    if closes and not was_closed:
        if outcome is None:
            raise InvalidInput({"outcome": [_("This closes a sales contact: say whether the sale was won or lost.")]})
        _set_outcome(contact, clean_outcome(outcome), by=by, at=at)
    elif closes and outcome is not None:
        _set_outcome(contact, clean_outcome(outcome, keep_reason=contact.lost_reason_id), by=by, at=at)
    elif outcome is not None:
        raise InvalidInput({"outcome": [_("Only a move that closes the ticket records an outcome.")]})
    elif was_closed and not contact.is_open:
        clear_outcome(contact)
        if reason:
            extra["reopened_because"] = ["", reason]
    if not contact.success_by_hand and cr.default_success is not None:
        contact.success = cr.default_success
    if snapshot(contact) != before:
        contact.version += 1
        contact.save()
        record_change(contact, by=by, action=Change.Action.CHANGED, before=before, extra=extra)


def _set_outcome(contact: SalesContact, values: dict[str, Any], *, by: Any, at: dt.datetime) -> None:
    for name, value in values.items():
        setattr(contact, name, value)
    contact.outcome_at = at
    contact.outcome_by = by


def clear_outcome(contact: SalesContact) -> None:
    """Open again: no outcome (what it was stays in the contact's history)."""
    contact.outcome = Outcome.OPEN
    contact.won_value = None
    contact.lost_reason = None
    contact.outcome_text = ""
    contact.outcome_at = None
    contact.outcome_by = None

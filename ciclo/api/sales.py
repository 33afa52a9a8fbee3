"""/tickets/{id}/sales: a sales ticket's contact (its fields and success %), its outcome, reopening;
/sales/environments and /sales/lost-reasons: the lists a contact chooses from.

Closing a sales ticket is a note: POST /tickets/{id}/notes with `outcome`. Every write calls
ciclo.sales.contacts (the one home of these rules); this module reads input and renders.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import Field

from ciclo.api.auth import user_of
from ciclo.api.errors import invalid, not_found
from ciclo.api.schemas import READ, READ_BY_ID, WRITE, In, MoneyIn, Out, OutcomeIn, responses
from ciclo.configurator.models import WorkflowStep
from ciclo.fields import BodyId, BodyInt, Day, Id, Percent, StepOrder, bounded
from ciclo.sales.businessdays import business_days_since
from ciclo.sales.contacts import (
    OutcomeInput,
    change_outcome,
    reopen_sales_contact,
    update_sales_fields,
)
from ciclo.sales.models import Environment, LostReason, Outcome, SalesContact
from ciclo.tickets.access import ticket_for
from ciclo.tickets.models import Ticket

router = Router()

OutcomeName = Literal["open", "won", "lost"]


class EntryOut(Out):
    id: int
    name: str


class ListEntryOut(EntryOut):
    position: int


class PersonRefOut(Out):
    id: int
    name: str


class SalesOut(Out):
    ticket: int = Field(description="The ticket's id.")
    version: int = Field(description="The contact's version: give it back to PATCH to refuse a stale change.")
    contact_date: dt.date
    channel: str = Field(description="The ticket's channel.")
    referral: PersonRefOut | None = Field(description="Who referred the contact (pessoa de indicação).")
    environment: EntryOut | None = Field(description="The prospect's environment (ambiente).")
    success: int | None = Field(description="The chance of closing, in %.")
    success_by_hand: bool = Field(description="Set by hand; false: it follows the phase's default.")
    phase_default_success: int | None = Field(description="The current phase's default success.")
    expected_value: str | None = Field(description="In reais, two decimals, as text.")
    weighted_value: str | None = Field(description="The expected value × the success %.")
    expected_close: dt.date | None
    phase_entered_at: dt.datetime
    days_in_phase: int = Field(description="Business days in the current phase (national holidays and days off).")
    stale: bool = Field(description="In its phase longer than the phase's days to go stale.")
    outcome: OutcomeName
    won_value: str | None
    lost_reason: EntryOut | None
    outcome_text: str
    outcome_at: dt.datetime | None
    outcome_by: str | None = Field(description="A username.")


class SalesPatch(In):
    contact_date: Day = Field(default=None, description="The day of the contact.")  # type: ignore[assignment]
    referral: BodyId | None = Field(default=None, description="A person's id; null: none.")
    environment: BodyId | None = Field(default=None, description="An active environment's id; null: none.")
    expected_value: MoneyIn | None = Field(default=None, description="Null: none.")
    expected_close: Day | None = None
    success: Percent | None = Field(
        default=None, description="0 to 100, set by hand; null: follow the phase's default again."
    )
    version: BodyInt | None = Field(default=None, description="The contact's version when read: 409 if it changed.")


class OutcomeChangeIn(OutcomeIn):
    version: BodyInt | None = Field(default=None, description="The contact's version when read: 409 if it changed.")


class ReopenIn(In):
    reason: bounded(2000, 1)  # type: ignore[valid-type]
    step: StepOrder | None = Field(
        default=None, description="The order of the step to reopen at; omitted: the phase it was closed from."
    )


def outcome_input(payload: OutcomeIn | None) -> OutcomeInput | None:
    """The engine's outcome from a request's (the note and move endpoints take one too)."""
    if payload is None:
        return None
    return OutcomeInput(
        outcome=payload.outcome, won_value=payload.won_value, lost_reason=payload.lost_reason, text=payload.text
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def sales_out(contact: SalesContact, ticket: Ticket) -> dict[str, Any]:
    cr = ticket.cr
    days = business_days_since(ticket.phase_entered_at, ticket.company_id)
    return {
        "ticket": ticket.pk,
        "version": contact.version,
        "contact_date": contact.contact_date,
        "channel": ticket.channel,
        "referral": {"id": contact.referral.pk, "name": contact.referral.name} if contact.referral else None,
        "environment": {"id": contact.environment.pk, "name": contact.environment.name}
        if contact.environment
        else None,
        "success": contact.success,
        "success_by_hand": contact.success_by_hand,
        "phase_default_success": cr.default_success,
        "expected_value": _money(contact.expected_value),
        "weighted_value": _money(contact.weighted_value),
        "expected_close": contact.expected_close,
        "phase_entered_at": timezone.localtime(ticket.phase_entered_at),
        "days_in_phase": days,
        "stale": bool(not ticket.is_closed and cr.stale_after_days is not None and days > cr.stale_after_days),
        "outcome": contact.outcome or "open",
        "won_value": _money(contact.won_value),
        "lost_reason": {"id": contact.lost_reason.pk, "name": contact.lost_reason.name}
        if contact.lost_reason
        else None,
        "outcome_text": contact.outcome_text,
        "outcome_at": timezone.localtime(contact.outcome_at) if contact.outcome_at else None,
        "outcome_by": contact.outcome_by.get_username() if contact.outcome_by else None,
    }


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    return ticket_for(user_of(request), pk, Ticket.objects.select_related("cr"))


def _contact(ticket: Ticket) -> SalesContact:
    contact = (
        SalesContact.objects.select_related("referral", "environment", "lost_reason", "outcome_by")
        .filter(ticket_id=ticket.pk)
        .first()
    )
    if contact is None:
        raise not_found(_("This ticket is not a sales contact: its type is not a sales type."))
    return contact


def _fresh(request: HttpRequest, pk: int) -> dict[str, Any]:
    ticket = _ticket(request, pk)
    return sales_out(_contact(ticket), ticket)


@router.get("/tickets/{id}/sales", response=responses({200: SalesOut}, READ_BY_ID), summary="A ticket's sales contact")
def get_sales(request: HttpRequest, id: Id) -> dict[str, Any]:
    """404 when the ticket is not one the user sees, or not of a sales type."""
    return _fresh(request, id)


@router.patch("/tickets/{id}/sales", response=responses({200: SalesOut}, WRITE), summary="Change a sales contact")
def patch_sales(request: HttpRequest, id: Id, payload: SalesPatch) -> dict[str, Any]:
    """Only the fields given change. `success` set by hand stays as the ticket moves; null lets it follow
    the phase again. Whoever may work the ticket may change it (403 otherwise); a closed contact is 422
    (a supervisor reopens it first)."""
    ticket = _ticket(request, id)
    _contact(ticket)
    fields = payload.dict(exclude_unset=True)
    version = fields.pop("version", None)
    if "contact_date" in fields and fields["contact_date"] is None:
        raise invalid({"contact_date": [_("Give the contact date.")]})
    update_sales_fields(ticket, by=user_of(request), version=version, **fields)
    return _fresh(request, id)


@router.post(
    "/tickets/{id}/sales/outcome",
    response=responses({200: SalesOut}, WRITE),
    summary="Correct a closed sales contact's outcome (supervisor)",
)
def post_outcome(request: HttpRequest, id: Id, payload: OutcomeChangeIn) -> dict[str, Any]:
    """A closed contact's outcome, corrected: won with its value, or lost with a reason. Supervisors only
    (403). An open contact gets its outcome from the note that closes it (POST /tickets/{id}/notes)."""
    ticket = _ticket(request, id)
    _contact(ticket)
    change_outcome(ticket, outcome_input(payload), by=user_of(request), version=payload.version)  # type: ignore[arg-type]
    return _fresh(request, id)


@router.post(
    "/tickets/{id}/sales/reopen",
    response=responses({200: SalesOut}, WRITE),
    summary="Reopen a closed sales contact (supervisor)",
)
def post_reopen(request: HttpRequest, id: Id, payload: ReopenIn) -> dict[str, Any]:
    """Supervisors only (403), with a reason. The outcome is cleared (its history row keeps it)."""
    ticket = _ticket(request, id)
    _contact(ticket)
    step = None
    if payload.step is not None:
        step = (
            WorkflowStep.objects.select_related("cr").filter(workflow_id=ticket.workflow_id, order=payload.step).first()
        )
        if step is None:
            raise invalid({"step": [_("The ticket's workflow has no step %(order)s.") % {"order": payload.step}]})
    reopen_sales_contact(ticket, by=user_of(request), reason=payload.reason, to_step=step)
    return _fresh(request, id)


@router.get("/sales/environments", response=responses({200: list[ListEntryOut]}, READ), summary="Environments")
def list_environments(request: HttpRequest) -> list[dict[str, Any]]:
    """The active environments, in their order."""
    return list(Environment.objects.active().values("id", "name", "position"))


@router.get("/sales/lost-reasons", response=responses({200: list[ListEntryOut]}, READ), summary="Lost reasons")
def list_lost_reasons(request: HttpRequest) -> list[dict[str, Any]]:
    """The active reasons a sale is lost, in their order."""
    return list(LostReason.objects.active().values("id", "name", "position"))


__all__ = ["Outcome", "outcome_input", "router", "sales_out"]

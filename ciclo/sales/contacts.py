"""Changing a sales contact: the one home the ticket page, the API, the follow-up list and the demo call.

    update_sales_fields(ticket, *, by, version=None, **fields)   contact date, referral, environment,
                                                                 expected value and close, success
    set_success(ticket, percent, *, by, version=None)            by hand; None follows the phase again
    change_outcome(ticket, outcome, *, by, version=None)         correct a closed contact's outcome
    reopen_sales_contact(ticket, *, by, reason, to_step=None)    a closed contact open again

Closing is a note (tickets.routing.record_note with `outcome`); what a move does to the contact is
in sales.phases. Each function locks the ticket's row and then the contact's, checks that `by` may
work the ticket, refuses a stale `version` (the contact's), writes a history row, and raises the
engine's errors (tickets.errors) naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.configurator.models import WorkflowStep
from ciclo.history.models import Change, record_change, snapshot
from ciclo.insight.summaries import contact_changing
from ciclo.people.models import Person
from ciclo.sales.models import Environment, SalesContact
from ciclo.sales.phases import OutcomeInput, clean_money, clean_outcome
from ciclo.tickets.access import check_can_work
from ciclo.tickets.errors import InvalidInput, NotAllowed, StaleTicket
from ciclo.tickets.models import PhaseMove, Ticket
from ciclo.tickets.routing import MOVE_ANY_STEP, lock_ticket, move_to_step
from ciclo.tickets.values import parse_date

__all__ = [
    "EDITABLE",
    "OutcomeInput",
    "change_outcome",
    "reopen_sales_contact",
    "set_success",
    "update_sales_fields",
]

EDITABLE = ("contact_date", "referral", "environment", "expected_value", "expected_close", "success")


def _locked_contact(ticket: Ticket, by: Any, version: int | None) -> tuple[Ticket, SalesContact]:
    locked = lock_ticket(ticket, by)
    check_can_work(by, locked)
    contact = SalesContact.objects.select_for_update().filter(ticket_id=locked.pk).first()
    if contact is None:
        raise InvalidInput({"ticket": [_("This ticket is not a sales contact: its type is not a sales type.")]})
    if version is not None and contact.version != version:
        raise StaleTicket(contact.version)
    return locked, contact


def _save(contact: SalesContact, before: dict[str, Any], by: Any, extra: dict[str, list[Any]] | None = None) -> bool:
    if snapshot(contact) == before and not extra:
        return False
    contact.version += 1
    with contact_changing(contact.ticket_id):  # the insight's sales summaries: the row before, then after
        contact.save()
    record_change(contact, by=by, action=Change.Action.CHANGED, before=before, extra=extra)
    return True


def _clean_date(raw: Any, field: str) -> dt.date | None:
    if raw is None or raw == "":
        return None
    try:
        return parse_date(raw)
    except (ValueError, OverflowError):
        raise InvalidInput({field: [_("Give a date as dd/mm/yyyy.")]}) from None


def _clean_percent(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise InvalidInput({"success": [_("The success is a percentage from 0 to 100.")]})
    try:
        value = int(str(raw).strip().rstrip("%").strip()) if not isinstance(raw, int) else raw
    except ValueError:
        raise InvalidInput({"success": [_("The success is a percentage from 0 to 100.")]}) from None
    if not 0 <= value <= 100:
        raise InvalidInput({"success": [_("The success is a percentage from 0 to 100.")]})
    return value


def _related(model: type[Any], raw: Any, field: str, message: str) -> Any:
    if raw is None or raw == "":
        return None
    if isinstance(raw, model):
        return raw
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput({field: [message]}) from None
    found = model.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None
    if found is None:
        raise InvalidInput({field: [message]})
    return found


def _check_open(ticket: Ticket) -> None:
    if ticket.is_closed:
        raise InvalidInput(
            {"ticket": [_("The sales contact is closed: a supervisor reopens it before it can change.")]}
        )


def _apply_success(contact: SalesContact, percent: int | None, cr_default: int | None) -> None:
    if percent is None:
        contact.success_by_hand = False
        contact.success = cr_default
    else:
        contact.success_by_hand = True
        contact.success = percent


def update_sales_fields(ticket: Ticket, *, by: Any, version: int | None = None, **fields: Any) -> SalesContact:
    """Change what the contact carries: any of EDITABLE. `success` None follows the phase's default again.

    Every field is checked before anything is written; bad ones are all named at once.
    """
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise InvalidInput({name: [_("This field is not a sales field.")] for name in unknown})
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    checks = {
        "contact_date": lambda v: _clean_date(v, "contact_date"),
        "expected_close": lambda v: _clean_date(v, "expected_close"),
        "expected_value": lambda v: clean_money(v, "expected_value"),
        "success": _clean_percent,
        "referral": lambda v: _related(Person, v, "referral", _("Choose a person who is in Ciclo.")),
        "environment": lambda v: _related(Environment, v, "environment", _("Choose an environment of the list.")),
    }
    for name, raw in fields.items():
        try:
            clean[name] = checks[name](raw)
        except InvalidInput as bad:
            errors.update(bad.errors)
    if "contact_date" in clean and clean["contact_date"] is None:
        errors["contact_date"] = [_("Give the contact date.")]
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        locked, contact = _locked_contact(ticket, by, version)
        _check_open(locked)
        environment = clean.get("environment")
        if environment is not None and not environment.active and environment.pk != contact.environment_id:
            raise InvalidInput(
                {"environment": [_("The environment “%(name)s” is no longer in use.") % {"name": environment}]}
            )
        referral = clean.get("referral")
        if referral is not None and referral.pk == locked.person_id:
            raise InvalidInput({"referral": [_("The referral is someone else than the ticket's own person.")]})
        before = snapshot(contact)
        for name, value in clean.items():
            if name == "success":
                _apply_success(contact, value, locked.cr.default_success)
            else:
                setattr(contact, name, value)
        _save(contact, before, by)
    return contact


def set_success(ticket: Ticket, percent: int | None, *, by: Any, version: int | None = None) -> SalesContact:
    """Set the success chance by hand (0 to 100), or with None let it follow the phase's default again."""
    return update_sales_fields(ticket, by=by, version=version, success=percent)


def change_outcome(ticket: Ticket, outcome: OutcomeInput, *, by: Any, version: int | None = None) -> SalesContact:
    """Correct the outcome of a closed sales contact (its value, its reason): supervisors only, as
    reopening. The first outcome is recorded by the note that closes the ticket."""
    if not by.has_perm(MOVE_ANY_STEP):
        raise NotAllowed(_("Only a supervisor changes the outcome of a closed sales contact."))
    with transaction.atomic():
        locked, contact = _locked_contact(ticket, by, version)
        if not locked.is_closed:
            raise InvalidInput(
                {"outcome": [_("The sales contact is open: a note that closes it records its outcome.")]}
            )
        values = clean_outcome(outcome, keep_reason=contact.lost_reason_id)
        before = snapshot(contact)
        for name, value in values.items():
            setattr(contact, name, value)
        if snapshot(contact) != before:
            contact.outcome_at = timezone.now()
            contact.outcome_by = by
        _save(contact, before, by)
    return contact


def reopen_target(ticket: Ticket) -> WorkflowStep | None:
    """Where a reopened contact goes by default: the phase it was closed from (else the workflow's first)."""
    closing = PhaseMove.objects.filter(ticket_id=ticket.pk, to_step_id=ticket.step_id).order_by("-at", "-id").first()
    if closing is not None and closing.from_step_id is not None:
        step = WorkflowStep.objects.select_related("cr").filter(pk=closing.from_step_id).first()
        if step is not None and step.cr is not None and not step.cr.closes_process:
            return step
    return (
        WorkflowStep.objects.select_related("cr")
        .filter(workflow_id=ticket.workflow_id, kind=WorkflowStep.Kind.CR, cr__closes_process=False)
        .order_by("order")
        .first()
    )


def reopen_sales_contact(
    ticket: Ticket, *, by: Any, reason: str, to_step: WorkflowStep | None = None, at: dt.datetime | None = None
) -> PhaseMove:
    """Open a closed sales contact again, at `to_step` (by default the phase it was closed from):
    supervisors only (tickets.move_any_step), with a reason. The outcome is cleared; the contact's
    history row keeps what it was, and why it was reopened."""
    if not by.has_perm(MOVE_ANY_STEP):
        raise NotAllowed(_("Only a supervisor reopens a closed sales contact."))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": [_("Say why the sales contact is reopened: the reason cannot be empty.")]})
    fresh = Ticket.objects.select_related("cr").get(pk=ticket.pk)
    if not SalesContact.objects.filter(ticket_id=fresh.pk).exists():
        raise InvalidInput({"ticket": [_("This ticket is not a sales contact: its type is not a sales type.")]})
    if not fresh.is_closed:
        raise InvalidInput({"ticket": [_("The sales contact is open: there is nothing to reopen.")]})
    target = to_step if to_step is not None else reopen_target(fresh)
    if target is None or target.kind != WorkflowStep.Kind.CR or target.cr is None or target.cr.closes_process:
        raise InvalidInput({"to_step": [_("Reopen the contact at a phase of its workflow that does not close it.")]})
    return move_to_step(ticket, target, by=by, reason=reason, at=at)

"""Opening a ticket: its type's workflow's first phase, the opening note, the default next contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.accounts.roles import role_of
from ciclo.agenda.appointments import sync_next_contact
from ciclo.configurator.models import ServiceType
from ciclo.people.models import Company, ContactPerson, Person
from ciclo.people.text import fold_all
from ciclo.sales.phases import start_sales_contact
from ciclo.tickets.access import check_can_open, is_assignable
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Channel, Note, PhaseMove, Ticket
from ciclo.tickets.routing import StepMap, apply_route, resolve


def open_ticket(
    *,
    person: Person,
    service_type: ServiceType,
    subject: str,
    company: Company,
    by: Any,
    channel: str = Channel.PHONE,
    contact_person: ContactPerson | None = None,
    next_contact_at: dt.datetime | None = None,
    next_contact_user: Any = None,
    text: str = "",
    choices: Mapping[int, int] | None = None,
    at: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket at the first phase of its type's workflow and write the opening note.

    The next contact defaults to the type's days-to-next-contact from now, with the opener.
    """
    if role_of(by) is None:
        raise NotAllowed(_("Only an active Ciclo user may open tickets."))
    at = at or timezone.now()
    subject = (subject or "").strip()
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = [_("Give the ticket a subject.")]
    elif len(subject) > 200:
        errors["subject"] = [_("The subject has at most 200 characters.")]
    if refusal := service_type.opening_refusal(timezone.localdate(at) if timezone.is_aware(at) else at.date()):
        errors["service_type"] = [refusal]
    if not person.active:
        errors["person"] = [_("%(person)s is inactive.") % {"person": person}]
    if not company.active:
        errors["company"] = [_("The company %(company)s is inactive.") % {"company": company}]
    if contact_person is not None and contact_person.person_id != person.pk:
        errors["contact_person"] = [_("The contact person must be one of %(person)s's contacts.") % {"person": person}]
    if channel not in Channel.values:
        errors["channel"] = [_("“%(value)s” is not a channel.") % {"value": channel}]
    if next_contact_at is not None and timezone.is_naive(next_contact_at):
        errors["next_contact_at"] = [_("The next-contact date needs a time zone.")]
    if timezone.is_naive(at):
        errors["at"] = [_("The opening time needs a time zone.")]
    if next_contact_user is not None and not is_assignable(next_contact_user):
        errors["next_contact_user"] = [_("The next-contact user must be an active user with a Ciclo role.")]
    if errors:
        raise InvalidInput(errors)

    steps = StepMap()
    route = resolve(steps.first(service_type.workflow_id), choices or {}, steps)  # type: ignore[arg-type]
    assert route.target.cr is not None, "a route ends on a CR step"
    check_can_open(by, company, route.target.cr)
    if next_contact_at is None:
        next_contact_at = at + dt.timedelta(days=service_type.days_to_next_contact)

    with transaction.atomic():
        ticket = Ticket.objects.create(
            person=person,
            service_type=service_type,
            workflow_id=route.workflow_id,
            # The route decides the first step; the ticket row needs it before the move row.
            step=route.target,
            cr=route.target.cr,
            subject=subject,
            contact_person=contact_person,
            company=company,
            channel=channel,
            priority=service_type.priority,
            next_contact_at=next_contact_at,
            next_contact_user=next_contact_user or by,
            opened_at=at,
            opened_by=by,
            phase_entered_at=at,
            search_text=fold_all(subject, text or ""),
        )
        note = Note.objects.create(
            ticket=ticket,
            kind=Note.Kind.OPENING,
            text=(text or "").strip() or _("Ticket opened: %(subject)s") % {"subject": subject},
            channel=channel,
            author=by,
            created_at=at,
            next_contact_at=ticket.next_contact_at,
            next_contact_user=ticket.next_contact_user,
        )
        ticket.step_id = None  # type: ignore[assignment]  # no "from" on the opening move
        apply_route(ticket, route, by=by, at=at, note=note, kind=PhaseMove.Kind.OPEN)
        if ticket.is_closed:
            ticket.save(update_fields=["status", "closed_at"])
        start_sales_contact(ticket, by=by, at=at)  # a sales type's ticket is a sales contact
        sync_next_contact(ticket, by=by, locked=True)  # the opening note's next contact on the agenda
    return ticket

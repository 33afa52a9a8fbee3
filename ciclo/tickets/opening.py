"""Opening a ticket: its type's workflow's first phase, the opening note, the default next contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo import rows
from ciclo.accounts.roles import role_of
from ciclo.configurator.cache import config
from ciclo.configurator.models import ServiceType
from ciclo.people.models import Company, ContactPerson, Person
from ciclo.people.text import fold_all
from ciclo.tickets.access import can_work_cr, company_restricted
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Channel, Note, Ticket
from ciclo.tickets.routing import StepMap, _apply_route, resolve


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
    if not service_type.is_analytical:
        errors["service_type"] = [_("Tickets are opened with an analytical type, not a group (synthetic).")]
    elif not service_type.active or (service_type.active_from and service_type.active_from > timezone.localdate(at)):
        errors["service_type"] = [_("The service type “%(type)s” is not active.") % {"type": service_type}]
    elif service_type.workflow_id is None:
        errors["service_type"] = [_("The service type “%(type)s” has no workflow.") % {"type": service_type}]
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
    if next_contact_user is not None and not next_contact_user.is_active:
        errors["next_contact_user"] = [_("The next-contact user must be an active user.")]
    if errors:
        raise InvalidInput(errors)
    cfg = config()
    if company_restricted(by, cfg) and not by.company_access.filter(company=company).exists():
        raise NotAllowed(_("You have no access to company %(company)s.") % {"company": company})

    steps = StepMap(cfg)
    route = resolve(steps.first(service_type.workflow_id), choices or {}, steps)  # type: ignore[arg-type]
    if route.target.cr is None or not can_work_cr(by, route.target.cr, cfg):
        raise NotAllowed(
            _("Only the members of “%(cr)s” and supervisors open tickets of this type.") % {"cr": route.target.cr}
        )
    if next_contact_at is None:
        next_contact_at = at + dt.timedelta(days=service_type.days_to_next_contact)

    with transaction.atomic():
        ticket = Ticket(
            person=person,
            service_type=service_type,
            workflow_id=route.workflow_id,
            subject=subject,
            contact_person=contact_person,
            company=company,
            channel=channel,
            priority=service_type.priority,
            next_contact_at=next_contact_at,
            next_contact_user=next_contact_user or by,
            opened_at=at,
            opened_by=by,
            search_text=fold_all(subject, text or ""),
        )
        # The route decides the first step; the ticket row needs it before the move row.
        ticket.step = route.target
        ticket.cr = route.target.cr
        rows.insert([ticket])
        note = Note(
            ticket=ticket,
            kind=Note.Kind.OPENING,
            text=(text or "").strip() or _("Ticket opened: %(subject)s") % {"subject": subject},
            channel=channel,
            author=by,
            created_at=at,
            next_contact_at=ticket.next_contact_at,
            next_contact_user=ticket.next_contact_user,
        )
        rows.insert([note])
        ticket.step_id = None  # type: ignore[assignment]  # no "from" on the opening move
        _apply_route(ticket, route, by=by, at=at, note=note, kind="open")
        if ticket.is_closed:
            rows.update(ticket, ["status", "closed_at"])
    return ticket

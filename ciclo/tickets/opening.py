"""Opening tickets: the type's workflow's first phase, the opening note, the default next contact.

open_ticket opens one (the web, the API, the import, the demo); open_tickets opens many at once with the
same rules and set-based writes (the collections update): one opens through the other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.accounts.roles import role_of
from ciclo.agenda.appointments import plan_next_contacts
from ciclo.configurator.models import ServiceType
from ciclo.insight.ledger import record_openings
from ciclo.insight.summaries import contacts_opened, notes_written
from ciclo.people.models import Company, ContactPerson, Person
from ciclo.people.text import fold_all
from ciclo.rows import insert
from ciclo.sales.phases import start_sales_contacts
from ciclo.tickets.access import check_can_open, is_assignable
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Channel, Note, PhaseMove, Ticket
from ciclo.tickets.routing import Route, StepMap, decision_rows, move_row, place, resolve


@dataclass(frozen=True)
class Opening:
    """One ticket to open: whose, of which company, about what (what the tickets opened together share —
    the type, the opener, the channel, the next-contact user, the time — are open_tickets' arguments)."""

    person: Person
    company: Company
    subject: str
    text: str = ""
    contact_person: ContactPerson | None = None
    next_contact_at: dt.datetime | None = None
    choices: Mapping[int, int] | None = None
    # An automatic note written right after the opening note, signed by the opener (the collections
    # update lists the receivables it collects in it).
    automatic_note: str = ""


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
    opening = Opening(person, company, subject, text, contact_person, next_contact_at, choices)
    return open_tickets(
        [opening], service_type=service_type, by=by, channel=channel, next_contact_user=next_contact_user, at=at
    )[0]


def open_tickets(
    openings: Sequence[Opening],
    *,
    service_type: ServiceType,
    by: Any,
    channel: str = Channel.PHONE,
    next_contact_user: Any = None,
    at: dt.datetime | None = None,
) -> list[Ticket]:
    """Open one ticket per opening, all or none, each as open_ticket opens it: at the first phase of the
    type's workflow (the route its choices take), with its opening note, its move and first stay in the
    phase ledger, its sales contact for a sales type and its next contact on the agenda — written a
    thousand rows a statement (ciclo.rows.insert). Raises InvalidInput for the first opening refused
    (nothing is written)."""
    if role_of(by) is None:
        raise NotAllowed(_("Only an active Ciclo user may open tickets."))
    at = at or timezone.now()
    shared = _shared_errors(service_type, channel, next_contact_user, at)
    if shared and not openings:
        raise InvalidInput(shared)
    steps = StepMap()
    routes: dict[tuple[tuple[int, int], ...], Route] = {}
    allowed: set[tuple[int, int]] = set()
    tickets: list[Ticket] = []
    routed: list[Route] = []
    texts: list[str] = []
    for opening in openings:
        subject, errors = _check(opening)
        if errors or shared:
            raise InvalidInput({**errors, **shared})
        key = tuple(sorted((opening.choices or {}).items()))
        if key not in routes:
            routes[key] = resolve(steps.first(service_type.workflow_id), dict(key), steps)  # type: ignore[arg-type]
        route = routes[key]
        assert route.target.cr is not None, "a route ends on a CR step"
        if (opening.company.pk, route.target.cr.pk) not in allowed:
            check_can_open(by, opening.company, route.target.cr)
            allowed.add((opening.company.pk, route.target.cr.pk))
        text = (opening.text or "").strip()
        ticket = Ticket(
            person=opening.person,
            service_type=service_type,
            subject=subject,
            contact_person=opening.contact_person,
            company=opening.company,
            channel=channel,
            priority=service_type.priority,
            next_contact_at=opening.next_contact_at or at + dt.timedelta(days=service_type.days_to_next_contact),
            next_contact_user=next_contact_user or by,
            opened_at=at,
            opened_by=by,
            phase_entered_at=at,  # a ticket just opened has no sales contact yet: entering is only this
            search_text=fold_all(subject, text, opening.automatic_note),
        )
        place(ticket, route, at)
        tickets.append(ticket)
        routed.append(route)
        texts.append(text or _("Ticket opened: %(subject)s") % {"subject": subject})

    with transaction.atomic():
        insert(tickets)
        notes = insert(
            [
                Note(
                    ticket=t,
                    kind=Note.Kind.OPENING,
                    text=text,
                    channel=channel,
                    author=by,
                    created_at=at,
                    next_contact_at=t.next_contact_at,
                    next_contact_user=t.next_contact_user,
                )
                for t, text in zip(tickets, texts, strict=True)
            ]
        )
        automatic = [
            Note(
                ticket=t,
                kind=Note.Kind.AUTOMATIC,
                text=o.automatic_note,
                channel=Channel.SYSTEM,
                author=by,
                created_at=at,
            )
            for t, o in zip(tickets, openings, strict=True)
            if o.automatic_note
        ]
        insert(automatic)
        # Each move from where the ticket was before: nowhere (no "from" on the opening move).
        moves = [
            move_row(Ticket(pk=t.pk), route, by=by, at=at, note=note, kind=PhaseMove.Kind.OPEN)
            for t, route, note in zip(tickets, routed, notes, strict=True)
        ]
        insert(moves)
        decisions = [d for move, route in zip(moves, routed, strict=True) for d in decision_rows(move, route)]
        insert(decisions)
        record_openings(moves)  # the phase ledger: each ticket's first stay
        contacts = start_sales_contacts(tickets, by=by, at=at)  # a sales type's ticket is a sales contact
        kept = {t.pk: (t.service_type_id, t.company_id) for t in tickets}
        notes_written([*notes, *automatic], kept)  # the insight's summaries
        contacts_opened(tickets, contacts)
        plan_next_contacts(tickets, by=by)  # the opening note's next contact on the agenda
    return tickets


def _shared_errors(
    service_type: ServiceType, channel: str, next_contact_user: Any, at: dt.datetime
) -> dict[str, list[str]]:
    """What is wrong with what the tickets opened together share, field by field."""
    errors: dict[str, list[str]] = {}
    if refusal := service_type.opening_refusal(timezone.localdate(at) if timezone.is_aware(at) else at.date()):
        errors["service_type"] = [refusal]
    if timezone.is_naive(at):
        errors["at"] = [_("The opening time needs a time zone.")]
    if channel not in Channel.values:
        errors["channel"] = [_("“%(value)s” is not a channel.") % {"value": channel}]
    if next_contact_user is not None and not is_assignable(next_contact_user):
        errors["next_contact_user"] = [_("The next-contact user must be an active user with a Ciclo role.")]
    return errors


def _check(opening: Opening) -> tuple[str, dict[str, list[str]]]:
    """One opening's own fields: its subject, trimmed, and what is wrong with them, field by field."""
    subject = (opening.subject or "").strip()
    person, company, contact_person = opening.person, opening.company, opening.contact_person
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = [_("Give the ticket a subject.")]
    elif len(subject) > 200:
        errors["subject"] = [_("The subject has at most 200 characters.")]
    if not person.active:
        errors["person"] = [_("%(person)s is inactive.") % {"person": person}]
    if not company.active:
        errors["company"] = [_("The company %(company)s is inactive.") % {"company": company}]
    if contact_person is not None and contact_person.person_id != person.pk:
        errors["contact_person"] = [_("The contact person must be one of %(person)s's contacts.") % {"person": person}]
    if opening.next_contact_at is not None and timezone.is_naive(opening.next_contact_at):
        errors["next_contact_at"] = [_("The next-contact date needs a time zone.")]
    return subject, errors

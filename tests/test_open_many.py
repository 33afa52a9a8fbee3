"""Opening tickets together (open_tickets, what the collections update uses) writes exactly what opening
them one at a time (open_ticket, what the web, the API and the import use) writes, under the same rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType

from ciclo.agenda.models import Appointment, AppointmentChange
from ciclo.configurator.models import CrmOptions, DecisionOption, ServiceType, Workflow, WorkflowStep
from ciclo.history.models import Change
from ciclo.insight.models import PhaseStay
from ciclo.sales.models import SalesContact
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Channel, MoveDecision, Note, PhaseMove, Ticket
from ciclo.tickets.opening import Opening, open_ticket, open_tickets
from tests.factory import make_company, make_person

NOW = dt.datetime(2026, 11, 6, 17, 30, tzinfo=dt.UTC)  # a Friday, late afternoon


def _written(ticket: Ticket) -> dict[str, Any]:
    """Everything opening wrote for `ticket`, without ids and with the person's name as the key."""
    t = Ticket.objects.get(pk=ticket.pk)
    contact = SalesContact.objects.filter(ticket=t).first()
    appointment = Appointment.objects.filter(ticket=t).first()
    sales_history = (
        list(
            Change.objects.filter(
                content_type=ContentType.objects.get_for_model(SalesContact), object_id=str(contact.pk)
            ).values_list("action", "by_id")
        )
        if contact
        else []
    )
    return {
        "ticket": (
            t.person.name,
            t.company_id,
            t.service_type_id,
            t.workflow_id,
            t.step_id,
            t.cr_id,
            t.status,
            t.closed_at,
            t.subject,
            t.channel,
            t.priority,
            t.next_contact_at,
            t.next_contact_user_id,
            t.opened_at,
            t.opened_by_id,
            t.phase_entered_at,
            t.search_text.replace(t.person.name.lower(), "…"),
        ),
        "notes": list(
            t.notes.values_list(
                "kind", "text", "channel", "author_id", "created_at", "next_contact_at", "next_contact_user_id"
            )
        ),
        "moves": list(
            t.moves.values_list("kind", "from_step_id", "to_step_id", "from_cr_id", "to_cr_id", "route", "by_id", "at")
        ),
        "decisions": list(MoveDecision.objects.filter(move__ticket=t).values_list("step_id", "option_id", "label")),
        "stays": list(
            PhaseStay.objects.filter(ticket=t).values_list(
                "cr_id", "step_id", "workflow_id", "entered_at", "entered_by_id", "left_at"
            )
        ),
        "sales": (contact.contact_date, contact.success, sales_history) if contact else None,
        "agenda": (
            (
                appointment.user_id,
                appointment.start,
                appointment.end,
                appointment.title.replace(t.person.name, "…"),
                appointment.source,
                appointment.status,
                appointment.channel,
                list(AppointmentChange.objects.filter(appointment=appointment).values_list("kind", "reason", "by_id")),
            )
            if appointment
            else None
        ),
    }


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("sales_type", [True, False], ids=["sales type", "service type"])
def test_opening_together_writes_what_opening_one_at_a_time_writes(sales, agent, supervisor, sales_type):
    ServiceType.objects.filter(pk=sales.type.pk).update(sales=sales_type)
    sales.type.refresh_from_db()
    when = NOW + dt.timedelta(days=5)
    shape = [
        {"subject": "Cobrança", "text": "Primeira ligação"},
        {"subject": "  Retorno  ", "text": "", "next_contact_at": when},
        {"subject": "Proposta", "text": "Pediu proposta por e-mail"},
    ]
    alone = [
        open_ticket(
            person=make_person(name=f"Pessoa {i}"),
            company=sales.company,
            service_type=sales.type,
            by=agent,
            channel=Channel.EMAIL,
            next_contact_user=supervisor,
            **kw,
        )
        for i, kw in enumerate(shape)
    ]
    together = open_tickets(
        [Opening(person=make_person(name=f"Pessoa {i}"), company=sales.company, **kw) for i, kw in enumerate(shape)],
        service_type=sales.type,
        by=agent,
        channel=Channel.EMAIL,
        next_contact_user=supervisor,
    )
    assert [t.pk for t in together] == sorted(t.pk for t in together)
    for one, many in zip(alone, together, strict=True):
        assert _written(many) == _written(one)
    assert _written(together[1])["ticket"][8] == "Retorno"
    assert _written(together[1])["agenda"][1] == when
    assert (SalesContact.objects.count() == 6) is sales_type


@time_machine.travel(NOW, tick=False)
def test_each_opening_takes_its_own_route_through_a_first_decision(sales, agent):
    workflow = Workflow.objects.create(code="triagem", description="Triagem")
    decision = WorkflowStep.objects.create(workflow=workflow, order=0, kind="decision", question="Cliente novo?")
    new = DecisionOption.objects.create(step=decision, label="Sim", target_order=5, position=1)
    known = DecisionOption.objects.create(step=decision, label="Não", target_order=10, position=2)
    WorkflowStep.objects.create(workflow=workflow, order=5, kind="cr", cr=sales.cr_prospect, next_order=10)
    WorkflowStep.objects.create(workflow=workflow, order=10, kind="cr", cr=sales.cr_closed)
    ServiceType.objects.filter(pk=sales.type.pk).update(workflow=workflow)
    sales.type.refresh_from_db()
    choices = [{decision.pk: new.pk}, {decision.pk: known.pk}, {decision.pk: new.pk}]
    alone = [
        open_ticket(
            person=make_person(name=f"A{i}"),
            company=sales.company,
            service_type=sales.type,
            subject="X",
            by=agent,
            choices=c,
        )
        for i, c in enumerate(choices)
    ]
    together = open_tickets(
        [
            Opening(person=make_person(name=f"A{i}"), company=sales.company, subject="X", choices=c)
            for i, c in enumerate(choices)
        ],
        service_type=sales.type,
        by=agent,
    )
    for one, many in zip(alone, together, strict=True):
        assert _written(many) == _written(one)
    assert [t.cr for t in together] == [sales.cr_prospect, sales.cr_closed, sales.cr_prospect]
    assert [t.status for t in together] == [Ticket.Status.OPEN, Ticket.Status.CLOSED, Ticket.Status.OPEN]
    closed = together[1]
    assert list(MoveDecision.objects.filter(move__ticket=closed).values_list("label", flat=True)) == ["Não"]
    assert not Appointment.objects.filter(ticket=closed).exists()  # a closed ticket has no next contact to make


def _nothing_written() -> bool:
    return not any(
        m.objects.exists() for m in (Ticket, Note, PhaseMove, PhaseStay, SalesContact, Appointment, MoveDecision)
    )


def test_one_refused_opening_opens_none_and_names_the_field(sales, agent):
    gone = make_person(name="Inativa", active=False)
    openings = [
        Opening(person=make_person(), company=sales.company, subject="Um"),
        Opening(person=gone, company=sales.company, subject="Dois"),
        Opening(person=make_person(), company=sales.company, subject=""),
    ]
    with pytest.raises(InvalidInput) as err:
        open_tickets(openings, service_type=sales.type, by=agent)
    assert set(err.value.errors) == {"person"}
    assert "Inativa" in err.value.errors["person"][0]
    assert _nothing_written()


def test_what_the_openings_share_is_refused_as_one_tickets_fields_are(sales, agent):
    with pytest.raises(InvalidInput) as err:
        open_tickets(
            [Opening(person=make_person(), company=sales.company, subject="Um")],
            service_type=sales.group,  # a synthetic type opens nothing
            by=agent,
            channel="fax",
        )
    assert set(err.value.errors) == {"service_type", "channel"}
    assert _nothing_written()


def test_access_is_checked_for_every_company_of_the_openings(sales, agent):
    from ciclo.accounts.models import UserCompany

    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    other = make_company()
    UserCompany.objects.create(user=agent, company=sales.company)
    openings = [
        Opening(person=make_person(), company=sales.company, subject="Minha empresa"),
        Opening(person=make_person(), company=other, subject="Outra empresa"),
    ]
    with pytest.raises(NotAllowed):
        open_tickets(openings, service_type=sales.type, by=agent)
    assert _nothing_written()
    UserCompany.objects.create(user=agent, company=other)
    assert len(open_tickets(openings, service_type=sales.type, by=agent)) == 2


def test_a_thousand_openings_take_a_few_statements_not_a_thousand(sales, agent, django_assert_max_num_queries):
    persons = [make_person() for _ in range(300)]
    openings = [Opening(person=p, company=sales.company, subject="Lote") for p in persons]
    with django_assert_max_num_queries(40):
        tickets = open_tickets(openings, service_type=sales.type, by=agent)
    assert len(tickets) == 300
    assert PhaseStay.objects.filter(left_at__isnull=True).count() == 300
    assert Appointment.objects.filter(source=Appointment.Source.NEXT_CONTACT).count() == 300


def test_an_automatic_note_follows_the_opening_note_and_finds_the_ticket(sales, agent):
    from ciclo.tickets.query import TicketFilter, apply_filter

    ticket = open_tickets(
        [Opening(person=make_person(), company=sales.company, subject="Cobrança", automatic_note="Título NF-7781")],
        service_type=sales.type,
        by=agent,
    )[0]
    assert list(ticket.notes.order_by("id").values_list("kind", "author_id", "text")) == [
        (Note.Kind.OPENING, agent.pk, "Ticket opened: Cobrança"),
        (Note.Kind.AUTOMATIC, agent.pk, "Título NF-7781"),
    ]
    found = apply_filter(Ticket.objects.all(), TicketFilter(text="titulo 7781"))  # the agents' search
    assert list(found) == [ticket]

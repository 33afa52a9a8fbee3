from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from ciclo.configurator.models import ServiceType
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Note, PhaseMove, Ticket
from tests.factory import make_company, make_person, make_ticket

NOW = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
def test_it_opens_at_the_first_cr_with_an_opening_note_and_default_next_contact(sales, agent):
    ticket = make_ticket(sales, agent)
    assert ticket.step == sales.step_prospect
    assert ticket.cr == sales.cr_prospect
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.priority == 2
    assert ticket.next_contact_at == NOW + dt.timedelta(days=2)
    assert ticket.next_contact_user == agent
    note = ticket.notes.get()
    assert note.kind == Note.Kind.OPENING and note.author == agent
    move = ticket.moves.get()
    assert move.kind == PhaseMove.Kind.OPEN and move.from_cr is None and move.to_cr == sales.cr_prospect


def test_given_next_contact_is_kept(sales, agent, supervisor):
    when = timezone.now() + dt.timedelta(days=9)
    ticket = make_ticket(sales, agent, next_contact_at=when, next_contact_user=supervisor, text="Ligou pedindo preço")
    assert ticket.next_contact_at == when and ticket.next_contact_user == supervisor
    assert ticket.notes.get().text == "Ligou pedindo preço"


def test_it_refuses_a_synthetic_type(sales, agent):
    with pytest.raises(InvalidInput) as err:
        make_ticket(sales, agent, service_type=sales.group)
    assert "service_type" in err.value.errors
    assert Ticket.objects.count() == 0


def test_it_refuses_an_inactive_or_future_type(sales, agent):
    ServiceType.objects.filter(pk=sales.type.pk).update(active_from=timezone.localdate() + dt.timedelta(days=3))
    sales.type.refresh_from_db()
    with pytest.raises(InvalidInput) as err:
        make_ticket(sales, agent)
    assert "service_type" in err.value.errors


def test_it_refuses_blank_subject_and_foreign_contact_person(sales, agent):
    other = make_person()
    contact = other.contacts.create(name="Outro contato")
    with pytest.raises(InvalidInput) as err:
        make_ticket(sales, agent, subject="  ", contact_person=contact)
    assert set(err.value.errors) == {"subject", "contact_person"}
    assert Ticket.objects.count() == 0 and Note.objects.count() == 0


def test_it_refuses_an_agent_outside_the_first_cr(sales, agent, outsider):
    sales.cr_prospect.members.add(agent)
    with pytest.raises(NotAllowed):
        make_ticket(sales, outsider)
    assert make_ticket(sales, agent).pk


def test_supervisor_opens_in_any_cr(sales, agent, supervisor):
    sales.cr_prospect.members.add(agent)
    assert make_ticket(sales, supervisor).cr == sales.cr_prospect


def test_user_company_access_is_enforced_when_on(sales, agent):
    from ciclo.accounts.models import UserCompany
    from ciclo.configurator.models import CrmOptions

    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    with pytest.raises(NotAllowed):
        make_ticket(sales, agent)
    UserCompany.objects.create(user=agent, company=sales.company)
    assert make_ticket(sales, agent).company == sales.company
    with pytest.raises(NotAllowed):
        make_ticket(sales, agent, company=make_company())


def test_a_workflow_starting_with_a_decision_needs_the_choice(sales, agent):
    from ciclo.configurator.models import DecisionOption, Workflow, WorkflowStep
    from ciclo.tickets.errors import DecisionRequired

    wf = Workflow.objects.create(code="triagem", description="Triagem")
    d = WorkflowStep.objects.create(workflow=wf, order=0, kind="decision", question="Cliente novo?")
    yes = DecisionOption.objects.create(step=d, label="Sim", target_order=5)
    DecisionOption.objects.create(step=d, label="Não", target_order=10)
    WorkflowStep.objects.create(workflow=wf, order=5, kind="cr", cr=sales.cr_prospect, next_order=10)
    WorkflowStep.objects.create(workflow=wf, order=10, kind="cr", cr=sales.cr_closed)
    kind = ServiceType.objects.create(code="1.2", description="Triagem", kind="analytical", workflow=wf)
    with pytest.raises(DecisionRequired) as err:
        make_ticket(sales, agent, service_type=kind)
    assert err.value.question == "Cliente novo?"
    assert Ticket.objects.count() == 0
    ticket = make_ticket(sales, agent, service_type=kind, choices={d.pk: yes.pk})
    assert ticket.cr == sales.cr_prospect
    assert ticket.moves.get().decisions.get().label == "Sim"

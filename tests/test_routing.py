from __future__ import annotations

import pytest

from ciclo.configurator.models import DecisionOption, Workflow, WorkflowStep
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.errors import (
    DecisionRequired,
    InvalidChoice,
    InvalidInput,
    NotAllowed,
    RequiredUnanswered,
    StaleTicket,
    TicketClosed,
)
from ciclo.tickets.models import MoveDecision, Note, PhaseMove, Ticket
from ciclo.tickets.routing import move_to_step, record_note, route_ahead, route_from
from tests.factory import make_ticket


def answer_required(sales, ticket, user):
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=user)


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def test_a_note_without_move_keeps_the_phase(sales, agent, ticket):
    result = record_note(ticket, by=agent, text="Cliente pediu retorno", channel="email")
    assert result.move is None
    ticket.refresh_from_db()
    assert ticket.cr == sales.cr_prospect
    assert ticket.notes.count() == 2
    assert result.note.channel == "email"


def test_it_refuses_an_empty_note(agent, ticket):
    with pytest.raises(InvalidInput) as err:
        record_note(ticket, by=agent, text="   ")
    assert "text" in err.value.errors
    assert ticket.notes.count() == 1


def test_moving_on_follows_next_order_and_stops_at_the_next_cr(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    result = record_note(ticket, by=agent, text="Proposta enviada", move_on=True)
    assert ticket.cr == sales.cr_proposal and ticket.step == sales.step_proposal
    move = result.move
    assert move.from_cr == sales.cr_prospect and move.to_cr == sales.cr_proposal and move.by == agent
    assert move.note == result.note
    assert ticket.version == 2  # opened at 1, answers do not touch it, the note bumps it


def test_a_required_question_blocks_moving_on(sales, agent, ticket):
    with pytest.raises(RequiredUnanswered) as err:
        record_note(ticket, by=agent, text="Tentando avançar", move_on=True)
    assert [q["code"] for q in err.value.questions] == ["1.07"]
    assert ticket.notes.count() == 1 and ticket.moves.count() == 1


def test_a_supervisor_overrides_required_with_a_reason(sales, supervisor, ticket):
    result = record_note(ticket, by=supervisor, text="Avançando", move_on=True, override_reason="Cliente com pressa")
    assert result.move.reason == "Cliente com pressa"
    assert result.move.overrode_required[0]["code"] == "1.07"
    assert ticket.cr == sales.cr_proposal


def test_an_agent_cannot_override(sales, agent, ticket):
    with pytest.raises(NotAllowed):
        record_note(ticket, by=agent, text="x", move_on=True, override_reason="porque sim")


def test_a_decision_on_the_route_needs_a_choice(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    with pytest.raises(DecisionRequired) as err:
        record_note(ticket, by=agent, text="b", move_on=True)
    assert err.value.question == "Fechou negócio?"
    assert [o["label"] for o in err.value.options] == ["Sim", "Não"]
    assert "Fechou negócio?" in err.value.message and "Sim" in err.value.message
    assert ticket.notes.count() == 2  # the refused note was not written


def test_an_option_of_another_decision_is_refused(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    with pytest.raises(InvalidChoice):
        record_note(ticket, by=agent, text="b", move_on=True, choices={sales.decision.pk: sales.o_site.pk + 999})


def test_the_chosen_option_routes_and_is_recorded(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    result = record_note(ticket, by=agent, text="Não fechou", move_on=True, choices={sales.decision.pk: sales.no.pk})
    assert ticket.cr == sales.cr_negotiation
    assert result.move.route == [{"order": 10, "kind": "decision", "question": "Fechou negócio?", "option": "Não"}]
    decision = MoveDecision.objects.get(move=result.move)
    assert (decision.question, decision.label, decision.option) == ("Fechou negócio?", "Não", sales.no)


def test_reaching_a_closing_cr_closes_and_a_closed_ticket_takes_no_move(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    record_note(ticket, by=agent, text="Fechou!", move_on=True, choices={sales.decision.pk: sales.yes.pk})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED and ticket.closed_at is not None
    assert ticket.cr == sales.cr_closed
    with pytest.raises(TicketClosed):
        record_note(ticket, by=agent, text="de novo", move_on=True)
    # a closed ticket still takes notes
    record_note(ticket, by=agent, text="Pós-venda: cliente satisfeito")


def test_a_workflow_step_switches_workflow(sales, agent, ticket):
    other = Workflow.objects.create(code="pos-venda", description="Pós-venda")
    WorkflowStep.objects.create(workflow=other, order=0, kind="cr", cr=sales.cr_negotiation, next_order=5)
    WorkflowStep.objects.create(workflow=other, order=5, kind="cr", cr=sales.cr_closed)
    WorkflowStep.objects.filter(pk=sales.step_prospect.pk).update(next_order=3)
    WorkflowStep.objects.create(
        workflow=sales.workflow, order=3, kind="workflow", target_workflow=other, target_order=0
    )
    ticket.step.refresh_from_db()
    answer_required(sales, ticket, agent)
    result = record_note(ticket, by=agent, text="Para pós-venda", move_on=True)
    ticket.refresh_from_db()
    assert ticket.workflow == other and ticket.cr == sales.cr_negotiation
    assert result.move.route[0]["kind"] == "workflow"
    record_note(ticket, by=agent, text="Fim", move_on=True)
    ticket.refresh_from_db()
    assert ticket.is_closed


def test_an_agent_outside_a_membered_cr_cannot_record(sales, agent, outsider, ticket):
    sales.cr_prospect.members.add(agent)
    with pytest.raises(NotAllowed):
        record_note(ticket, by=outsider, text="Oi")
    record_note(ticket, by=agent, text="Oi")


def test_a_stale_version_is_refused(sales, agent, ticket):
    read_version = ticket.version
    record_note(ticket, by=agent, text="primeiro")
    with pytest.raises(StaleTicket):
        record_note(Ticket.objects.get(pk=ticket.pk), by=agent, text="segundo", expected_version=read_version)


def test_the_next_contact_moves_with_the_note(sales, agent, supervisor, ticket):
    from django.utils import timezone

    when = timezone.now().replace(microsecond=0)
    record_note(ticket, by=agent, text="Retornar amanhã", next_contact_at=when, next_contact_user=supervisor)
    ticket.refresh_from_db()
    assert ticket.next_contact_at == when and ticket.next_contact_user == supervisor


def test_a_supervisor_moves_to_any_step_with_a_reason(sales, supervisor, ticket):
    move = move_to_step(ticket, sales.step_negotiation, by=supervisor, reason="Cliente já negociando")
    ticket.refresh_from_db()
    assert ticket.cr == sales.cr_negotiation
    assert move.kind == PhaseMove.Kind.JUMP and move.reason == "Cliente já negociando"
    assert move.note.kind == Note.Kind.MOVE


def test_moving_to_a_closing_step_closes_and_back_reopens(sales, supervisor, ticket):
    move_to_step(ticket, sales.step_closed, by=supervisor, reason="Desistiu")
    assert Ticket.objects.get(pk=ticket.pk).is_closed
    move_to_step(ticket, sales.step_proposal, by=supervisor, reason="Voltou a negociar")
    ticket.refresh_from_db()
    assert not ticket.is_closed and ticket.closed_at is None


def test_move_to_step_refusals(sales, agent, supervisor, ticket):
    with pytest.raises(NotAllowed):
        move_to_step(ticket, sales.step_closed, by=agent, reason="x")
    with pytest.raises(InvalidInput) as err:
        move_to_step(ticket, sales.step_closed, by=supervisor, reason=" ")
    assert "reason" in err.value.errors
    foreign = Workflow.objects.create(code="outro", description="Outro")
    step = WorkflowStep.objects.create(workflow=foreign, order=0, kind="cr", cr=sales.cr_closed)
    with pytest.raises(InvalidInput) as err:
        move_to_step(ticket, step, by=supervisor, reason="x")
    assert "step" in err.value.errors
    with pytest.raises(DecisionRequired):
        move_to_step(ticket, sales.decision, by=supervisor, reason="decidir")
    assert ticket.moves.count() == 1


def test_every_move_is_history(sales, agent, supervisor, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    move_to_step(ticket, sales.step_prospect, by=supervisor, reason="refazer")
    moves = list(ticket.moves.values_list("kind", "from_cr__code", "to_cr__code"))
    assert moves == [("open", None, "1"), ("move", "1", "2"), ("jump", "2", "1")]


# --- the route ahead: what the forms offer ----------------------------------------------------------


def chain_a_second_decision(sales):
    """ "Fechou negócio?" Não → 12, a second decision: "Nova proposta?" Sim → 15 Negociação, Não → 25 Perdido."""
    from tests.factory import make_cr

    lost = make_cr("8", description="Perdido", closes_process=True)
    WorkflowStep.objects.create(workflow=sales.workflow, order=25, kind="cr", cr=lost)
    second = WorkflowStep.objects.create(workflow=sales.workflow, order=12, kind="decision", question="Nova proposta?")
    again = DecisionOption.objects.create(step=second, label="Sim", target_order=15, position=1)
    give_up = DecisionOption.objects.create(step=second, label="Não", target_order=25, position=2)
    DecisionOption.objects.filter(pk=sales.no.pk).update(target_order=12)
    return second, again, give_up, lost


def test_the_route_ahead_of_a_phase_before_a_phase_is_that_phase(sales, agent, ticket):
    ahead = route_ahead(ticket)
    assert ahead.first.step == sales.step_proposal and ahead.decisions == []
    assert ahead.target.step == sales.step_proposal and not ahead.target.closes


def test_the_route_ahead_lists_every_chained_decision_with_where_each_option_leads(sales, agent, ticket):
    second, _again, give_up, lost = chain_a_second_decision(sales)
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    ahead = route_ahead(ticket)
    assert [d.step for d in ahead.decisions] == [sales.decision, second]
    first, then = ahead.decisions
    yes, no = first.options
    assert (yes.option, yes.leads.step, yes.leads.closes) == (sales.yes, sales.step_closed, True)
    assert (no.option, no.leads.decision) == (sales.no, second)
    assert then.after == (sales.decision, sales.no)
    assert [(o.leads.step.cr, o.leads.closes) for o in then.options] == [(sales.cr_negotiation, False), (lost, True)]
    assert ahead.target is None  # nothing chosen yet
    # the choices given lead through both decisions; the engine takes the same route
    choices = {sales.decision.pk: sales.no.pk, second.pk: give_up.pk}
    ahead = route_ahead(ticket, choices)
    assert ahead.target.step.cr == lost and ahead.target.closes
    assert [d.chosen.option for d in ahead.decisions] == [sales.no, give_up]
    record_note(ticket, by=agent, text="b", move_on=True, choices=choices)
    assert ticket.cr == lost and ticket.is_closed


def test_the_route_ahead_of_a_closed_ticket_is_closed(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    record_note(ticket, by=agent, text="b", move_on=True, choices={sales.decision.pk: sales.yes.pk})
    assert route_ahead(ticket).closed


def test_the_route_ahead_names_a_broken_option(sales, agent, ticket):
    answer_required(sales, ticket, agent)
    record_note(ticket, by=agent, text="a", move_on=True)
    DecisionOption.objects.filter(pk=sales.no.pk).update(target_order=77)
    no = route_ahead(ticket).decisions[0].options[1]
    assert no.leads.step is None and "77" in no.leads.error


def test_the_route_from_a_decision_step_asks_it(sales, supervisor, ticket):
    ahead = route_from(sales.decision)
    assert ahead.first.decision == sales.decision
    assert [o.option for o in ahead.decisions[0].options] == [sales.yes, sales.no]
    assert route_from(sales.decision, {sales.decision.pk: sales.no.pk}).target.step == sales.step_negotiation

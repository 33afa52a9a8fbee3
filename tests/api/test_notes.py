"""/tickets/{id}/notes and /tickets/{id}/move: notes that move tickets, supervisor moves, history."""

from __future__ import annotations

import pytest

from ciclo.accounts.models import UserCompany
from ciclo.configurator.models import CrmOptions
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import MoveDecision, Note, PhaseMove, Ticket
from tests.api.helpers import assert_error
from tests.factory import make_ticket


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def answer_required(sales, ticket, user):
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=user)


def counts(ticket):
    return Note.objects.filter(ticket=ticket).count(), PhaseMove.objects.filter(ticket=ticket).count()


def hide_from(ticket, user):
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    assert not UserCompany.objects.filter(user=user).exists()


def test_a_note_is_recorded_and_the_ticket_stays(api_as, agent, supervisor, ticket):
    body = {
        "text": "Cliente pediu retorno",
        "channel": "email",
        "next_contact_at": "2026-04-01T10:00:00-03:00",
        "next_contact_user": "supervisor_t",
    }
    response = api_as(agent).post(f"/tickets/{ticket.pk}/notes", body)
    assert response.status_code == 201, response.body
    assert response.body["note"]["text"] == "Cliente pediu retorno" and response.body["note"]["move"] is None
    assert response.body["ticket"]["version"] == 2
    assert response.body["ticket"]["next_contact_user"]["username"] == "supervisor_t"
    note = Note.objects.filter(ticket=ticket).latest("id")
    assert note.author == agent and note.channel == "email" and note.next_contact_user == supervisor
    assert counts(ticket) == (2, 1)


def test_moving_on_past_a_required_question_is_422_listing_it(api_as, agent, ticket):
    error = assert_error(
        api_as(agent).post(f"/tickets/{ticket.pk}/notes", {"text": "Avançar", "move_on": True}),
        422,
        "required_unanswered",
    )
    assert [q["code"] for q in error["questions"]] == ["1.07"]
    assert counts(ticket) == (1, 1)


def test_moving_on_through_a_decision(api_as, agent, sales, ticket):
    api = api_as(agent)
    answer_required(sales, ticket, agent)
    response = api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta enviada", "move_on": True})
    assert response.status_code == 201, response.body
    move = response.body["note"]["move"]
    assert move["from_cr"]["code"] == "1" and move["to_cr"]["code"] == "2" and move["to_step"] == 5
    error = assert_error(
        api.post(f"/tickets/{ticket.pk}/notes", {"text": "Fechou?", "move_on": True}), 422, "decision_required"
    )
    decision = error["decision"]
    assert decision["step"] == sales.decision.order and decision["question"] == "Fechou negócio?"
    assert decision["workflow"] == sales.workflow.code
    assert {o["label"]: o["id"] for o in decision["options"]} == {"Sim": sales.yes.pk, "Não": sales.no.pk}
    assert counts(ticket) == (2, 2)
    body = {"text": "Fechou!", "move_on": True, "choices": [{"step": decision["step"], "option": sales.yes.pk}]}
    response = api.post(f"/tickets/{ticket.pk}/notes", body)
    assert response.status_code == 201, response.body
    assert response.body["ticket"]["status"] == "closed" and response.body["ticket"]["closes_process"] is True
    assert response.body["note"]["move"]["decisions"] == [
        {"step": sales.decision.order, "question": "Fechou negócio?", "option": sales.yes.pk, "label": "Sim"}
    ]
    assert MoveDecision.objects.filter(move__ticket=ticket).count() == 1
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", {"text": "De novo", "move_on": True}), 409, "ticket_closed")
    # A closed ticket still takes notes that do not move.
    assert api.post(f"/tickets/{ticket.pk}/notes", {"text": "Pós-venda"}).status_code == 201


def test_the_note_answer_shows_the_ticket_as_this_note_left_it(api_as, agent, supervisor, sales, ticket, monkeypatch):
    """Another writer right after this note (before its answer is rendered) is not in the answer."""
    from ciclo.api import tickets as endpoint
    from ciclo.tickets import routing

    answer_required(sales, ticket, agent)

    def then_someone_else_moves_it(*args, **kw):
        result = routing.record_note(*args, **kw)
        later = Ticket.objects.get(pk=ticket.pk)
        routing.move_to_step(later, sales.step_negotiation, by=supervisor, reason="Negociar")
        return result

    monkeypatch.setattr(endpoint, "record_note", then_someone_else_moves_it)
    response = api_as(agent).post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta enviada", "move_on": True})
    assert response.status_code == 201, response.body
    shown = response.body["ticket"]
    assert shown["cr"]["code"] == "2" and shown["step"]["order"] == 5 and shown["version"] == 2
    assert shown["next_contact_at"] is not None
    now = Ticket.objects.select_related("cr").get(pk=ticket.pk)
    assert now.cr.code == "3" and now.version == 3  # the later move happened, after this note


def test_a_wrong_option_is_422(api_as, agent, sales, ticket):
    answer_required(sales, ticket, agent)
    api = api_as(agent)
    api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta", "move_on": True})
    body = {"text": "X", "move_on": True, "choices": [{"step": sales.decision.order, "option": 999999}]}
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", body), 422, "invalid", "choices.0.option")
    body["choices"] = [{"step": 5, "option": sales.yes.pk}]  # step 5 is a CR, not a decision
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", body), 422, "invalid", "choices.0.step")
    body["choices"] = [{"step": sales.decision.order, "workflow": "nenhum", "option": sales.yes.pk}]
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", body), 422, "invalid", "choices.0.workflow")
    body["choices"] = [{"step": sales.decision.pk, "option": sales.yes.pk}]  # an id is not an order
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", body), 422, "invalid", "choices.0.step")


def test_a_stale_version_is_409(api_as, agent, ticket):
    api = api_as(agent)
    api.post(f"/tickets/{ticket.pk}/notes", {"text": "Primeiro"})
    error = assert_error(
        api.post(f"/tickets/{ticket.pk}/notes", {"text": "Segundo", "expected_version": 1}), 409, "stale_ticket"
    )
    assert error["current_version"] == 2
    assert counts(ticket) == (2, 1)


def test_only_a_supervisor_overrides_required_questions(api_as, agent, supervisor, ticket):
    body = {"text": "Sem resposta", "move_on": True, "override_reason": "Cliente não quis dizer"}
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/notes", body), 403, "not_allowed")
    response = api_as(supervisor).post(f"/tickets/{ticket.pk}/notes", body)
    assert response.status_code == 201, response.body
    move = PhaseMove.objects.filter(ticket=ticket).latest("id")
    assert move.reason == "Cliente não quis dizer" and [q["code"] for q in move.overrode_required] == ["1.07"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "X", "channel": "pigeon"}, "channel"),
        ({"text": "X", "next_contact_user": "ghost"}, "next_contact_user"),
        ({"text": "X", "next_contact_at": "2026-04-01T10:00:00"}, "next_contact_at"),
        ({"text": "X", "next_contact_at": "amanhã"}, "next_contact_at"),
        ({"text": "X", "choices": [{"step": "a", "option": 1}]}, "choices.0.step"),
        ({}, "text"),
    ],
)
def test_a_bad_note_is_422_naming_the_field_and_nothing_is_written(api_as, agent, ticket, body, field):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/notes", body), 422, None, field)
    assert counts(ticket) == (1, 1)
    ticket.refresh_from_db()
    assert ticket.version == 1


def test_notes_need_a_token_access_and_membership(api_as, anonymous, agent, outsider, sales, ticket):
    assert_error(anonymous.post(f"/tickets/{ticket.pk}/notes", {"text": "X"}), 401)
    assert_error(api_as(agent).post("/tickets/999999/notes", {"text": "X"}), 404)
    sales.cr_prospect.members.add(agent)
    assert_error(api_as(outsider).post(f"/tickets/{ticket.pk}/notes", {"text": "X"}), 403, "not_allowed")
    hide_from(ticket, outsider)
    assert_error(api_as(outsider).post(f"/tickets/{ticket.pk}/notes", {"text": "X"}), 404, "not_found")
    assert counts(ticket) == (1, 1)


# ---- supervisor moves -------------------------------------------------------------------------


def test_a_supervisor_moves_a_ticket_to_any_step(api_as, supervisor, agent, sales, ticket):
    response = api_as(supervisor).post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "Negociar direto"})
    assert response.status_code == 200, response.body
    assert response.body["ticket"]["cr"]["code"] == "3"
    assert response.body["move"]["kind"] == "jump" and response.body["move"]["reason"] == "Negociar direto"
    move = PhaseMove.objects.filter(ticket=ticket).latest("id")
    assert move.kind == PhaseMove.Kind.JUMP and move.by == supervisor and move.note.kind == Note.Kind.MOVE


def test_a_move_onto_a_decision_asks_for_it(api_as, supervisor, sales, ticket):
    api = api_as(supervisor)
    error = assert_error(api.post(f"/tickets/{ticket.pk}/move", {"step": 10, "reason": "X"}), 422, "decision_required")
    assert error["decision"]["step"] == sales.decision.order
    body = {"step": 10, "reason": "Fechar", "choices": [{"step": sales.decision.order, "option": sales.yes.pk}]}
    response = api.post(f"/tickets/{ticket.pk}/move", body)
    assert response.status_code == 200 and response.body["ticket"]["status"] == "closed"


def test_an_agent_may_not_move_a_ticket_anywhere(api_as, agent, ticket):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"}), 403, "not_allowed")
    assert counts(ticket) == (1, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"step": 99, "reason": "X"}, "step"),
        ({"step": 15, "reason": ""}, "reason"),
        ({"step": 15, "reason": "   "}, "reason"),
        ({"step": -1, "reason": "X"}, "step"),
        ({"reason": "X"}, "step"),
    ],
)
def test_a_bad_move_is_422(api_as, supervisor, ticket, body, field):
    assert_error(api_as(supervisor).post(f"/tickets/{ticket.pk}/move", body), 422, None, field)
    assert counts(ticket) == (1, 1)


def test_moves_need_a_token_and_a_visible_ticket(api_as, anonymous, supervisor, ticket):
    assert_error(anonymous.post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"}), 401)
    hide_from(ticket, supervisor)
    assert_error(api_as(supervisor).post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"}), 404)
    assert Ticket.objects.get(pk=ticket.pk).cr == ticket.cr


def test_a_stale_move_is_409(api_as, supervisor, ticket):
    body = {"step": 15, "reason": "X", "expected_version": 7}
    assert_error(api_as(supervisor).post(f"/tickets/{ticket.pk}/move", body), 409, "stale_ticket")


# ---- history ----------------------------------------------------------------------------------


def test_the_history_lists_notes_moves_and_decisions(api_as, agent, supervisor, sales, ticket):
    answer_required(sales, ticket, agent)
    api = api_as(agent)
    api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta", "move_on": True})
    choice = [{"step": sales.decision.order, "option": sales.no.pk}]
    api.post(f"/tickets/{ticket.pk}/notes", {"text": "Negociar", "move_on": True, "choices": choice})
    body = api.get(f"/tickets/{ticket.pk}/history").body
    assert [n["kind"] for n in body["notes"]] == ["opening", "contact", "contact"]
    assert [n["move"]["to_cr"]["code"] for n in body["notes"]] == ["1", "2", "3"]
    assert body["notes"][2]["move"]["decisions"][0]["label"] == "Não"
    assert body["notes"][2]["move"]["route"][0]["question"] == "Fechou negócio?"
    assert body["answer_revisions"] is None  # agents do not see answer revisions
    revisions = api_as(supervisor).get(f"/tickets/{ticket.pk}/history").body["answer_revisions"]
    assert [(r["question"], r["version"], r["old_value"]) for r in revisions] == [("1.07", 1, None)]


def test_the_history_needs_a_token_and_a_visible_ticket(api_as, anonymous, agent, ticket):
    assert_error(anonymous.get(f"/tickets/{ticket.pk}/history"), 401)
    hide_from(ticket, agent)
    assert_error(api_as(agent).get(f"/tickets/{ticket.pk}/history"), 404)

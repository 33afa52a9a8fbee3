"""The sales contact over the API: read and change it, close with an outcome through the note endpoint,
correct an outcome and reopen (supervisors), per role, with errors in the API's shape."""

from __future__ import annotations

from typing import Any

import pytest

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.history.models import Change
from ciclo.sales.models import SalesContact
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.routing import record_note
from tests.api.helpers import Api, assert_error
from tests.factory import make_person, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_as(db):
    ensure_role_groups()

    def make(user: Any) -> Api:
        return Api(create_token(user, name="tests")[1])

    return make


@pytest.fixture
def ticket(selling, agent):
    return make_ticket(selling, agent)


def at_proposal(selling, ticket, user):
    save_answers(ticket, [AnswerInput(selling.q_single.pk, [selling.o_site.pk])], by=user)
    record_note(ticket, by=user, text="Proposta enviada", move_on=True)


def closing_note(selling, **extra: Any) -> dict[str, Any]:
    return {
        "text": "Fechou",
        "move_on": True,
        "choices": [{"step": selling.decision.order, "option": selling.yes.pk}],
        **extra,
    }


def sales_changes(ticket) -> list[Change]:
    return list(Change.objects.filter(content_type__model="salescontact", object_id=str(ticket.pk)).order_by("id"))


def test_any_role_that_sees_the_ticket_reads_its_contact(api_as, selling, ticket, agent, supervisor):
    for user in (agent, supervisor):
        response = api_as(user).get(f"/tickets/{ticket.pk}/sales")
        assert response.status_code == 200, response.body
        body = response.body
        assert body["success"] == 10 and body["success_by_hand"] is False and body["outcome"] == "open"
        assert body["phase_default_success"] == 10 and body["days_in_phase"] == 0 and body["stale"] is False


def test_a_ticket_of_another_type_has_no_contact(api_as, sales, agent):
    other = make_ticket(sales, agent)
    assert_error(api_as(agent).get(f"/tickets/{other.pk}/sales"), 404, "not_found")


def test_a_patch_changes_the_fields_given_with_a_history_row(api_as, selling, ticket, agent):
    referral = make_person(name="Indicadora")
    body = {
        "referral": referral.pk,
        "environment": selling.environment.pk,
        "expected_value": "12500.50",
        "expected_close": "2026-12-20",
        "success": 35,
        "version": 1,
    }
    response = api_as(agent).patch(f"/tickets/{ticket.pk}/sales", body)
    assert response.status_code == 200, response.body
    out = response.body
    assert out["referral"] == {"id": referral.pk, "name": "Indicadora"}
    assert out["expected_value"] == "12500.50" and out["weighted_value"] == "4375.18"
    assert out["success"] == 35 and out["success_by_hand"] is True and out["version"] == 2
    assert sales_changes(ticket)[-1].by == agent
    response = api_as(agent).patch(f"/tickets/{ticket.pk}/sales", {"success": None})
    assert response.body["success"] == 10 and response.body["success_by_hand"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"success": 101}, "success"),
        ({"expected_value": "-3"}, "expected_value"),
        ({"expected_value": "1.234"}, "expected_value"),  # could be read two ways
        ({"environment": 999999}, "environment"),
        ({"contact_date": None}, "contact_date"),
        ({"outcome": "won"}, "outcome"),
    ],
)
def test_a_bad_patch_is_422_naming_the_field(api_as, selling, ticket, agent, body, field):
    assert_error(api_as(agent).patch(f"/tickets/{ticket.pk}/sales", body), 422, "invalid", field)
    assert SalesContact.objects.get(pk=ticket.pk).version == 1


def test_a_stale_patch_is_409(api_as, selling, ticket, agent):
    api_as(agent).patch(f"/tickets/{ticket.pk}/sales", {"expected_value": 10})
    error = assert_error(api_as(agent).patch(f"/tickets/{ticket.pk}/sales", {"expected_value": 20, "version": 1}), 409)
    assert error["code"] == "stale_ticket" and error["current_version"] == 2


def test_someone_outside_the_phase_cannot_change_it(api_as, selling, ticket, agent, outsider):
    selling.cr_prospect.members.add(agent)
    assert_error(api_as(outsider).patch(f"/tickets/{ticket.pk}/sales", {"expected_value": 10}), 403)


def test_the_wrong_method_is_405(api_as, selling, ticket, agent):
    assert api_as(agent).delete(f"/tickets/{ticket.pk}/sales").status_code == 405


def test_a_note_closing_a_sales_ticket_needs_an_outcome(api_as, selling, ticket, agent):
    at_proposal(selling, ticket, agent)
    api = api_as(agent)
    assert_error(api.post(f"/tickets/{ticket.pk}/notes", closing_note(selling)), 422, "invalid", "outcome")
    response = api.post(
        f"/tickets/{ticket.pk}/notes", closing_note(selling, outcome={"outcome": "won", "won_value": "8000"})
    )
    assert response.status_code == 201, response.body
    assert response.body["ticket"]["status"] == "closed"
    out = api.get(f"/tickets/{ticket.pk}/sales").body
    assert out["outcome"] == "won" and out["won_value"] == "8000.00" and out["outcome_by"] == agent.username


def test_a_lost_outcome_needs_a_reason(api_as, selling, ticket, agent):
    at_proposal(selling, ticket, agent)
    api = api_as(agent)
    response = api.post(f"/tickets/{ticket.pk}/notes", closing_note(selling, outcome={"outcome": "lost"}))
    assert_error(response, 422, "invalid", "lost_reason")
    body = closing_note(selling, outcome={"outcome": "lost", "lost_reason": selling.lost_price.pk, "text": "Caro"})
    assert api.post(f"/tickets/{ticket.pk}/notes", body).status_code == 201
    out = api.get(f"/tickets/{ticket.pk}/sales").body
    assert out["lost_reason"] == {"id": selling.lost_price.pk, "name": "Preço"} and out["outcome_text"] == "Caro"


@pytest.fixture
def won(api_as, selling, ticket, agent):
    at_proposal(selling, ticket, agent)
    body = closing_note(selling, outcome={"outcome": "won", "won_value": 5000})
    assert api_as(agent).post(f"/tickets/{ticket.pk}/notes", body).status_code == 201
    return ticket


def test_only_a_supervisor_reopens(api_as, selling, won, agent, supervisor):
    assert_error(api_as(agent).post(f"/tickets/{won.pk}/sales/reopen", {"reason": "Voltou"}), 403, "not_allowed")
    assert_error(api_as(supervisor).post(f"/tickets/{won.pk}/sales/reopen", {"reason": ""}), 422, "invalid", "reason")
    response = api_as(supervisor).post(f"/tickets/{won.pk}/sales/reopen", {"reason": "Cliente voltou atrás"})
    assert response.status_code == 200, response.body
    assert response.body["outcome"] == "open" and response.body["won_value"] is None
    change = sales_changes(won)[-1]
    assert change.by == supervisor and change.changes["outcome"] == ["won", ""]


def test_reopening_at_a_closing_step_is_refused(api_as, selling, won, supervisor):
    body = {"reason": "Voltou", "step": selling.step_closed.order}
    assert_error(api_as(supervisor).post(f"/tickets/{won.pk}/sales/reopen", body), 422, "invalid", "to_step")
    assert_error(api_as(supervisor).post(f"/tickets/{won.pk}/sales/reopen", {"reason": "x", "step": 7}), 422)


def test_a_supervisor_corrects_an_outcome(api_as, selling, won, agent, supervisor):
    body = {"outcome": "won", "won_value": "5500,00"}
    assert_error(api_as(agent).post(f"/tickets/{won.pk}/sales/outcome", body), 403)
    response = api_as(supervisor).post(f"/tickets/{won.pk}/sales/outcome", body)
    assert response.status_code == 200 and response.body["won_value"] == "5500.00"


def test_an_open_contact_takes_its_outcome_from_a_note(api_as, selling, ticket, supervisor):
    body = {"outcome": "won", "won_value": "10"}
    assert_error(api_as(supervisor).post(f"/tickets/{ticket.pk}/sales/outcome", body), 422, "invalid", "outcome")


def test_the_lists_give_the_active_entries(api_as, selling, agent):
    assert [e["name"] for e in api_as(agent).get("/sales/lost-reasons").body] == ["Preço"]
    assert [e["name"] for e in api_as(agent).get("/sales/environments").body] == ["Planilhas"]


def test_no_token_is_401(selling, ticket):
    assert_error(Api(None).get(f"/tickets/{ticket.pk}/sales"), 401)

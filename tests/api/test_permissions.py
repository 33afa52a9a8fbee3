"""The API's move to any step and override of required questions follow the permissions
tickets.move_any_step and tickets.override_required, as the engine checks them."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_error
from tests.factory import make_ticket
from tests.test_permissions import granted, without


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def test_an_agent_given_move_any_step_moves_through_the_api(api_as, agent, ticket):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"}), 403, "not_allowed")
    response = api_as(granted(agent, "move_any_step")).post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"})
    assert response.status_code == 200, response.body
    assert response.body["ticket"]["cr"]["code"] == "3"


def test_a_supervisor_without_move_any_step_may_not_move_through_the_api(api_as, supervisor, ticket):
    api = api_as(without(supervisor, "move_any_step"))
    assert_error(api.post(f"/tickets/{ticket.pk}/move", {"step": 15, "reason": "X"}), 403, "not_allowed")


def test_the_override_of_required_questions_follows_its_permission(api_as, agent, supervisor, ticket):
    body = {"text": "Avança", "move_on": True, "override_reason": "Urgente"}
    assert_error(api_as(without(supervisor, "override_required")).post(f"/tickets/{ticket.pk}/notes", body), 403)
    response = api_as(granted(agent, "override_required")).post(f"/tickets/{ticket.pk}/notes", body)
    assert response.status_code == 201, response.body
    assert response.body["ticket"]["cr"]["code"] == "2"

"""GET /api/v1/followup (the list with its filters) and POST /api/v1/followup/{id}/calls."""

from __future__ import annotations

import pytest
import time_machine

from ciclo.accounts.tokens import create_token
from ciclo.configurator.models import CrmOptions
from ciclo.tickets.models import Answer, AnswerRevision, Note, Ticket
from tests.api.helpers import Api, assert_error
from tests.followup.conftest import NOW, at, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def api(user) -> Api:
    return Api(create_token(user, name="tests")[1])


def test_the_list_with_its_groups_counts_columns_and_pipeline(world, agent):
    t = make_contact(world, agent, success=40, value="1000.00", next_contact_at=at(24))
    make_contact(world, agent, no_next_contact=True)
    response = api(agent).get("/followup")
    assert response.status_code == 200, response.body
    body = response.body
    assert body["user"] == {"id": agent.pk, "username": agent.username}
    assert body["pipeline"] == "400.00" and body["expected_total"] == "1000.00" and body["count"] == 2
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["overdue", "today", "upcoming", "no_next_contact"]
    item = groups["overdue"]["items"][0]
    assert item["id"] == t.pk and item["success"] == 40 and item["expected_value"] == "1000.00"
    assert item["weighted_value"] == "400.00"
    assert item["cr"]["code"] == "1" and item["service_type"]["code"] == "1.1"
    assert item["progress"] == {"answered": 0, "total": 8, "required_missing": 1}
    assert item["days_in_phase"] == 0 and item["stale"] is False
    assert groups["no_next_contact"]["items"][0]["next_contact_at"] is None


def test_the_filters_and_one_group_s_pages(world, agent):
    for i in range(5):
        make_contact(world, agent, success=10 * i, channel="email" if i % 2 else "phone")
    client = api(agent)
    body = client.get("/followup", channel="email").body
    assert body["count"] == 2
    body = client.get("/followup", success_min=20, sort="success").body
    assert [i["success"] for i in body["groups"][1]["items"]] == [40, 30, 20]
    first = client.get("/followup", group="today", limit=2).body
    today = first["groups"][1]
    assert len(today["items"]) == 2 and today["next_cursor"]
    assert first["groups"][0]["items"] == []  # only the group asked for has rows
    second = client.get("/followup", group="today", limit=2, cursor=today["next_cursor"]).body["groups"][1]
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in today["items"]})


def test_bad_parameters_are_422_naming_them(world, agent):
    client = api(agent)
    assert_error(client.get("/followup", success_min=101), 422, "invalid", "success_min")
    assert_error(client.get("/followup", sort="nope"), 422, "invalid", "sort")
    assert_error(client.get("/followup", cr="99"), 422, "invalid", "cr")
    assert_error(client.get("/followup", text="ab"), 422, "invalid", "text")
    assert_error(client.get("/followup", success_min=60, success_max=10), 422, "invalid", "success_max")
    assert_error(client.get("/followup", group="today", cursor="garbage"), 422)
    assert_error(client.get("/followup", cursor="garbage"), 422, "invalid", "cursor")


def test_a_supervisor_asks_for_a_user_or_the_team_an_agent_gets_their_own(world, agent, outsider, supervisor):
    make_contact(world, agent)
    make_contact(world, outsider)
    assert api(supervisor).get("/followup", user="team").body["count"] == 2
    one = api(supervisor).get("/followup", user=outsider.username).body
    assert one["count"] == 1 and one["user"]["username"] == outsider.username
    assert api(agent).get("/followup", user="team").body["count"] == 1
    assert_error(api(supervisor).get("/followup", user="nobody-here"), 422, "invalid", "user")


def test_the_list_needs_a_token(world):
    assert_error(Api(None).get("/followup"), 401)
    assert_error(Api("not-a-token").post("/followup/1/calls", {"text": "x"}), 401)


def test_a_call_saves_the_answers_and_the_note_together(world, agent):
    ticket = make_contact(world, agent)
    response = api(agent).post(
        f"/followup/{ticket.pk}/calls",
        {
            "text": "Ligou",
            "channel": "whatsapp",
            "move_on": True,
            "next_contact_at": "2026-11-27T10:00:00-03:00",
            "next_contact_user": agent.username,
            "answers": [{"question": "1.07", "value": [{"option": world.o_site.pk}]}],
            "expected_version": ticket.version,
        },
    )
    assert response.status_code == 201, response.body
    body = response.body
    assert body["ticket"]["cr"]["code"] == "2"
    assert body["note"]["move"]["to_cr"]["code"] == "2"
    assert body["answers"] == [{"question": "1.07", "status": "saved"}]
    assert AnswerRevision.objects.filter(ticket=ticket, by=agent).count() == 1


def test_a_call_moving_on_past_a_blank_required_question_writes_nothing(world, agent):
    ticket = make_contact(world, agent)
    response = api(agent).post(
        f"/followup/{ticket.pk}/calls",
        {"text": "Ligou", "move_on": True, "answers": [{"question": "1.01", "value": "Carlos"}]},
    )
    error = assert_error(response, 422, "required_unanswered")
    assert error["questions"][0]["code"] == "1.07"
    assert not Answer.objects.filter(ticket=ticket).exists()
    assert Note.objects.filter(ticket=ticket).count() == 1


def test_a_bad_answer_is_named_by_its_code(world, agent):
    ticket = make_contact(world, agent)
    response = api(agent).post(
        f"/followup/{ticket.pk}/calls", {"text": "Ligou", "answers": [{"question": "1.03", "value": "muitos"}]}
    )
    assert_error(response, 422, "invalid", "answers.1.03")
    response = api(agent).post(f"/followup/{ticket.pk}/calls", {"text": "Ligou", "answers": [{"question": "7.77"}]})
    assert_error(response, 422, "invalid", "answers.7.77")


def test_answers_of_another_phase_are_refused(world, agent):
    ticket = make_contact(world, agent)
    response = api(agent).post(
        f"/followup/{ticket.pk}/calls", {"text": "Ligou", "answers": [{"question": "2.01", "value": "10.00"}]}
    )
    assert_error(response, 422, "invalid", "answers.2.01")


def test_with_the_option_off_a_call_takes_no_answers(world, agent):
    options = CrmOptions.current()
    options.use_cycle_in_followup = False
    options.save()
    ticket = make_contact(world, agent)
    response = api(agent).post(
        f"/followup/{ticket.pk}/calls", {"text": "Ligou", "answers": [{"question": "1.01", "value": "Carlos"}]}
    )
    assert_error(response, 422, "invalid", "answers")
    assert api(agent).post(f"/followup/{ticket.pk}/calls", {"text": "Ligou"}).status_code == 201


def test_a_stale_version_is_409(world, agent):
    ticket = make_contact(world, agent)
    response = api(agent).post(f"/followup/{ticket.pk}/calls", {"text": "Ligou", "expected_version": 99})
    assert_error(response, 409, "stale_ticket")


def test_a_call_on_a_cr_with_other_members_is_403(world, agent, outsider):
    ticket = make_contact(world, agent)
    world.cr_prospect.members.add(agent)
    assert_error(api(outsider).post(f"/followup/{ticket.pk}/calls", {"text": "Ligou"}), 403)
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_a_call_on_no_such_ticket_is_404_and_unknown_fields_422(world, agent):
    ticket = make_contact(world, agent)
    assert_error(api(agent).post("/followup/999999/calls", {"text": "Ligou"}), 404)
    assert_error(api(agent).post(f"/followup/{ticket.pk}/calls", {"text": "Ligou", "extra": 1}), 422)
    assert_error(api(agent).get(f"/followup/{ticket.pk}/calls"), 405)


def test_the_api_offers_every_sort_of_the_list():
    import typing

    from ciclo.api.followup import SortName
    from ciclo.sales.followup import DEFAULT_SORT, SORTS

    assert set(typing.get_args(SortName)) == set(SORTS) and DEFAULT_SORT == "next_contact"


def test_a_call_closing_the_contact_records_its_outcome(world, agent):
    from ciclo.sales.models import Outcome
    from ciclo.tickets.answering import AnswerInput, save_answers
    from ciclo.tickets.routing import record_note

    ticket = make_contact(world, agent)
    save_answers(ticket, [AnswerInput(world.q_single.pk, [{"option": world.o_site.pk}])], by=agent)
    record_note(ticket, by=agent, text="Proposta enviada", move_on=True)
    body = {"text": "Fechou", "move_on": True, "choices": [{"step": 10, "option": world.yes.pk}]}
    assert_error(api(agent).post(f"/followup/{ticket.pk}/calls", body), 422, "invalid", "outcome")
    bad = {**body, "outcome": {"outcome": "won"}}
    assert_error(api(agent).post(f"/followup/{ticket.pk}/calls", bad), 422, "invalid", "outcome.won_value")
    won = {**body, "outcome": {"outcome": "won", "won_value": "2500.00"}}
    response = api(agent).post(f"/followup/{ticket.pk}/calls", won)
    assert response.status_code == 201, response.body
    assert response.body["ticket"]["status"] == "closed"
    sales = Ticket.objects.get(pk=ticket.pk).sales
    assert sales.outcome == Outcome.WON and str(sales.won_value) == "2500.00"

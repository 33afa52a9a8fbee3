"""GET /api/v1/insight/…: the dashboards' measurements, typed, with the same filters; supervisors only."""

from __future__ import annotations

import pytest
import time_machine

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.tickets.answering import AnswerInput, save_answers
from tests.api.helpers import Api, assert_error
from tests.insight.history import at, move_on, open_at

NOW = at(20, 12)
PERIOD = {"start": "2026-03-01", "end": "2026-03-20"}


@pytest.fixture(autouse=True)
def _groups(db):
    ensure_role_groups()


def api(user):
    return Api(create_token(user, name="tests")[1])


@pytest.fixture
def history(sales, supervisor):
    with time_machine.travel(at(1), tick=False):
        a = open_at(sales, supervisor, at(2))
        open_at(sales, supervisor, at(3))
        save_answers(a, [AnswerInput(sales.q_number.pk, "12")], by=supervisor, at=at(4))
        move_on(a, supervisor, at(5))
    return a


@time_machine.travel(NOW, tick=False)
def test_phases(history, sales, supervisor):
    r = api(supervisor).get("/insight/phases", workflow=sales.workflow.pk, **PERIOD)
    assert r.status_code == 200
    assert [(p["name"], p["now"]) for p in r.body["phases"]] == [
        ("Prospecção", 1),
        ("Proposta enviada", 1),
        ("Negociação", 0),
        ("Encerrado", 0),
    ]
    # A: 2 → 5 March, 3 days; B: there since 3 March 09:00, 17 days 3 hours: the median between them
    assert r.body["phases"][0]["latest_median_days"] == round((3 + 17.125) / 2, 2)
    assert r.body["period"] == {"start": "2026-03-01", "end": "2026-03-20"}
    assert {"week", "arrivals", "exits"} == set(r.body["weeks"][0])


@time_machine.travel(NOW, tick=False)
def test_funnel_people_answers(history, sales, supervisor, admin_user):
    client = api(admin_user)
    funnel = client.get("/insight/funnel", workflow=sales.workflow.pk, **PERIOD).body
    assert funnel["opened"] == 2 and [s["reached"] for s in funnel["steps"]] == [2, 1, 0, 0]
    people = client.get("/insight/people", **PERIOD).body
    mine = next(p for p in people["people"] if p["user_id"] == supervisor.pk)
    assert mine["open"] == 2 and mine["notes"] == 3
    assert sorted(p["count"] for p in mine["by_phase"]) == [1, 1]
    answers = client.get(
        "/insight/answers", cycle=sales.cycle.pk, compare_start="2026-02-01", compare_end="2026-02-28", **PERIOD
    ).body
    number = next(q for q in answers["questions"] if q["code"] == "1.03")
    assert (number["count"], number["sum"], number["median"]) == (1, "12.0000", 12.0)
    assert next(q for q in answers["compare"]["questions"] if q["code"] == "1.03")["count"] == 0


def test_agents_are_refused(agent):
    for path in ("/insight/phases", "/insight/funnel", "/insight/people", "/insight/answers"):
        assert_error(api(agent).get(path), 403)


def test_without_a_token(db):
    assert Api(None).get("/insight/phases").status_code == 401


def test_bad_filters_name_their_field(sales, supervisor):
    client = api(supervisor)
    assert_error(client.get("/insight/phases", workflow=999999), 422, field="workflow")
    assert_error(client.get("/insight/funnel", start="2026-03-10", end="2026-03-01"), 422, field="end")
    assert_error(client.get("/insight/answers", start="2026-03-10"), 422, field="end")
    assert_error(client.get("/insight/people", user=2**40), 422)

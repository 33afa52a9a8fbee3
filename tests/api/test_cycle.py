"""/tickets/{id}/cycle, /answers and /unlock: the cycle, its answers, locks and conflicts."""

from __future__ import annotations

import pytest

from ciclo.accounts.models import UserCompany
from ciclo.configurator.models import CrmOptions
from ciclo.tickets.models import Answer, AnswerRevision, CrUnlock
from tests.api.helpers import assert_error
from tests.factory import make_ticket


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def hide_everything_from(user):
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    assert not UserCompany.objects.filter(user=user).exists()


def phase(body, code):
    return next(p for p in body["phases"] if p["cr"]["code"] == code)


def test_the_cycle_lists_questions_per_phase_with_their_state(api_as, agent, ticket):
    body = api_as(agent).get(f"/tickets/{ticket.pk}/cycle").body
    assert body["ticket"] == ticket.pk and body["ticket_version"] == 1
    assert [(p["cr"]["code"], p["state"]) for p in body["phases"]] == [
        ("1", "current"),
        ("2", "ahead"),
        ("9", "ahead"),
    ]
    questions = phase(body, "1")["questions"]
    assert [q["code"] for q in questions][:2] == ["1.01", "1.02"]
    single = next(q for q in questions if q["code"] == "1.07")
    assert single["required"] is True and single["answer_type"] == "single_choice"
    assert [o["label"] for o in single["options"]] == ["Site", "Indicação"]
    assert single["version"] == 0 and single["answer"] is None


def test_answers_are_saved_with_versions_and_revisions(api_as, agent, sales, ticket):
    api = api_as(agent)
    body = [
        {"question": sales.q_text.code, "value": "Maria", "version": 0},
        {"question": "1.04", "value": "1.234,50", "version": 0},  # by classification, pt-BR money
        {"question": sales.q_multi.code, "value": [sales.o_erp.pk, {"option": sales.o_other.pk, "complement": "BI"}]},
        {"question": sales.q_date.code, "value": "05/03/2026"},
    ]
    response = api.post(f"/tickets/{ticket.pk}/answers", body)
    assert response.status_code == 200, response.body
    results = {r["question"]: r for r in response.body["results"]}
    assert results["1.01"] == {
        "question": "1.01",
        "answer_type": "short_text",
        "status": "saved",
        "version": 1,
        "value": "Maria",
    }
    assert results["1.04"]["value"] == "1234.50"
    assert results["1.05"]["value"] == "2026-03-05"
    assert [c["label"] for c in results["1.08"]["value"]] == ["ERP", "Outro"]
    assert AnswerRevision.objects.filter(ticket=ticket).count() == 4
    cycle = api.get(f"/tickets/{ticket.pk}/cycle").body
    text = next(q for q in phase(cycle, "1")["questions"] if q["code"] == "1.01")
    assert text["version"] == 1 and text["answer"]["value"] == "Maria"
    assert text["answer"]["answered_by"]["username"] == "agent_t"
    response = api.post(f"/tickets/{ticket.pk}/answers", [{"question": sales.q_text.code, "value": "", "version": 1}])
    assert response.body["results"][0]["status"] == "cleared"
    response = api.post(f"/tickets/{ticket.pk}/answers", [{"question": "1.04", "value": "1234.5", "version": 1}])
    assert response.body["results"][0]["status"] == "unchanged"


def test_a_conflicting_save_is_409_with_the_current_value_and_saves_nothing(api_as, agent, supervisor, sales, ticket):
    api_as(supervisor).post(f"/tickets/{ticket.pk}/answers", [{"question": sales.q_text.code, "value": "Ana"}])
    body = [
        {"question": sales.q_text.code, "value": "Maria", "version": 0},
        {"question": sales.q_memo.code, "value": "Precisa de ERP", "version": 0},
    ]
    error = assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/answers", body), 409, "answer_conflict")
    [conflict] = error["conflicts"]
    assert conflict["question"] == sales.q_text.code and conflict["current_value"] == "Ana"
    assert conflict["answer_type"] == "short_text"
    assert conflict["current_version"] == 1 and conflict["changed_by"] == "supervisor_t"
    assert not Answer.objects.filter(question=sales.q_memo).exists()


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("q_text", "x" * 101),
        ("q_number", "muitos"),
        ("q_number", -1),  # min 0
        ("q_money", "1,234"),
        ("q_date", "31/02/2026"),
        ("q_time", "25:00"),
        ("q_single", [1, 2, 3]),
        ("q_multi", [999999]),  # not one of its options
        ("q_proposal", "100"),  # a phase not reached
    ],
)
def test_a_bad_value_is_422_keyed_by_the_question_code_and_nothing_is_saved(
    api_as, agent, sales, ticket, question, value
):
    q = getattr(sales, question)
    body = [{"question": sales.q_memo.code, "value": "ok"}, {"question": q.code, "value": value}]
    error = assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/answers", body), 422, "invalid", q.code)
    assert set(error["fields"]) == {q.code}
    assert not Answer.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"question": "8.88", "value": "x"}], "8.88"),
        ([{"question": "1.01", "value": "x"}, {"question": "1.01", "value": "y"}], "1.01"),
        ([{"value": "x"}], "0.question"),
        ([{"question": 1, "value": "x"}], "0.question"),  # a question by its code, never its id
        ([{"question": "1.01", "value": "x", "version": -1}], "0.version"),
        ([{"question": "1.01", "value": "x", "version": "1"}], "0.version"),
        ([{"question": "1.01", "value": True}], "0.value"),
        ([{"question": "1.01", "value": "x", "extra": 1}], "0.extra"),
        ({"question": "1.01"}, "body"),
    ],
)
def test_a_malformed_save_names_the_field(api_as, agent, ticket, body, field):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/answers", body), 422, "invalid", field)


def test_an_earlier_phase_is_locked_until_unlocked(api_as, agent, sales, ticket):
    api = api_as(agent)
    api.post(f"/tickets/{ticket.pk}/answers", [{"question": sales.q_single.code, "value": [sales.o_site.pk]}])
    api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta", "move_on": True})
    cycle = api.get(f"/tickets/{ticket.pk}/cycle").body
    assert phase(cycle, "1")["state"] == "locked" and phase(cycle, "2")["state"] == "current"
    body = [{"question": sales.q_text.code, "value": "Depois"}]
    error = assert_error(api.post(f"/tickets/{ticket.pk}/answers", body), 409, "phase_locked")
    assert error["crs"][0]["code"] == "1"
    response = api.post(f"/tickets/{ticket.pk}/unlock", {"cr": "1", "reason": "Corrigir o contato"})
    assert response.status_code == 200, response.body
    assert response.body["cr"]["code"] == "1" and response.body["reason"] == "Corrigir o contato"
    unlock = CrUnlock.objects.get(ticket=ticket)
    assert unlock.by == agent
    assert api.post(f"/tickets/{ticket.pk}/unlock", {"cr": "1"}).body["id"] == unlock.pk  # recorded once
    assert phase(api.get(f"/tickets/{ticket.pk}/cycle").body, "1")["state"] == "unlocked"
    assert api.post(f"/tickets/{ticket.pk}/answers", body).status_code == 200
    history = api.get(f"/tickets/{ticket.pk}/history").body
    assert history["unlocks"][0]["cr"]["code"] == "1"


@pytest.mark.parametrize(("cr", "field"), [("1", "cr"), ("2", "cr"), ("77", "cr"), ("", "cr")])
def test_unlocking_what_is_not_locked_is_422(api_as, agent, ticket, cr, field):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/unlock", {"cr": cr}), 422, "invalid", field)
    assert not CrUnlock.objects.exists()


def test_the_cycle_needs_a_token_access_and_membership(api_as, anonymous, agent, outsider, sales, ticket):
    save = [{"question": sales.q_text.code, "value": "X"}]
    for method, path, body in [
        ("GET", "cycle", None),
        ("POST", "answers", save),
        ("POST", "unlock", {"cr": "1"}),
    ]:
        assert_error(anonymous.call(method, f"/tickets/{ticket.pk}/{path}", body), 401)
        assert_error(api_as(agent).call(method, f"/tickets/999999/{path}", body), 404)
    sales.cr_prospect.members.add(agent)
    assert api_as(outsider).get(f"/tickets/{ticket.pk}/cycle").status_code == 200  # reading is not working
    assert_error(api_as(outsider).post(f"/tickets/{ticket.pk}/answers", save), 403, "not_allowed")
    hide_everything_from(outsider)
    assert_error(api_as(outsider).get(f"/tickets/{ticket.pk}/cycle"), 404)
    assert_error(api_as(outsider).post(f"/tickets/{ticket.pk}/answers", save), 404)
    assert not Answer.objects.exists()


def test_a_default_option_is_offered_as_a_suggestion_and_never_saved_unless_sent(api_as, agent, sales, ticket):
    sales.o_site.checked_by_default = True  # the required origin has a default too
    sales.o_site.save()
    api = api_as(agent)
    questions = {q["code"]: q for q in phase(api.get(f"/tickets/{ticket.pk}/cycle").body, "1")["questions"]}
    assert [(o["label"], o["checked_by_default"]) for o in questions["1.08"]["options"]] == [
        ("ERP", True),
        ("CRM", False),
        ("Outro", False),
    ]
    assert questions["1.08"]["answer"] is None and questions["1.07"]["answer"] is None
    response = api.post(f"/tickets/{ticket.pk}/answers", [{"question": "1.01", "value": "Maria"}])
    assert [r["question"] for r in response.body["results"]] == ["1.01"]
    assert list(Answer.objects.filter(ticket=ticket).values_list("question_code", flat=True)) == ["1.01"]
    # A default is no answer: the required question still blocks moving on.
    error = assert_error(
        api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta", "move_on": True}), 422, "required_unanswered"
    )
    assert [q["code"] for q in error["questions"]] == ["1.07"]

"""/config: CRs, workflows, cycles, service types and CRM options."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

from ciclo.accounts.models import ApiToken
from ciclo.api.errors import api_path
from ciclo.configurator.models import (
    CrmOptions,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.history.models import Change
from tests.api.helpers import assert_error, history_is_empty
from tests.factory import make_cr, make_ticket


def changes(model: type, action: str | None = None) -> list[Change]:
    qs = Change.objects.filter(content_type=ContentType.objects.get_for_model(model))
    return list(qs.filter(action=action) if action else qs)


def history() -> list[tuple[str, str, str]]:
    """Every history row but the tests' own tokens': (model, object, action)."""
    token = ContentType.objects.get_for_model(ApiToken)
    rows = Change.objects.exclude(content_type=token).select_related("content_type").order_by("id")
    return [(c.content_type.model, c.object_repr, c.action) for c in rows]


def refused(response: Any, status: int, code: str, path: str, rule: str) -> dict[str, Any]:
    """The error names `path` among its fields and carries a problem of `rule` there."""
    error = assert_error(response, status, code, path)
    assert {"rule": rule, "path": path} in [{"rule": p["rule"], "path": p["path"]} for p in error["problems"]], error
    # The fields are the problems, by path.
    by_path: dict[str, list[str]] = {}
    for problem in error["problems"]:
        by_path.setdefault(problem["path"], []).append(problem["message"])
    assert by_path == error["fields"]
    return error


def as_body(read: dict[str, Any]) -> dict[str, Any]:
    """What a workflow or cycle reads back, as a PUT takes it: ids of options kept, what only a read gives left out."""
    body = {k: v for k, v in read.items() if k not in {"id", "steps", "questions"}}
    if "steps" in read:
        body["steps"] = [
            {k: v for k, v in s.items() if k not in {"id", "closes_process"} and v is not None}
            | {"options": [{k: v for k, v in o.items() if k != "position"} for o in s["options"]]}
            for s in read["steps"]
        ]
    if "questions" in read:
        body["questions"] = [
            {k: v for k, v in q.items() if k != "id"}
            | {"options": [{k: v for k, v in o.items() if k != "position"} for o in q["options"]]}
            for q in read["questions"]
        ]
    return body


def simple_workflow(code: str = "suporte", closing: str = "9", working: str = "1") -> dict[str, Any]:
    return {
        "code": code,
        "description": "Suporte",
        "steps": [
            {"order": 0, "kind": "cr", "cr": working, "next_order": 10},
            {
                "order": 10,
                "kind": "decision",
                "question": "Resolvido?",
                "options": [{"label": "Sim", "target_order": 20}, {"label": "Não", "target_order": 0}],
            },
            {"order": 20, "kind": "cr", "cr": closing},
        ],
    }


# ---- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/config/crs", "/config/workflows", "/config/cycles", "/config/service-types"])
def test_any_role_reads_the_configuration(api_as, agent, sales, path):
    response = api_as(agent).get(path)
    assert response.status_code == 200 and response.body


@pytest.mark.parametrize(
    "path",
    ["/config/crs", "/config/workflows/vendas", "/config/cycles", "/config/service-types/1.1", "/config/crm-options"],
)
def test_reading_the_configuration_needs_a_token(anonymous, sales, path):
    assert_error(anonymous.get(path), 401)


def test_a_workflow_reads_with_its_steps_and_options_by_code(api_as, agent, sales):
    body = api_as(agent).get("/config/workflows/vendas").body
    assert [s["order"] for s in body["steps"]] == [0, 5, 10, 15, 20]
    decision = body["steps"][2]
    assert decision["kind"] == "decision" and decision["question"] == "Fechou negócio?"
    assert [(o["label"], o["target_order"]) for o in decision["options"]] == [("Sim", 20), ("Não", 15)]
    assert body["steps"][4] == {**body["steps"][4], "cr": "9", "closes_process": True, "next_order": None}


def test_a_cycle_reads_with_questions_and_options(api_as, agent, sales):
    body = api_as(agent).get("/config/cycles/ciclo-vendas").body
    codes = [q["code"] for q in body["questions"]]
    assert codes[:3] == ["1.01", "1.02", "1.03"] and "9.01" in codes
    single = next(q for q in body["questions"] if q["code"] == "1.07")
    assert single["required"] and single["cr"] == "1"
    assert [o["label"] for o in single["options"]] == ["Site", "Indicação"]


@pytest.mark.parametrize(
    "path", ["/config/crs/77", "/config/workflows/nope", "/config/cycles/nope", "/config/service-types/8.8"]
)
def test_an_unknown_definition_is_404(api_as, agent, sales, path):
    assert_error(api_as(agent).get(path), 404, "not_found")


# ---- responsibility centers -------------------------------------------------------------------


def test_an_admin_creates_a_cr_with_members(api_as, admin_user, agent):
    response = api_as(admin_user).post(
        "/config/crs", {"code": "4", "description": "Pós-venda", "members": ["agent_t", "agent_t"]}
    )
    assert response.status_code == 201, response.body
    assert response.body["members"] == ["agent_t"]
    cr = ResponsibilityCenter.objects.get(code="4")
    assert list(cr.members.all()) == [agent]
    [change] = changes(ResponsibilityCenter, Change.Action.CREATED)
    assert change.by == admin_user and change.changes["members"] == [[], ["agent_t"]]


def test_only_an_admin_writes_the_configuration(api_as, supervisor, sales):
    api = api_as(supervisor)
    assert_error(api.post("/config/crs", {"code": "4", "description": "X"}), 403, "forbidden")
    assert_error(api.patch("/config/crs/1", {"active": False}), 403)
    assert_error(api.delete("/config/crs/1"), 403)
    assert_error(api.put("/config/workflows/vendas", simple_workflow("vendas")), 403)
    assert_error(api.post("/config/cycles", {"code": "c", "description": "C"}), 403)
    assert_error(api.post("/config/service-types", {"code": "2", "description": "X", "kind": "synthetic"}), 403)
    assert_error(api.put("/config/crm-options", {"use_cycle_in_followup": False}), 403)
    assert history_is_empty()
    assert ResponsibilityCenter.objects.get(code="1").active


def test_writing_the_configuration_needs_a_token(anonymous, sales):
    assert_error(anonymous.post("/config/crs", {"code": "4", "description": "X"}), 401)
    assert_error(anonymous.delete("/config/crs/1"), 401)


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"code": "1", "description": "Duplicated"}, "code", "duplicate"),
        ({"code": "1.x", "description": "Bad classification"}, "code", "invalid"),
        ({"code": "5", "description": "X", "members": ["ghost"]}, "members.0", "not_found"),
        # What the schema forbids is refused before any rule runs: no problems then.
        ({"code": "5", "description": ""}, "description", None),
        ({"code": "5"}, "description", None),
    ],
)
def test_a_bad_cr_is_422_naming_the_field_and_nothing_is_written(api_as, admin_user, sales, body, field, rule):
    count = ResponsibilityCenter.objects.count()
    response = api_as(admin_user).post("/config/crs", body)
    if rule is None:
        assert "problems" not in assert_error(response, 422, "invalid", field)
    else:
        refused(response, 422, "invalid", field, rule)
    assert ResponsibilityCenter.objects.count() == count
    assert history_is_empty()


def test_deleting_a_cr_in_use_is_409_and_deactivating_it_works(api_as, admin_user, sales):
    api = api_as(admin_user)
    error = refused(api.delete("/config/crs/1"), 409, "in_use", "__all__", "in_use")
    assert "deactivate it instead" in error["message"] and "workflow steps (1)" in error["message"]
    assert error["used_by"] == []
    assert ResponsibilityCenter.objects.filter(code="1").exists()
    assert not changes(ResponsibilityCenter, Change.Action.DELETED)
    response = api.patch("/config/crs/1", {"active": False, "description": "Prospecção (antiga)"})
    assert response.status_code == 200 and response.body["active"] is False
    # One row for the one row changed, recorded as a deactivation.
    assert history() == [("responsibilitycenter", "1 · Prospecção (antiga)", Change.Action.DEACTIVATED)]
    [change] = changes(ResponsibilityCenter, Change.Action.DEACTIVATED)
    assert change.changes == {"active": [True, False], "description": ["Prospecção", "Prospecção (antiga)"]}


def test_deleting_an_unused_cr_records_it(api_as, admin_user):
    make_cr("7", description="Sem uso")
    assert api_as(admin_user).delete("/config/crs/7").status_code == 204
    assert not ResponsibilityCenter.objects.filter(code="7").exists()
    [change] = changes(ResponsibilityCenter, Change.Action.DELETED)
    assert change.changes["code"] == ["7", None]


def test_a_cr_that_stops_closing_would_break_its_workflows_so_it_is_refused(api_as, admin_user, sales):
    response = api_as(admin_user).patch("/config/crs/9", {"closes_process": False})
    error = refused(response, 422, "invalid", "closes_process", "step_shape")
    assert any("vendas" in m for m in error["fields"]["closes_process"])
    assert ResponsibilityCenter.objects.get(code="9").closes_process
    assert history_is_empty()


def test_a_workflow_already_broken_does_not_stop_a_closing_change_that_breaks_nothing_new(api_as, admin_user, sales):
    # Saved before the rules held: step 20 cannot be reached. Making CR 3 close breaks nothing more.
    broken = Workflow.objects.create(code="antigo", description="Antigo")
    WorkflowStep.objects.create(workflow=broken, order=0, kind="cr", cr=sales.cr_negotiation, next_order=10)
    WorkflowStep.objects.create(workflow=broken, order=10, kind="cr", cr=sales.cr_closed)
    WorkflowStep.objects.create(workflow=broken, order=20, kind="cr", cr=sales.cr_prospect, next_order=10)
    response = api_as(admin_user).patch("/config/crs/3", {"closes_process": True})
    assert response.status_code == 200, response.body
    assert ResponsibilityCenter.objects.get(code="3").closes_process
    # A change that does break it anew is still refused, and names the workflow.
    response = api_as(admin_user).patch("/config/crs/9", {"closes_process": False})
    error = refused(response, 422, "invalid", "closes_process", "step_shape")
    assert any("antigo" in m for m in error["fields"]["closes_process"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/config/crs/1", {}),
        ("PATCH", "/config/crs/1", {"description": "Prospecção", "members": []}),
        ("PATCH", "/config/workflows/vendas", {"active": True}),
        ("PATCH", "/config/cycles/ciclo-vendas", {}),
        ("PATCH", "/config/service-types/1.1", {"priority": 2, "workflow": "vendas"}),
        ("PUT", "/config/workflows/vendas", None),
        ("PUT", "/config/cycles/ciclo-vendas", None),
    ],
)
def test_writing_what_is_saved_changes_nothing_and_writes_no_history(api_as, admin_user, sales, method, path, body):
    api = api_as(admin_user)
    before = api.get(path).body
    response = api.call(method, path, as_body(before) if body is None else body)
    assert response.status_code == 200, response.body
    assert response.body == before
    assert history_is_empty()


def test_a_cr_is_renamed_by_its_code(api_as, admin_user, sales):
    response = api_as(admin_user).patch("/config/crs/3", {"code": "3.5"})
    assert response.status_code == 200, response.body
    sales.cr_negotiation.refresh_from_db()
    assert sales.cr_negotiation.code == "3.5"
    [change] = changes(ResponsibilityCenter, Change.Action.CHANGED)
    assert change.changes["code"] == ["3", "3.5"] and "description" not in change.changes
    refused(api_as(admin_user).patch("/config/crs/3.5", {"code": "1"}), 422, "invalid", "code", "duplicate")


def test_changing_cr_members_is_history(api_as, admin_user, agent, sales):
    response = api_as(admin_user).patch("/config/crs/2", {"members": ["agent_t"]})
    assert response.body["members"] == ["agent_t"]
    [change] = changes(ResponsibilityCenter, Change.Action.CHANGED)
    assert change.changes == {"members": [[], ["agent_t"]]}


# ---- workflows --------------------------------------------------------------------------------


def test_an_admin_writes_a_whole_workflow_in_one_request(api_as, admin_user, sales):
    response = api_as(admin_user).post("/config/workflows", simple_workflow())
    assert response.status_code == 201, response.body
    workflow = Workflow.objects.get(code="suporte")
    assert [s.order for s in workflow.steps.all()] == [0, 10, 20]
    decision = workflow.steps.get(order=10)
    assert [(o.label, o.target_order, o.position) for o in decision.options.all()] == [
        ("Sim", 20, 1),
        ("Não", 0, 2),
    ]
    assert response.body["steps"][0]["cr"] == "1"
    assert len(changes(Workflow, Change.Action.CREATED)) == 1
    assert len(changes(WorkflowStep, Change.Action.CREATED)) == 3
    assert len(changes(DecisionOption, Change.Action.CREATED)) == 2


@pytest.mark.parametrize(
    ("edit", "path", "rule", "fragment"),
    [
        (lambda w: w["steps"].pop(2), "steps.1", "order_missing", "20"),  # the decision goes to a missing order
        # A CR that does not close, going nowhere.
        (lambda w: w["steps"][0].update(next_order=None), "steps.0", "step_shape", "close"),
        (lambda w: w["steps"][1]["options"].pop(), "steps.1", "step_shape", "two options"),
        (
            lambda w: w["steps"].append({"order": 30, "kind": "cr", "cr": "2", "next_order": 20}),
            "steps.3",
            "unreachable",
            "30",
        ),
        (lambda w: w["steps"][2].update(cr="2", next_order=0), "steps.0", "no_closing", "closing"),
        (
            lambda w: w["steps"].append({"order": 0, "kind": "cr", "cr": "3", "next_order": 10}),
            "steps.3.order",
            "duplicate",
            "0",
        ),
        (
            lambda w: w["steps"][1].update(kind="workflow", target_workflow="nope", target_order=0),
            "steps.1",
            "not_found",
            "nope",
        ),
    ],
)
def test_an_invalid_workflow_is_422_on_the_step_with_its_rule_and_nothing_saved(
    api_as, admin_user, sales, edit, path, rule, fragment
):
    body = simple_workflow()
    edit(body)
    error = refused(api_as(admin_user).post("/config/workflows", body), 422, "invalid", path, rule)
    assert any(fragment in m for m in error["fields"][path]), error
    assert not Workflow.objects.filter(code="suporte").exists()
    assert history_is_empty()


@pytest.mark.parametrize(
    ("edit", "field", "rule"),
    [
        (lambda w: w["steps"][0].update(cr="77"), "steps.0.cr", "not_found"),
        (lambda w: w.update(code="has space"), "code", "invalid"),
        (lambda w: w.update(code="vendas"), "code", "duplicate"),
        (lambda w: w["steps"][0].update(order=-5), "steps.0.order", None),
        (lambda w: w["steps"][1].update(kind="loop"), "steps.1.kind", None),
    ],
)
def test_a_malformed_workflow_names_the_field(api_as, admin_user, sales, edit, field, rule):
    body = simple_workflow()
    edit(body)
    response = api_as(admin_user).post("/config/workflows", body)
    if rule is None:
        assert_error(response, 422, "invalid", field)
    else:
        refused(response, 422, "invalid", field, rule)
    assert Workflow.objects.count() == 1 and history_is_empty()


def test_replacing_a_workflow_keeps_steps_by_order_and_options_by_label(api_as, admin_user, sales, agent):
    make_ticket(sales, agent)
    body = {
        "code": "vendas",
        "description": "Vendas (nova)",
        "steps": [
            {"order": 0, "kind": "cr", "cr": "1", "next_order": 5},
            {"order": 5, "kind": "cr", "cr": "2", "next_order": 10},
            {
                "order": 10,
                "kind": "decision",
                "question": "Fechou o negócio?",
                "options": [{"label": "Não", "target_order": 15}, {"label": "Sim", "target_order": 20}],
            },
            {"order": 15, "kind": "cr", "cr": "3", "next_order": 10},
            {"order": 20, "kind": "cr", "cr": "9"},
        ],
    }
    response = api_as(admin_user).put("/config/workflows/vendas", body)
    assert response.status_code == 200, response.body
    sales.decision.refresh_from_db()
    assert sales.decision.question == "Fechou o negócio?"
    assert [(o.pk, o.position) for o in sales.decision.options.all()] == [(sales.no.pk, 1), (sales.yes.pk, 2)]
    assert WorkflowStep.objects.filter(workflow=sales.workflow).count() == 5
    # One row per row changed: the workflow, the decision, its two options; none for the steps kept as they were.
    assert sorted(history()) == sorted(
        [
            ("workflow", "Vendas (nova)", Change.Action.CHANGED),
            ("workflowstep", str(sales.decision), Change.Action.CHANGED),
            ("decisionoption", str(sales.no), Change.Action.CHANGED),
            ("decisionoption", "Sim → 20", Change.Action.CHANGED),
        ]
    )


def closed_through_yes(api_as, agent, sales):
    """A ticket that took the decision's "Sim": the option is in its history."""
    from ciclo.tickets.answering import AnswerInput, save_answers

    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    api = api_as(agent)
    assert api.post(f"/tickets/{ticket.pk}/notes", {"text": "Proposta", "move_on": True}).status_code == 201
    choice = {"step": sales.decision.order, "option": sales.yes.pk}
    response = api.post(f"/tickets/{ticket.pk}/notes", {"text": "Fechou", "move_on": True, "choices": [choice]})
    assert response.status_code == 201, response.body
    Change.objects.all().delete()  # the history of this change only


@pytest.mark.parametrize("with_id", [False, True])
def test_renaming_a_decision_option_keeps_it(api_as, admin_user, agent, sales, with_id):
    closed_through_yes(api_as, agent, sales)
    api = api_as(admin_user)
    body = as_body(api.get("/config/workflows/vendas").body)
    options = body["steps"][2]["options"]
    assert [o["label"] for o in options] == ["Sim", "Não"]
    options[0]["label"] = "Sim, fechou"
    if not with_id:
        for option in options:
            del option["id"]
    response = api.put("/config/workflows/vendas", body)
    assert response.status_code == 200, response.body
    assert [(o["id"], o["label"]) for o in response.body["steps"][2]["options"]] == [
        (sales.yes.pk, "Sim, fechou"),
        (sales.no.pk, "Não"),
    ]
    assert history() == [("decisionoption", "Sim, fechou → 20", Change.Action.CHANGED)]
    [change] = changes(DecisionOption)
    assert change.changes == {"label": ["Sim", "Sim, fechou"]}


def test_an_option_in_use_left_out_is_409_and_nothing_is_written(api_as, admin_user, agent, sales):
    closed_through_yes(api_as, agent, sales)
    api = api_as(admin_user)
    body = as_body(api.get("/config/workflows/vendas").body)
    body["steps"][2]["options"] = [{"label": "Não", "target_order": 15}]
    error = refused(api.put("/config/workflows/vendas", body), 409, "in_use", "steps.2.options", "in_use")
    assert "Option “Sim” was chosen on tickets" in error["message"]
    assert {p["rule"] for p in error["problems"]} == {"in_use", "step_shape"}  # every problem, not the first
    assert [o.label for o in sales.decision.options.all()] == ["Sim", "Não"]
    assert history_is_empty()


def test_replacing_a_workflow_without_a_step_tickets_used_is_409(api_as, admin_user, sales, agent):
    make_ticket(sales, agent)  # sits at order 0
    body = simple_workflow("vendas")
    body["steps"][0]["order"] = 1
    body["steps"][1]["options"][1]["target_order"] = 1
    error = refused(api_as(admin_user).put("/config/workflows/vendas", body), 409, "in_use", "steps", "in_use")
    assert "Step 0 is used by tickets" in error["message"] and "Deactivate it instead" in error["message"]
    assert sorted(sales.workflow.steps.values_list("order", flat=True)) == [0, 5, 10, 15, 20]
    assert history_is_empty()


def test_a_workflow_change_that_breaks_its_service_type_is_refused(api_as, admin_user, sales):
    # The cycle asks questions in CR 2 (Proposta): a workflow without it breaks type 1.1.
    response = api_as(admin_user).put("/config/workflows/vendas", simple_workflow("vendas"))
    error = refused(response, 422, "invalid", "__all__", "cycle_off_route")
    assert any("1.1" in m for m in error["fields"]["__all__"])
    assert sales.workflow.steps.count() == 5


def test_a_change_that_breaks_a_workflow_jumping_in_is_refused(api_as, admin_user, sales):
    api = api_as(admin_user)
    jumper = {
        "code": "triagem",
        "description": "Triagem",
        "steps": [
            {"order": 0, "kind": "cr", "cr": "3", "next_order": 5},
            {"order": 5, "kind": "workflow", "target_workflow": "suporte", "target_order": 10},
        ],
    }
    assert api.post("/config/workflows", simple_workflow()).status_code == 201
    assert api.post("/config/workflows", jumper).status_code == 201, "jump into suporte@10"
    body = simple_workflow()
    body["steps"][1]["order"] = 15
    body["steps"][0]["next_order"] = 15
    error = refused(api.put("/config/workflows/suporte", body), 422, "invalid", "__all__", "order_missing")
    assert any("triagem" in m for m in error["fields"]["__all__"])


def test_deleting_a_used_workflow_is_409_then_it_is_deactivated(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert_error(api.delete("/config/workflows/vendas"), 409, "in_use")
    response = api.patch("/config/workflows/vendas", {"active": False})
    assert response.status_code == 200 and response.body["active"] is False
    assert history() == [("workflow", "Vendas", Change.Action.DEACTIVATED)]
    assert api.post("/config/workflows", simple_workflow()).status_code == 201
    assert api.delete("/config/workflows/suporte").status_code == 204
    assert not Workflow.objects.filter(code="suporte").exists()


# ---- cycles -----------------------------------------------------------------------------------


def cycle_body(**kw: Any) -> dict[str, Any]:
    body = {
        "code": "ciclo-suporte",
        "description": "Ciclo de suporte",
        "questions": [
            {"code": "1.01", "cr": "1", "text": "Sistema", "answer_type": "short_text", "required": True},
            {
                "code": "1.02",
                "cr": "1",
                "text": "Urgência",
                "answer_type": "single_choice",
                "options": [{"label": "Alta"}, {"label": "Baixa", "checked_by_default": True}],
            },
            {"code": "1.03", "cr": "1", "text": "Horas", "answer_type": "number", "min_value": "0"},
        ],
    }
    body.update(kw)
    return body


def test_an_admin_writes_a_whole_cycle(api_as, admin_user, sales):
    response = api_as(admin_user).post("/config/cycles", cycle_body())
    assert response.status_code == 201, response.body
    cycle = ServiceCycle.objects.get(code="ciclo-suporte")
    assert [q.code for q in cycle.questions.order_by("code_key")] == ["1.01", "1.02", "1.03"]
    urgency = cycle.questions.get(code="1.02")
    assert [(o.label, o.checked_by_default, o.position) for o in urgency.options.all()] == [
        ("Alta", False, 1),
        ("Baixa", True, 2),
    ]
    assert response.body["questions"][2]["min_value"] == "0"
    assert len(changes(Question, Change.Action.CREATED)) == 3
    assert len(changes(Option, Change.Action.CREATED)) == 2


@pytest.mark.parametrize(
    ("edit", "field", "rule"),
    [
        (lambda c: c["questions"][0].update(cr="77"), "questions.0.cr", "not_found"),
        (lambda c: c["questions"][1].update(code="1.01"), "questions.1.code", "duplicate"),
        (lambda c: c["questions"][0].update(code="x"), "questions.0.code", "invalid"),
        (lambda c: c["questions"][0].update(answer_type="colour"), "questions.0.answer_type", None),
        (lambda c: c["questions"][2].update(min_value="1e30"), "questions.2.min_value", None),
        (lambda c: c["questions"][1]["options"][0].update(label=""), "questions.1.options.0.label", None),
    ],
)
def test_a_bad_cycle_names_the_field_and_nothing_is_written(api_as, admin_user, sales, edit, field, rule):
    body = cycle_body()
    edit(body)
    response = api_as(admin_user).post("/config/cycles", body)
    if rule is None:
        assert_error(response, 422, "invalid", field)
    else:
        refused(response, 422, "invalid", field, rule)
    assert not ServiceCycle.objects.filter(code="ciclo-suporte").exists()
    assert history_is_empty()


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda c: c["questions"][0].update(min_value="1"), "questions.0.min_value", "apply only to numbers"),
        (lambda c: c["questions"][2].update(min_value="5", max_value="1"), "questions.2.max_value", "maximum"),
        (
            lambda c: c["questions"][0].update(options=[{"label": "Sim"}]),
            "questions.0.options",
            "Only the multiple-choice answer types have options",
        ),
        (lambda c: c["questions"][1].update(options=[]), "questions.1.options", "at least one active option"),
        (
            lambda c: c["questions"][1].update(options=[{"label": "Alta", "active": False}]),
            "questions.1.options",
            "at least one active option",
        ),
        (
            lambda c: c["questions"][1]["options"].append({"label": " alta "}),
            "questions.1.options.2.label",
            "Another option of this question reads “alta”",
        ),
        (
            lambda c: c["questions"][1]["options"][0].update(checked_by_default=True),
            "questions.1.options",
            "only one option checked by default",
        ),
    ],
)
def test_a_question_breaking_a_rule_is_refused_and_nothing_is_written(api_as, admin_user, sales, edit, field, message):
    body = cycle_body()
    edit(body)
    error = assert_error(api_as(admin_user).post("/config/cycles", body), 422, "invalid", field)
    assert any(message in m for m in error["fields"][field]), error
    assert not ServiceCycle.objects.filter(code="ciclo-suporte").exists()
    assert history_is_empty()


def test_a_replaced_cycle_is_checked_by_the_same_rules(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert api.post("/config/cycles", cycle_body()).status_code == 201
    body = cycle_body()
    body["questions"][1]["answer_type"] = "short_text"  # keeps its options
    error = assert_error(api.put("/config/cycles/ciclo-suporte", body), 422, "invalid", "questions.1.options")
    assert error["fields"]["questions.1.options"]
    assert ServiceCycle.objects.get(code="ciclo-suporte").questions.get(code="1.02").answer_type == "single_choice"


def test_a_question_with_answers_cannot_be_removed(api_as, admin_user, agent, sales):
    from ciclo.tickets.answering import AnswerInput, save_answers

    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "Maria")], by=agent)
    current = api_as(admin_user).get("/config/cycles/ciclo-vendas").body
    body = {
        "code": "ciclo-vendas",
        "description": "Ciclo de vendas",
        "questions": [
            {k: v for k, v in q.items() if k not in {"id"}} for q in current["questions"] if q["code"] != "1.01"
        ],
    }
    for q in body["questions"]:
        q["options"] = [{k: v for k, v in o.items() if k != "position"} for o in q["options"]]
    assert_error(api_as(admin_user).put("/config/cycles/ciclo-vendas", body), 409, "in_use")
    assert Question.objects.filter(pk=sales.q_text.pk).exists()
    body["questions"].append(
        {"code": "1.01", "cr": "1", "text": "Contato", "answer_type": "short_text", "active": False}
    )
    response = api_as(admin_user).put("/config/cycles/ciclo-vendas", body)
    assert response.status_code == 200, response.body
    sales.q_text.refresh_from_db()
    assert sales.q_text.active is False
    assert len(changes(Question, Change.Action.DEACTIVATED)) == 1


def test_a_cycle_asking_in_a_cr_the_workflow_never_passes_breaks_its_type(api_as, admin_user, sales):
    make_cr("8", description="Fora do fluxo")
    body = as_body(api_as(admin_user).get("/config/cycles/ciclo-vendas").body)
    body["questions"].append({"code": "8.01", "cr": "8", "text": "Fora", "answer_type": "short_text"})
    response = api_as(admin_user).put("/config/cycles/ciclo-vendas", body)
    error = refused(response, 422, "invalid", "__all__", "cycle_off_route")
    assert any("1.1" in m and "8" in m for m in error["fields"]["__all__"])
    assert not Question.objects.filter(code="8.01").exists()


def test_an_answered_questions_type_does_not_change(api_as, admin_user, agent, sales):
    from ciclo.tickets.answering import AnswerInput, save_answers

    save_answers(make_ticket(sales, agent), [AnswerInput(sales.q_text.pk, "Maria")], by=agent)
    Change.objects.all().delete()
    api = api_as(admin_user)
    body = as_body(api.get("/config/cycles/ciclo-vendas").body)
    assert body["questions"][0]["code"] == "1.01"
    body["questions"][0]["answer_type"] = "number"
    body["description"] = "Ciclo de vendas (novo)"
    error = refused(
        api.put("/config/cycles/ciclo-vendas", body), 422, "invalid", "questions.0.answer_type", "answered_type"
    )
    assert "has answers" in error["fields"]["questions.0.answer_type"][0]
    sales.q_text.refresh_from_db()
    assert sales.q_text.answer_type == "short_text"
    assert ServiceCycle.objects.get(code="ciclo-vendas").description == "Ciclo de vendas"
    assert history_is_empty()
    # An unanswered question changes type.
    body["questions"][0]["answer_type"] = "short_text"
    body["questions"][1]["answer_type"] = "short_text"
    response = api.put("/config/cycles/ciclo-vendas", body)
    assert response.status_code == 200, response.body
    assert Question.objects.get(pk=sales.q_memo.pk).answer_type == "short_text"


@pytest.mark.parametrize("with_id", [False, True])
def test_renaming_a_question_option_keeps_it(api_as, admin_user, agent, sales, with_id):
    from ciclo.tickets.answering import AnswerInput, save_answers

    save_answers(make_ticket(sales, agent), [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    Change.objects.all().delete()
    api = api_as(admin_user)
    body = as_body(api.get("/config/cycles/ciclo-vendas").body)
    single = next(q for q in body["questions"] if q["code"] == "1.07")
    single["options"][0]["label"] = "Site da empresa"
    if not with_id:
        for option in single["options"]:
            del option["id"]
    response = api.put("/config/cycles/ciclo-vendas", body)
    assert response.status_code == 200, response.body
    read = next(q for q in response.body["questions"] if q["code"] == "1.07")
    assert [(o["id"], o["label"]) for o in read["options"]] == [
        (sales.o_site.pk, "Site da empresa"),
        (sales.o_referral.pk, "Indicação"),
    ]
    [change] = changes(Option)
    assert change.action == Change.Action.CHANGED and change.changes == {"label": ["Site", "Site da empresa"]}
    assert len(history()) == 1


# ---- service types ----------------------------------------------------------------------------


def test_an_admin_creates_a_service_type_referring_by_codes(api_as, admin_user, sales):
    body = {"code": "1.2", "description": "Renovação", "workflow": "vendas", "cycle": "ciclo-vendas", "priority": 1}
    response = api_as(admin_user).post("/config/service-types", body)
    assert response.status_code == 201, response.body
    assert response.body["parent"] == "1" and response.body["workflow"] == "vendas"
    assert ServiceType.objects.get(code="1.2").parent == sales.group
    assert len(changes(ServiceType, Change.Action.CREATED)) == 1


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"code": "2.1", "description": "Órfão", "workflow": "vendas"}, "code", "not_under_group"),  # no group 2
        ({"code": "1.2", "description": "Sem fluxo"}, "workflow", "no_workflow"),
        ({"code": "1.2", "description": "X", "workflow": "nope"}, "workflow", "not_found"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "cycle": "nope"}, "cycle", "not_found"),
        ({"code": "1.1", "description": "Duplicado", "workflow": "vendas"}, "code", "duplicate"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "colour": "red"}, "colour", "invalid"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "priority": 9}, "priority", None),
    ],
)
def test_a_bad_service_type_is_422_naming_the_field(api_as, admin_user, sales, body, field, rule):
    count = ServiceType.objects.count()
    response = api_as(admin_user).post("/config/service-types", body)
    if rule is None:
        assert_error(response, 422, "invalid", field)
    else:
        refused(response, 422, "invalid", field, rule)
    assert ServiceType.objects.count() == count and history_is_empty()


def test_a_service_type_whose_cycle_asks_outside_its_workflow_is_refused(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert api.post("/config/workflows", simple_workflow()).status_code == 201
    body = {"code": "1.2", "description": "X", "workflow": "suporte", "cycle": "ciclo-vendas"}
    error = refused(api.post("/config/service-types", body), 422, "invalid", "cycle", "cycle_off_route")
    assert "2" in " ".join(error["fields"]["cycle"])


def test_a_group_with_types_under_it_stays_a_group(api_as, admin_user, sales):
    body = {"kind": "analytical", "workflow": "vendas"}
    response = api_as(admin_user).patch("/config/service-types/1", body)
    error = refused(response, 422, "invalid", "kind", "orphaned_types")
    assert "1.1" in error["fields"]["kind"][0]
    sales.group.refresh_from_db()
    assert sales.group.kind == "synthetic" and sales.group.workflow is None
    assert ServiceType.objects.get(code="1.1").parent == sales.group
    assert history_is_empty()


def test_a_type_used_by_tickets_keeps_its_kind(api_as, admin_user, agent, sales):
    make_ticket(sales, agent)
    Change.objects.all().delete()
    response = api_as(admin_user).patch("/config/service-types/1.1", {"kind": "synthetic"})
    refused(response, 422, "invalid", "kind", "used_type_kind")
    assert ServiceType.objects.get(code="1.1").kind == "analytical" and history_is_empty()


def test_a_service_type_in_use_is_deactivated_not_deleted(api_as, admin_user, agent, sales):
    make_ticket(sales, agent)
    api = api_as(admin_user)
    assert_error(api.delete("/config/service-types/1.1"), 409, "in_use")
    response = api.patch("/config/service-types/1.1", {"active": False})
    assert response.status_code == 200 and response.body["active"] is False
    assert [(m, a) for m, _o, a in history()] == [("servicetype", Change.Action.DEACTIVATED)]


# ---- CRM options ------------------------------------------------------------------------------


def test_crm_options_read_and_write(api_as, admin_user, supervisor, sales):
    assert api_as(supervisor).get("/config/crm-options").body["use_cycle_in_followup"] is True
    response = api_as(admin_user).put(
        "/config/crm-options",
        {"use_cycle_in_followup": False, "collection_delegate_user": "supervisor_t", "collection_days_overdue": 10},
    )
    assert response.status_code == 200, response.body
    assert response.body["collection_delegate_user"] == "supervisor_t"
    options = CrmOptions.current()
    assert not options.use_cycle_in_followup and options.collection_delegate_user == supervisor
    [change] = changes(CrmOptions)
    assert change.changes["use_cycle_in_followup"] == [True, False]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"collection_analytical_type": "1"}, "collection_analytical_type"),  # a synthetic type
        ({"collection_synthetic_type": "7.7"}, "collection_synthetic_type"),
        ({"automatic_note_user": "ghost"}, "automatic_note_user"),
        ({"collection_grouping": "company"}, "collection_grouping"),
        ({"collection_days_overdue": None}, "collection_days_overdue"),
    ],
)
def test_bad_crm_options_are_422(api_as, admin_user, sales, body, field):
    assert_error(api_as(admin_user).put("/config/crm-options", body), 422, "invalid", field)
    assert CrmOptions.current().collection_analytical_type is None and history_is_empty()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/config/crs/77", {"active": False}),
        ("DELETE", "/config/crs/77", None),
        ("PUT", "/config/workflows/nope", simple_workflow("nope")),
        ("PATCH", "/config/workflows/nope", {"active": False}),
        ("DELETE", "/config/workflows/nope", None),
        ("PUT", "/config/cycles/nope", {"code": "nope", "description": "X"}),
        ("PATCH", "/config/cycles/nope", {"active": False}),
        ("DELETE", "/config/cycles/nope", None),
        ("PATCH", "/config/service-types/8.8", {"active": False}),
        ("DELETE", "/config/service-types/8.8", None),
    ],
)
def test_writing_an_unknown_definition_is_404(api_as, admin_user, sales, method, path, body):
    assert_error(api_as(admin_user).call(method, path, body), 404, "not_found")
    assert history_is_empty()


def test_a_cycle_in_use_is_deactivated_and_an_unused_one_deleted(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert_error(api.delete("/config/cycles/ciclo-vendas"), 409, "in_use")
    response = api.patch("/config/cycles/ciclo-vendas", {"active": False, "description": "Antigo"})
    assert response.status_code == 200 and response.body["active"] is False
    assert response.body["description"] == "Antigo"
    assert history() == [("servicecycle", "Antigo", Change.Action.DEACTIVATED)]
    assert api.post("/config/cycles", cycle_body()).status_code == 201
    assert api.delete("/config/cycles/ciclo-suporte").status_code == 204
    assert not ServiceCycle.objects.filter(code="ciclo-suporte").exists()
    assert len(changes(ServiceCycle, Change.Action.DELETED)) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/config/crs/1", {"description": None}, "description"),
        ("/config/workflows/vendas", {"active": None}, "active"),
        ("/config/cycles/ciclo-vendas", {"description": ""}, "description"),
        ("/config/service-types/1.1", {"code": None}, "code"),
        ("/config/service-types/1.1", {"workflow": None}, "workflow"),  # an analytical type needs one
    ],
)
def test_a_bad_patch_is_422_naming_the_field(api_as, admin_user, sales, path, body, field):
    assert_error(api_as(admin_user).patch(path, body), 422, "invalid", field)
    assert history_is_empty()


def test_the_collection_types_follow_the_admins_rules(api_as, admin_user, agent, sales):
    api = api_as(admin_user)
    ServiceType.objects.create(code="2", description="Cobrança", kind=ServiceType.Kind.SYNTHETIC)
    ServiceType.objects.create(code="2.1", description="Cobrança automática", workflow=sales.workflow)
    body = {"collection_synthetic_type": "2", "collection_analytical_type": "1.1"}
    assert_error(api.put("/config/crm-options", body), 422, "invalid", "collection_analytical_type")
    body = {"collection_synthetic_type": "2", "collection_analytical_type": "2.1"}
    response = api.put("/config/crm-options", body)
    assert response.status_code == 200, response.body
    assert response.body["collection_analytical_type"] == "2.1"
    make_ticket(sales, agent, service_type=ServiceType.objects.get(code="2.1"))  # a collection exists now
    error = assert_error(
        api.put("/config/crm-options", {"collection_synthetic_type": "1", "collection_analytical_type": "1.1"}),
        422,
        "invalid",
        "collection_analytical_type",
    )
    assert "locked" in " ".join(error["fields"]["collection_analytical_type"])
    assert CrmOptions.current().collection_analytical_type.code == "2.1"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("steps[2].cr", "steps.2.cr"),
        ("questions[1].options[0].label", "questions.1.options.0.label"),
        ("members[3]", "members.3"),
        ("code", "code"),
        ("", "__all__"),
    ],
)
def test_a_problems_path_is_named_as_the_api_names_fields(path, field):
    assert api_path(path) == field


def test_a_change_refused_because_someone_saved_meanwhile_is_a_409_conflict():
    from ciclo.api.errors import configuration_error
    from ciclo.configurator.changes import ConfigurationInvalid, Plan
    from ciclo.configurator.validation import Problem, Rule

    exc = ConfigurationInvalid(Plan(items=[], errors=[Problem(Rule.CONCURRENT, "Changed meanwhile.")]))
    response = configuration_error(exc)
    assert response.status_code == 409
    assert json.loads(response.content)["error"] == {"code": "conflict", "message": "Changed meanwhile.", "fields": {}}


def test_an_option_id_of_another_item_is_refused_on_its_path(api_as, admin_user, sales):
    api = api_as(admin_user)
    workflow = api.get("/config/workflows/vendas").body
    body = {k: workflow[k] for k in ("code", "description", "active")}
    body["steps"] = [{k: v for k, v in step.items() if k not in ("id", "closes_process")} for step in workflow["steps"]]
    decision = next(s for s in body["steps"] if s["kind"] == "decision")
    decision["options"] = [
        {"id": o["id"], "label": o["label"], "target_order": o["target_order"]} for o in decision["options"]
    ]
    decision["options"][0]["id"] = 10**9  # no option of this step
    for step in body["steps"]:
        if step["kind"] != "decision":
            step.pop("options")
            step.pop("question")
    response = api.put("/config/workflows/vendas", body)
    assert response.status_code == 422, response.body
    index = body["steps"].index(decision)
    assert [p["rule"] for p in response.body["error"]["problems"]] == ["not_found"]
    assert f"steps.{index}.options.0.id" in response.body["error"]["fields"]


def test_a_workflow_saved_before_its_rules_held_can_still_be_deactivated(api_as, admin_user, sales):
    WorkflowStep.objects.filter(pk=sales.step_negotiation.pk).update(next_order=12)  # broken underneath
    response = api_as(admin_user).patch("/config/workflows/vendas", {"active": False})
    assert response.status_code == 200, response.body
    assert Workflow.objects.get(code="vendas").active is False
    assert Change.objects.filter(action=Change.Action.DEACTIVATED, object_id=str(sales.workflow.pk)).count() == 1

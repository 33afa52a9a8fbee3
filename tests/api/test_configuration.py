"""/config: CRs, workflows, cycles, service types and CRM options."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

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
    assert change.by == admin_user and change.changes["members"] == [None, ["agent_t"]]


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
    ("body", "field"),
    [
        ({"code": "1", "description": "Duplicated"}, "code"),
        ({"code": "1.x", "description": "Bad classification"}, "code"),
        ({"code": "5", "description": ""}, "description"),
        ({"code": "5", "description": "X", "members": ["ghost"]}, "members.0"),
        ({"code": "5"}, "description"),
    ],
)
def test_a_bad_cr_is_422_naming_the_field_and_nothing_is_written(api_as, admin_user, sales, body, field):
    count = ResponsibilityCenter.objects.count()
    assert_error(api_as(admin_user).post("/config/crs", body), 422, "invalid", field)
    assert ResponsibilityCenter.objects.count() == count
    assert history_is_empty()


def test_deleting_a_cr_in_use_is_409_and_deactivating_it_works(api_as, admin_user, sales):
    api = api_as(admin_user)
    error = assert_error(api.delete("/config/crs/1"), 409, "in_use")
    assert "active=false" in error["message"]
    assert ResponsibilityCenter.objects.filter(code="1").exists()
    assert not changes(ResponsibilityCenter, Change.Action.DELETED)
    response = api.patch("/config/crs/1", {"active": False, "description": "Prospecção (antiga)"})
    assert response.status_code == 200 and response.body["active"] is False
    [change] = changes(ResponsibilityCenter, Change.Action.DEACTIVATED)
    assert change.changes["active"] == [True, False]
    assert change.changes["description"] == ["Prospecção", "Prospecção (antiga)"]


def test_deleting_an_unused_cr_records_it(api_as, admin_user):
    make_cr("7", description="Sem uso")
    assert api_as(admin_user).delete("/config/crs/7").status_code == 204
    assert not ResponsibilityCenter.objects.filter(code="7").exists()
    [change] = changes(ResponsibilityCenter, Change.Action.DELETED)
    assert change.changes["code"] == ["7", None]


def test_a_cr_that_stops_closing_would_break_its_workflows_so_it_is_refused(api_as, admin_user, sales):
    error = assert_error(
        api_as(admin_user).patch("/config/crs/9", {"closes_process": False}), 422, "invalid", "closes_process"
    )
    assert any("vendas" in m for m in error["fields"]["closes_process"])
    assert ResponsibilityCenter.objects.get(code="9").closes_process
    assert history_is_empty()


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
    ("edit", "fragment"),
    [
        (lambda w: w["steps"].pop(2), "20"),  # the decision goes to a missing order
        (lambda w: w["steps"][0].update(next_order=None), "0"),  # a CR that does not close, going nowhere
        (lambda w: w["steps"][1]["options"].pop(), "10"),  # a decision with one option
        (lambda w: w["steps"].append({"order": 30, "kind": "cr", "cr": "2", "next_order": 20}), "30"),  # unreachable
        (lambda w: w["steps"][2].update(cr="2", next_order=0), "closing"),  # no closing CR
        (lambda w: w["steps"].append({"order": 0, "kind": "cr", "cr": "3", "next_order": 10}), "0"),  # twice
        (lambda w: w["steps"][1].update(kind="workflow", target_workflow="nope", target_order=0), "nope"),
    ],
)
def test_an_invalid_workflow_is_422_with_each_error_and_nothing_saved(api_as, admin_user, sales, edit, fragment):
    body = simple_workflow()
    edit(body)
    error = assert_error(api_as(admin_user).post("/config/workflows", body), 422, "invalid", "steps")
    assert any(fragment in m for m in error["fields"]["steps"]), error
    assert not Workflow.objects.filter(code="suporte").exists()
    assert history_is_empty()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda w: w["steps"][0].update(cr="77"), "steps.0.cr"),
        (lambda w: w["steps"][0].update(order=-5), "steps.0.order"),
        (lambda w: w["steps"][1].update(kind="loop"), "steps.1.kind"),
        (lambda w: w.update(code="has space"), "code"),
        (lambda w: w.update(code="vendas"), "code"),
    ],
)
def test_a_malformed_workflow_names_the_field(api_as, admin_user, sales, edit, field):
    body = simple_workflow()
    edit(body)
    assert_error(api_as(admin_user).post("/config/workflows", body), 422, "invalid", field)
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
    assert len(changes(WorkflowStep, Change.Action.CHANGED)) == 1
    assert len(changes(DecisionOption, Change.Action.CHANGED)) == 2


def test_replacing_a_workflow_without_a_step_tickets_used_is_409(api_as, admin_user, sales, agent):
    make_ticket(sales, agent)  # sits at order 0
    body = simple_workflow("vendas")
    body["steps"][0]["order"] = 1
    body["steps"][1]["options"][1]["target_order"] = 1
    error = assert_error(api_as(admin_user).put("/config/workflows/vendas", body), 409, "in_use")
    assert "active=false" in error["message"]
    assert sorted(sales.workflow.steps.values_list("order", flat=True)) == [0, 5, 10, 15, 20]
    assert history_is_empty()


def test_a_workflow_change_that_breaks_its_service_type_is_refused(api_as, admin_user, sales):
    # The cycle asks questions in CR 2 (Proposta): a workflow without it breaks type 1.1.
    error = assert_error(api_as(admin_user).put("/config/workflows/vendas", simple_workflow("vendas")), 422)
    assert any("1.1" in m for m in error["fields"]["steps"])
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
    error = assert_error(api.put("/config/workflows/suporte", body), 422, "invalid", "steps")
    assert any("triagem" in m for m in error["fields"]["steps"])


def test_deleting_a_used_workflow_is_409_then_it_is_deactivated(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert_error(api.delete("/config/workflows/vendas"), 409, "in_use")
    response = api.patch("/config/workflows/vendas", {"active": False})
    assert response.status_code == 200 and response.body["active"] is False
    assert len(changes(Workflow, Change.Action.DEACTIVATED)) == 1
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
    ("edit", "field"),
    [
        (lambda c: c["questions"][0].update(cr="77"), "questions.0.cr"),
        (lambda c: c["questions"][1].update(code="1.01"), "questions.1.code"),
        (lambda c: c["questions"][0].update(code="x"), "questions.0.code"),
        (lambda c: c["questions"][0].update(answer_type="colour"), "questions.0.answer_type"),
        (lambda c: c["questions"][2].update(min_value="1e30"), "questions.2.min_value"),
        (lambda c: c["questions"][1]["options"][0].update(label=""), "questions.1.options.0.label"),
    ],
)
def test_a_bad_cycle_names_the_field_and_nothing_is_written(api_as, admin_user, sales, edit, field):
    body = cycle_body()
    edit(body)
    assert_error(api_as(admin_user).post("/config/cycles", body), 422, "invalid", field)
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
    current = api_as(admin_user).get("/config/cycles/ciclo-vendas").body
    # What the cycle reads back, less what only a read gives (ids of questions, options' positions).
    questions = [
        {k: v for k, v in q.items() if k != "id"}
        | {"options": [{k: v for k, v in o.items() if k != "position"} for o in q["options"]]}
        for q in current["questions"]
    ]
    body = {"code": "ciclo-vendas", "description": "Ciclo de vendas", "questions": questions}
    body["questions"].append({"code": "8.01", "cr": "8", "text": "Fora", "answer_type": "short_text"})
    error = assert_error(api_as(admin_user).put("/config/cycles/ciclo-vendas", body), 422, "invalid", "questions")
    assert any("1.1" in m and "8" in m for m in error["fields"]["questions"])
    assert not Question.objects.filter(code="8.01").exists()


# ---- service types ----------------------------------------------------------------------------


def test_an_admin_creates_a_service_type_referring_by_codes(api_as, admin_user, sales):
    body = {"code": "1.2", "description": "Renovação", "workflow": "vendas", "cycle": "ciclo-vendas", "priority": 1}
    response = api_as(admin_user).post("/config/service-types", body)
    assert response.status_code == 201, response.body
    assert response.body["parent"] == "1" and response.body["workflow"] == "vendas"
    assert ServiceType.objects.get(code="1.2").parent == sales.group
    assert len(changes(ServiceType, Change.Action.CREATED)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "2.1", "description": "Órfão", "workflow": "vendas"}, "__all__"),  # no synthetic group 2
        ({"code": "1.2", "description": "Sem fluxo"}, "__all__"),
        ({"code": "1.2", "description": "X", "workflow": "nope"}, "workflow"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "cycle": "nope"}, "cycle"),
        ({"code": "1.1", "description": "Duplicado", "workflow": "vendas"}, "code"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "colour": "red"}, "colour"),
        ({"code": "1.2", "description": "X", "workflow": "vendas", "priority": 9}, "priority"),
    ],
)
def test_a_bad_service_type_is_422_naming_the_field(api_as, admin_user, sales, body, field):
    count = ServiceType.objects.count()
    assert_error(api_as(admin_user).post("/config/service-types", body), 422, "invalid", field)
    assert ServiceType.objects.count() == count and history_is_empty()


def test_a_service_type_whose_cycle_asks_outside_its_workflow_is_refused(api_as, admin_user, sales):
    api = api_as(admin_user)
    assert api.post("/config/workflows", simple_workflow()).status_code == 201
    body = {"code": "1.2", "description": "X", "workflow": "suporte", "cycle": "ciclo-vendas"}
    error = assert_error(api.post("/config/service-types", body), 422, "invalid", "__all__")
    assert "2" in " ".join(error["fields"]["__all__"])


def test_a_service_type_in_use_is_deactivated_not_deleted(api_as, admin_user, agent, sales):
    make_ticket(sales, agent)
    api = api_as(admin_user)
    assert_error(api.delete("/config/service-types/1.1"), 409, "in_use")
    response = api.patch("/config/service-types/1.1", {"active": False})
    assert response.status_code == 200 and response.body["active"] is False
    assert len(changes(ServiceType, Change.Action.DEACTIVATED)) == 1


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
    assert len(changes(ServiceCycle, Change.Action.DEACTIVATED)) == 1
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
        ("/config/service-types/1.1", {"workflow": None}, "__all__"),  # an analytical type needs one
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

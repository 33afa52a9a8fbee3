"""Definitions as files: export, plan and import a whole configuration (configurator.definitions)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from ciclo.configurator.definitions import (
    BundleSyntaxError,
    DefinitionsInvalid,
    Status,
    apply_import,
    canonical,
    dump,
    export_bundle,
    parse,
    plan_import,
)
from ciclo.configurator.models import (
    AnswerType,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.configurator.validation import Rule
from ciclo.history.models import Change
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.opening import open_ticket
from tests.factory import make_company, make_cr, make_person, make_ticket, make_user

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "definitions").glob("*.yaml"))
MODELS = [ResponsibilityCenter, Workflow, WorkflowStep, DecisionOption, ServiceCycle, Question, Option, ServiceType]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def template(name: str) -> Any:
    return parse((ROOT / "definitions" / name).read_text(encoding="utf-8"))


def statuses(plan) -> set[str]:
    return {item.status for item in plan.items}


def item(plan, name: str):
    return next(i for i in plan.items if i.name == name)


def error_paths(plan_or_exc) -> list[str]:
    plan = getattr(plan_or_exc, "plan", plan_or_exc)
    return [p.path for p in plan.errors]


def refused(data: Any, by) -> DefinitionsInvalid:
    """Importing `data` is refused whole: nothing written, not even history."""
    before, history = counts(), Change.objects.count()
    with pytest.raises(DefinitionsInvalid) as caught:
        apply_import(data, by=by)
    assert counts() == before
    assert Change.objects.count() == history
    assert plan_import(data).errors == caught.value.plan.errors
    return caught.value


def question(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(q for q in bundle["cycles"][0]["questions"] if q["code"] == code)


# ---- export ------------------------------------------------------------------------------------


def test_export_describes_the_sales_setup_by_codes(sales):
    data = export_bundle()
    assert data["ciclo_definitions"] == 1
    assert [c["code"] for c in data["responsibility_centers"]] == ["1", "2", "3", "9"]
    assert data["responsibility_centers"][3] == {
        "code": "9",
        "description": "Encerrado",
        "closes_process": True,
        "active": True,
        "default_success": None,
        "stale_after_days": None,
    }
    (workflow,) = data["workflows"]
    assert workflow["code"] == "vendas"
    assert [s["order"] for s in workflow["steps"]] == [0, 5, 10, 15, 20]
    assert workflow["steps"][0] == {"order": 0, "kind": "cr", "active": True, "cr": "1", "next_order": 5}
    assert workflow["steps"][2] == {
        "order": 10,
        "kind": "decision",
        "active": True,
        "question": "Fechou negócio?",
        "options": [{"label": "Sim", "target_order": 20}, {"label": "Não", "target_order": 15}],
    }
    assert workflow["steps"][4]["next_order"] is None
    (cycle,) = data["cycles"]
    assert [q["code"] for q in cycle["questions"]] == [f"1.0{n}" for n in range(1, 9)] + ["2.01", "9.01"]
    assert {q["answer_type"] for q in cycle["questions"]} == set(AnswerType.values)
    assert question(data, "1.03")["min_value"] == "0"  # a decimal is written as text, as the API writes it
    assert question(data, "1.08")["options"][0] == {
        "label": "ERP",
        "checked_by_default": True,
        "asks_complement": False,
        "active": True,
    }
    assert "options" not in question(data, "1.01")
    assert data["service_types"][1] == {
        "code": "1.1",
        "description": "Venda nova",
        "kind": "analytical",
        "category": "sales",
        "sales": False,
        "priority": 2,
        "days_to_next_contact": 2,
        "colour": "#0d6efd",
        "active_from": None,
        "workflow": "vendas",
        "cycle": "ciclo-vendas",
        "active": True,
    }
    assert '"id"' not in json.dumps(data)


def test_export_leaves_members_out(sales, agent):
    sales.cr_prospect.members.add(agent)
    assert all("members" not in cr for cr in export_bundle()["responsibility_centers"])


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_exported_text_is_stable_sorted_and_reads_back(sales, fmt):
    text = dump(export_bundle(), fmt)
    assert text == dump(export_bundle(), fmt)
    assert parse(text, fmt) == export_bundle()
    if fmt == "json":
        keys = list(json.loads(text)["workflows"][0]["steps"][0])
        assert keys == sorted(keys)
    else:
        assert text.startswith("ciclo_definitions: 1\n")
        assert "code: '1.1'" in text  # a classification stays text, never a number


def test_export_and_plan_read_in_the_same_number_of_queries_however_big(db, admin_user):
    def queries() -> tuple[int, int]:
        data = export_bundle()
        with CaptureQueriesContext(connection) as exporting:
            export_bundle()
        with CaptureQueriesContext(connection) as planning:
            plan_import(data)
        return len(exporting), len(planning)

    apply_import(template("collections.yaml"), by=admin_user)
    small = queries()
    apply_import(template("sales.yaml"), by=admin_user)
    apply_import(template("support.yaml"), by=admin_user)
    assert queries() == small


# ---- round trip --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_importing_the_export_changes_nothing(sales, admin_user, fmt):
    data = parse(dump(export_bundle(), fmt), fmt)
    plan = plan_import(data)
    assert plan.is_valid, plan.errors
    assert statuses(plan) == {Status.UNCHANGED}
    assert len(plan.items) == 4 + 1 + 5 + 2 + 1 + 10 + 5 + 2
    before, history = counts(), Change.objects.count()
    applied = apply_import(data, by=admin_user)
    assert applied.applied and statuses(applied) == {Status.UNCHANGED}
    assert counts() == before
    assert Change.objects.count() == history


def test_options_left_at_position_zero_round_trip_unchanged(sales, admin_user):
    Option.objects.filter(question=sales.q_multi).update(position=0)
    DecisionOption.objects.filter(step=sales.decision).update(position=0)
    plan = plan_import(export_bundle())
    assert statuses(plan) == {Status.UNCHANGED}


def test_a_reordered_list_of_options_is_written_in_the_files_order(sales, admin_user):
    data = export_bundle()
    options = question(data, "1.08")["options"]
    options.reverse()
    plan = apply_import(data, by=admin_user)
    assert item(plan, "cycle ciclo-vendas / question 1.08 / option “Outro”").changes == {"position": [3, 1]}
    assert [o.label for o in sales.q_multi.options.all()] == ["Outro", "CRM", "ERP"]
    assert statuses(plan_import(data)) == {Status.UNCHANGED}


# ---- the templates -----------------------------------------------------------------------------


def test_there_are_the_three_templates():
    assert [t.name for t in TEMPLATES] == ["collections.yaml", "sales.yaml", "support.yaml"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_each_template_imports_into_an_empty_database(db, admin_user, path):
    data = template(path.name)
    assert counts() == dict.fromkeys(counts(), 0)
    plan = apply_import(data, by=admin_user)
    assert plan.is_valid and plan.applied
    assert statuses(plan) == {Status.CREATED}
    steps = [s for w in data["workflows"] for s in w["steps"]]
    questions = [q for c in data["cycles"] for q in c["questions"]]
    assert counts() == {
        "ResponsibilityCenter": len(data["responsibility_centers"]),
        "Workflow": len(data["workflows"]),
        "WorkflowStep": len(steps),
        "DecisionOption": sum(len(s.get("options", [])) for s in steps),
        "ServiceCycle": len(data["cycles"]),
        "Question": len(questions),
        "Option": sum(len(q.get("options", [])) for q in questions),
        "ServiceType": len(data["service_types"]),
    }
    # One history row per row created, by the importing user.
    assert Change.objects.filter(by=admin_user, action=Change.Action.CREATED).count() == sum(counts().values())
    # Twice: the second import changes nothing.
    history = Change.objects.count()
    again = apply_import(data, by=admin_user)
    assert statuses(again) == {Status.UNCHANGED}
    assert Change.objects.count() == history
    # And the export says what the template says.
    assert export_bundle() == canonical(data)


def test_the_sales_template_uses_all_eight_answer_types(db):
    data = template("sales.yaml")
    assert {q["answer_type"] for c in data["cycles"] for q in c["questions"]} == set(AnswerType.values)


def test_the_three_templates_live_together(db, admin_user):
    for path in TEMPLATES:
        plan = apply_import(template(path.name), by=admin_user)
        assert Status.CREATED in statuses(plan)
    assert ServiceType.objects.filter(kind=ServiceType.Kind.ANALYTICAL).count() == 5
    assert ServiceType.objects.get(code="2.2").parent == ServiceType.objects.get(code="2")


def test_a_template_type_can_open_a_ticket(db, admin_user, agent):
    apply_import(template("sales.yaml"), by=admin_user)
    ticket = open_ticket(
        by=agent,
        person=make_person(),
        service_type=ServiceType.objects.get(code="1.1"),
        subject="Interesse no ERP",
        company=make_company(),
    )
    assert ticket.cr.code == "1.01"


# ---- plan and apply ----------------------------------------------------------------------------


def test_dry_run_changes_nothing(sales, admin_user):
    data = export_bundle()
    data["responsibility_centers"][0]["description"] = "Prospecção ativa"
    data["workflows"].append(
        {"code": "pos-venda", "description": "Pós-venda", "steps": [{"order": 0, "kind": "cr", "cr": "9"}]}
    )
    before, history = counts(), Change.objects.count()
    plan = plan_import(data)
    assert plan.is_valid and not plan.applied
    assert item(plan, "CR 1 “Prospecção ativa”").changes == {"description": ["Prospecção", "Prospecção ativa"]}
    assert item(plan, "workflow pos-venda").status == Status.CREATED
    assert counts() == before and Change.objects.count() == history
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção"


def test_changes_are_applied_with_history_by_the_importing_user(sales, admin_user):
    data = export_bundle()
    data["responsibility_centers"][2]["description"] = "Negociação comercial"
    data["workflows"][0]["steps"][2]["options"].append({"label": "Talvez", "target_order": 15})
    question(data, "1.02")["active"] = False
    data["service_types"][1]["priority"] = 1
    plan = apply_import(data, by=admin_user)
    assert plan.counts()[Status.CHANGED] == 3
    assert plan.counts()[Status.CREATED] == 1
    assert ResponsibilityCenter.objects.get(code="3").description == "Negociação comercial"
    assert list(sales.decision.options.values_list("label", "target_order", "position")) == [
        ("Sim", 20, 1),
        ("Não", 15, 2),
        ("Talvez", 15, 3),
    ]
    rows = {(c.object_repr, c.action): c for c in Change.objects.filter(by=admin_user)}
    assert rows[("3 · Negociação comercial", Change.Action.CHANGED)].changes["description"] == [
        "Negociação",
        "Negociação comercial",
    ]
    assert ("1.02 · Necessidade", Change.Action.DEACTIVATED) in rows
    assert ("Talvez → 15", Change.Action.CREATED) in rows
    assert rows[("1.1 · Venda nova", Change.Action.CHANGED)].changes == {"priority": [2, 1]}
    assert statuses(plan_import(data)) == {Status.UNCHANGED}


def test_what_the_file_does_not_mention_is_kept(sales, admin_user):
    data = export_bundle()
    data["responsibility_centers"] = [cr for cr in data["responsibility_centers"] if cr["code"] != "3"]
    data["cycles"][0]["questions"] = [q for q in data["cycles"][0]["questions"] if q["code"] != "9.01"]
    question(data, "1.08")["options"].pop()
    data["workflows"][0]["steps"][2]["options"].pop()  # "Não": the saved one still routes
    data["service_types"] = []
    before = counts()
    plan = apply_import(data, by=admin_user)
    kept = {i.name for i in plan.items if i.status == Status.KEPT}
    assert kept == {
        "CR 3 “Negociação”",
        "cycle ciclo-vendas / question 9.01",
        "cycle ciclo-vendas / question 1.08 / option “Outro”",
        "workflow vendas / step 10 / option “Não”",
        "service type 1 “Vendas”",
        "service type 1.1 “Venda nova”",
    }
    assert all(i.path == "" for i in plan.items if i.status == Status.KEPT)
    assert counts() == before


def test_members_are_set_only_when_the_file_names_them(sales, admin_user, agent, supervisor):
    sales.cr_proposal.members.add(supervisor)
    data = export_bundle()
    data["responsibility_centers"][0]["members"] = ["agent_t"]
    plan = apply_import(data, by=admin_user)
    assert item(plan, "CR 1 “Prospecção”").changes == {"members": [[], ["agent_t"]]}
    assert list(sales.cr_prospect.members.all()) == [agent]
    assert list(sales.cr_proposal.members.all()) == [supervisor]  # no key: untouched
    change = Change.objects.get(object_repr="1 · Prospecção", by=admin_user)
    assert change.changes == {"members": [[], ["agent_t"]]}
    assert statuses(plan_import(data)) == {Status.UNCHANGED}


def test_a_new_group_becomes_the_parent_of_the_types_under_it(sales, admin_user):
    ServiceType.objects.create(code="1.1.1", description="Venda de módulo", workflow=sales.workflow)
    assert ServiceType.objects.get(code="1.1.1").parent == sales.group
    data = export_bundle()
    data["service_types"] = [
        {"code": "1.1", "description": "Venda nova", "kind": "synthetic"},
    ]
    sales.type.delete()  # no ticket uses it; the file turns "1.1" into a group
    plan = apply_import(data, by=admin_user)
    assert item(plan, "service type 1.1.1 “Venda de módulo”").changes == {"group": ["1", "1.1"]}
    assert ServiceType.objects.get(code="1.1.1").parent.code == "1.1"


# ---- refused -----------------------------------------------------------------------------------


def test_an_unknown_cr_code_is_refused_with_its_path(sales, admin_user):
    data = export_bundle()
    data["workflows"][0]["steps"][3]["cr"] = "77"
    exc = refused(data, admin_user)
    assert error_paths(exc) == ["workflows[0].steps[3].cr"]
    assert "77" in exc.plan.errors[0].message


def test_a_bad_next_order_is_refused_naming_its_step(sales, admin_user):
    data = export_bundle()
    data["workflows"][0]["steps"][1]["next_order"] = 99
    exc = refused(data, admin_user)
    assert "workflows[0].steps[1]" in error_paths(exc)
    problem = next(p for p in exc.plan.errors if p.path == "workflows[0].steps[1]")
    assert "Step 5" in problem.message and "99" in problem.message


def test_a_decision_with_one_option_is_refused(db, admin_user):
    data = template("sales.yaml")
    data["workflows"][0]["steps"][1]["options"].pop()
    exc = refused(data, admin_user)
    assert "workflows[0].steps[1]" in error_paths(exc)
    assert any("two options" in p.message for p in exc.plan.errors)


def test_an_unknown_answer_type_is_refused(db, admin_user):
    data = template("sales.yaml")
    data["cycles"][0]["questions"][2]["answer_type"] = "colour"
    exc = refused(data, admin_user)
    assert error_paths(exc) == ["cycles[0].questions[2].answer_type"]
    assert "single_choice" in exc.plan.errors[0].message  # it lists the eight


def test_a_bad_classification_is_refused(db, admin_user):
    data = template("sales.yaml")
    data["responsibility_centers"][1]["code"] = "1.x"
    data["service_types"][1]["code"] = "1..1"
    exc = refused(data, admin_user)
    assert "responsibility_centers[1].code" in error_paths(exc)
    assert "service_types[1].code" in error_paths(exc)
    assert any("not a classification" in p.message for p in exc.plan.errors)


def test_a_classification_written_as_a_bare_yaml_number_is_refused_with_a_hint(db, admin_user):
    text = (ROOT / "definitions" / "sales.yaml").read_text(encoding="utf-8").replace('code: "1.1"', "code: 1.1")
    exc = refused(parse(text), admin_user)
    assert error_paths(exc) == ["service_types[1].code"]
    assert "quotes" in exc.plan.errors[0].message


def test_a_type_whose_cycle_asks_in_a_cr_off_its_workflow_is_refused(sales, admin_user):
    data = export_bundle()
    data["responsibility_centers"].append({"code": "7", "description": "Pós-venda"})
    data["cycles"][0]["questions"].append(
        {"code": "7.01", "cr": "7", "text": "Satisfeito?", "answer_type": "long_text"}
    )
    exc = refused(data, admin_user)
    assert error_paths(exc) == ["service_types[1].cycle"]
    assert "7" in exc.plan.errors[0].message and "never passes" in exc.plan.errors[0].message


def test_changing_the_answer_type_of_an_answered_question_is_refused(sales, admin_user, agent):
    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "Carlos")], by=agent)
    data = export_bundle()
    question(data, "1.01")["answer_type"] = "long_text"
    question(data, "1.02")["answer_type"] = "short_text"  # no answers: allowed
    exc = refused(data, admin_user)
    assert error_paths(exc) == ["cycles[0].questions[0].answer_type"]
    assert "1.01" in exc.plan.errors[0].message and "has answers" in exc.plan.errors[0].message


def test_changing_the_kind_of_a_step_tickets_used_is_refused(sales, admin_user, agent):
    make_ticket(sales, agent)  # stands at step 0
    data = export_bundle()
    data["workflows"][0]["steps"][0] = {"order": 0, "kind": "workflow", "target_workflow": "vendas", "target_order": 5}
    exc = refused(data, admin_user)
    assert "workflows[0].steps[0].kind" in error_paths(exc)


def test_changing_the_kind_of_a_type_tickets_use_is_refused(sales, admin_user, agent):
    make_ticket(sales, agent)
    data = export_bundle()
    data["service_types"][1]["kind"] = "synthetic"
    exc = refused(data, admin_user)
    assert error_paths(exc) == ["service_types[1].kind"]


def test_a_saved_workflow_the_change_would_break_is_named(sales, admin_user):
    other = Workflow.objects.create(code="outro", description="Outro")
    cr = make_cr("50", description="Fim", closes_process=True)
    WorkflowStep.objects.create(workflow=other, order=0, kind="cr", cr=cr)
    data = {"ciclo_definitions": 1, "responsibility_centers": [{"code": "50", "description": "Fim"}]}
    exc = refused(data, admin_user)
    # On the flag that breaks it, with the rule it breaks.
    assert error_paths(exc) == ["responsibility_centers[0].closes_process"]
    assert exc.rules == {Rule.STEP_SHAPE}
    assert "outro" in exc.plan.errors[0].message


def test_a_saved_type_the_change_would_break_is_named(sales, admin_user):
    data = {
        "ciclo_definitions": 1,
        "responsibility_centers": [{"code": "7", "description": "Pós-venda"}],
        "cycles": [
            {
                "code": "ciclo-vendas",
                "description": "Ciclo de vendas",
                "questions": [{"code": "7.01", "cr": "7", "text": "Satisfeito?", "answer_type": "long_text"}],
            }
        ],
    }
    exc = refused(data, admin_user)
    assert error_paths(exc) == [""]
    assert "1.1" in exc.plan.errors[0].message and "7" in exc.plan.errors[0].message


def test_a_renamed_decision_option_keeps_its_row(sales, admin_user):
    data = export_bundle()
    data["workflows"][0]["steps"][2]["options"][0]["label"] = "Sim, fechou"
    plan = apply_import(data, by=admin_user)
    assert item(plan, "workflow vendas / step 10 / option “Sim, fechou”").changes == {"label": ["Sim", "Sim, fechou"]}
    sales.yes.refresh_from_db()
    assert sales.yes.label == "Sim, fechou"
    assert sales.decision.options.count() == 2


def test_an_unused_step_may_change_kind_and_drops_what_its_old_kind_used(sales, admin_user):
    data = export_bundle()
    data["workflows"][0]["steps"][3] = {  # order 15, a CR step no ticket has used
        "order": 15,
        "kind": "decision",
        "question": "Ainda negocia?",
        "options": [{"label": "Sim", "target_order": 5}, {"label": "Não", "target_order": 20}],
    }
    plan = apply_import(data, by=admin_user)
    assert item(plan, "workflow vendas / step 15").changes == {
        "kind": ["cr", "decision"],
        "cr": ["3", None],
        "next_order": [10, None],
        "question": ["", "Ainda negocia?"],
    }
    sales.step_negotiation.refresh_from_db()
    assert (sales.step_negotiation.kind, sales.step_negotiation.cr, sales.step_negotiation.next_order) == (
        "decision",
        None,
        None,
    )
    assert statuses(plan_import(data)) == {Status.UNCHANGED}


def test_a_row_saved_by_someone_else_meanwhile_refuses_the_import(sales, admin_user, monkeypatch):
    def clash(self, by):
        ResponsibilityCenter.objects.filter(code="1").update(description="Mudou")
        raise IntegrityError("duplicate key")

    monkeypatch.setattr("ciclo.configurator.changes.Planner.apply", clash)
    data = export_bundle()
    data["responsibility_centers"].append({"code": "8", "description": "Novo"})
    with pytest.raises(DefinitionsInvalid) as caught:
        apply_import(data, by=admin_user)
    assert caught.value.rules == {Rule.CONCURRENT}
    assert "changed meanwhile" in caught.value.plan.errors[0].message
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção"  # rolled back


def test_every_error_is_reported_at_once_with_its_path(db, admin_user):
    data = {
        "ciclo_definitions": 1,
        "colours": [],
        "responsibility_centers": [
            {"code": "1", "description": "Aberto", "closes": True},
            {"code": "1", "description": "De novo"},
            {"description": "Sem código"},
            "texto solto",
        ],
        "workflows": [{"code": "w 1", "description": 5, "active": "sim", "steps": {}}],
        "cycles": [
            {
                "code": "c",
                "description": "Ciclo",
                "questions": [
                    {"code": "1.01", "cr": "1", "text": "Origem", "answer_type": "single_choice"},
                    {"code": "1.02", "cr": "1", "text": "Idade", "answer_type": "short_text", "min_value": 3},
                    {"code": "1.03", "cr": "1", "text": "N", "answer_type": "number", "min_value": 5, "max_value": 1},
                    {
                        "code": "1.04",
                        "cr": "1",
                        "text": "Cor",
                        "answer_type": "multiple_choice",
                        "options": [{"label": "Azul"}, {"label": "azul "}],
                    },
                ],
            }
        ],
        "service_types": [
            {"code": "1", "description": "T", "priority": 9, "colour": None, "active_from": "31/12/2025"}
        ],
    }
    exc = refused(data, admin_user)
    assert error_paths(exc) == [
        "colours",
        "responsibility_centers[0].closes",
        "responsibility_centers[2].code",
        "responsibility_centers[3]",
        "workflows[0].code",
        "workflows[0].description",
        "workflows[0].active",
        "workflows[0].steps",
        "cycles[0].questions[1].min_value",
        "cycles[0].questions[2].max_value",
        "service_types[0].priority",
        "service_types[0].colour",
        "service_types[0].active_from",
        "responsibility_centers[1].code",
        "cycles[0].questions[3].options[1].label",
        "cycles[0].questions[0].options",
    ]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (None, ""),
        ([], ""),
        ({"responsibility_centers": []}, "ciclo_definitions"),
        ({"ciclo_definitions": 2}, "ciclo_definitions"),
        ({"ciclo_definitions": True}, "ciclo_definitions"),
    ],
)
def test_a_file_that_is_not_a_bundle_of_this_version_is_refused(db, admin_user, data, path):
    exc = refused(data, admin_user)
    assert error_paths(exc) == [path]


@pytest.mark.parametrize(
    ("text", "fmt", "where"),
    [
        ("ciclo_definitions: 1\nworkflows: [\n", "yaml", "line"),
        ("ciclo_definitions: 1\nciclo_definitions: 1\n", "yaml", "twice"),
        ("a: &x [1]\nb: *x\n", "yaml", "aliases"),
        ('{"ciclo_definitions": 1,}', "json", "line 1"),
        ('{"ciclo_definitions": 1, "ciclo_definitions": 1}', "json", "twice"),
        ('{"ciclo_definitions": NaN}', "json", "NaN"),
    ],
)
def test_malformed_text_is_refused_saying_where(text, fmt, where):
    with translation.override("en"), pytest.raises(BundleSyntaxError) as caught:
        parse(text, fmt)
    assert where in str(caught.value)
    assert f"not valid {fmt.upper()}" in str(caught.value)


# ---- values the loaders cannot read as such: kept and refused on their path ---------------------

SALES_TEXT = (ROOT / "definitions" / "sales.yaml").read_text(encoding="utf-8")
LONG = "9" * 5000  # beyond Python's own limit (4,300 digits) for reading an integer
TYPE_LINE = '    priority: 2\n    days_to_next_contact: 2\n    colour: "#198754"\n'


def with_active_from(value: str) -> str:
    assert TYPE_LINE in SALES_TEXT
    return SALES_TEXT.replace(TYPE_LINE, f"{TYPE_LINE}    active_from: {value}\n", 1)


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-45", "2026-00-10"])
def test_a_yaml_date_that_does_not_exist_is_refused_on_its_path(db, admin_user, day):
    exc = refused(parse(with_active_from(day)), admin_user)
    assert error_paths(exc) == ["service_types[1].active_from"]
    assert exc.plan.errors[0].message == (
        f"There is no day {day} in the calendar: write a date that exists, as YYYY-MM-DD."
    )


def test_a_yaml_date_with_an_impossible_time_zone_is_refused_on_its_path(db, admin_user):
    exc = refused(parse(with_active_from("2026-01-01 10:00:00+99:00")), admin_user)
    assert error_paths(exc) == ["service_types[1].active_from"]
    assert exc.plan.errors[0].message == "Write a date as YYYY-MM-DD."


@pytest.mark.parametrize("written", ["2026-03-01", '"2026-03-01"', "!!timestamp 2026-03-01"])
def test_a_yaml_date_is_read_bare_quoted_or_tagged(db, admin_user, written):
    apply_import(parse(with_active_from(written)), by=admin_user)
    assert ServiceType.objects.get(code="1.1").active_from == dt.date(2026, 3, 1)


def test_an_explicit_yaml_timestamp_that_does_not_exist_is_refused_on_its_path(db, admin_user):
    exc = refused(parse(with_active_from("!!timestamp 2026-02-30")), admin_user)
    assert error_paths(exc) == ["service_types[1].active_from"]


LONG_NUMBER_MESSAGE = "This number has 5000 digits: a number in a definitions file has at most 100."


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("{order: 0, kind: cr,", f"{{order: {LONG}, kind: cr,", "workflows[0].steps[0].order"),
        ("next_order: 5}", f"next_order: {LONG}}}", "workflows[0].steps[0].next_order"),
        ("    priority: 2\n", f"    priority: -{LONG}\n", "service_types[1].priority"),
        (
            '{code: "1.01", description: Prospecção}',
            f"{{code: {LONG}, description: Prospecção}}",
            "responsibility_centers[0].code",
        ),
        ("description: Prospecção}", f"description: {LONG}}}", "responsibility_centers[0].description"),
        ("    priority: 2\n", f"    priority: 0x{LONG}\n", "service_types[1].priority"),
    ],
)
def test_a_yaml_integer_of_thousands_of_digits_is_refused_on_its_path(db, admin_user, old, new, path):
    assert old in SALES_TEXT
    exc = refused(parse(SALES_TEXT.replace(old, new, 1)), admin_user)
    assert error_paths(exc)[0] == path  # a CR's code may be referred to: those references follow
    assert exc.plan.errors[0].message == LONG_NUMBER_MESSAGE


def test_the_version_written_with_thousands_of_digits_is_refused_briefly(db, admin_user):
    exc = refused(parse(f"ciclo_definitions: {LONG}\n"), admin_user)
    assert error_paths(exc) == ["ciclo_definitions"]
    assert len(exc.plan.errors[0].message) < 200


def test_a_yaml_key_of_thousands_of_digits_is_an_unknown_key(db, admin_user):
    exc = refused(parse(f"ciclo_definitions: 1\n? {LONG}\n: 1\n"), admin_user)
    assert [p.message for p in exc.plan.errors] == ["Unknown key."]


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda d: d["workflows"][0]["steps"][1], "workflows[0].steps[1].order"),
        (lambda d: d["service_types"][1], "service_types[1].priority"),
        (lambda d: d["cycles"][0]["questions"][5], "cycles[0].questions[5].min_value"),
    ],
)
def test_a_json_integer_of_thousands_of_digits_is_refused_on_its_path(db, admin_user, where, path):
    data = template("sales.yaml")
    where(data)[path.rsplit(".", 1)[1]] = 123456789
    text = json.dumps(data).replace("123456789", LONG)
    exc = refused(parse(text, "json"), admin_user)
    assert error_paths(exc)[0] == path
    assert exc.plan.errors[0].message == LONG_NUMBER_MESSAGE


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_number_of_thousands_of_digits_with_a_fraction_is_refused_on_its_path(db, admin_user, fmt):
    data = template("sales.yaml")
    data["cycles"][0]["questions"][5]["min_value"] = 123456789
    text = (json.dumps(data) if fmt == "json" else dump(data)).replace("123456789", f"{LONG}.5")
    exc = refused(parse(text, fmt), admin_user)
    assert error_paths(exc) == ["cycles[0].questions[5].min_value"]
    assert exc.plan.errors[0].message == "This number has 5001 digits: a number in a definitions file has at most 100."


@pytest.mark.parametrize(
    ("name", "text", "path"),
    [
        ("config.yaml", with_active_from("2026-02-30"), "service_types[1].active_from"),
        (
            "config.yaml",
            SALES_TEXT.replace("    priority: 2\n", f"    priority: {LONG}\n", 1),
            "service_types[1].priority",
        ),
        (
            "config.json",
            f'{{"ciclo_definitions": 1, "service_types": [{{"code": "9", "description": "x", "priority": {LONG}}}]}}',
            "service_types[0].priority",
        ),
    ],
)
def test_command_refuses_an_impossible_date_or_a_huge_number_naming_its_path(
    db, admin_user, tmp_path, name, text, path
):
    target = tmp_path / name
    target.write_text(text, encoding="utf-8")
    for args in (("--dry-run",), ()):
        err = io.StringIO()
        with pytest.raises(CommandError, match=r"1 error; nothing was changed"):
            call_command("definitions", "import", str(target), *args, stdout=io.StringIO(), stderr=err)
        assert err.getvalue().startswith(f"{path}: ")
    assert not ServiceType.objects.exists()


# ---- the command -------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("definitions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_exports_yaml_to_the_standard_output(sales):
    out, _err = run("export")
    assert yaml.safe_load(out) == export_bundle()


def test_command_exports_json_to_a_file(sales, tmp_path):
    target = tmp_path / "config.json"
    _out, err = run("export", "--output", str(target))
    assert json.loads(target.read_text(encoding="utf-8")) == export_bundle()
    assert str(target) in err
    run("export", "--format", "yaml", "--output", str(tmp_path / "config.txt"))
    assert yaml.safe_load((tmp_path / "config.txt").read_text(encoding="utf-8")) == export_bundle()


def test_command_imports_a_template_and_prints_the_plan(db, admin_user):
    out, _err = run("import", str(ROOT / "definitions" / "sales.yaml"))
    assert "created" in out and "CR 1.01 “Prospecção”" in out
    assert "    option “Sim, fechou”" in out  # indented under its step
    assert "Imported." in out
    assert Workflow.objects.filter(code="vendas").exists()
    assert set(Change.objects.values_list("by__username", flat=True)) == {"admin_t"}
    again, _err = run("import", str(ROOT / "definitions" / "sales.yaml"))
    assert "0 created, 0 changed" in again


def test_command_dry_run_prints_the_plan_and_changes_nothing(sales, tmp_path):
    data = export_bundle()
    data["responsibility_centers"][0]["description"] = "Prospecção ativa"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    history = Change.objects.count()
    out, _err = run("import", str(path), "--dry-run")
    assert "changed" in out and "description: “Prospecção” → “Prospecção ativa”" in out
    assert "Dry run: nothing was changed." in out
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção"
    assert Change.objects.count() == history


def test_command_records_the_named_user(sales, tmp_path):
    editor = make_user("editor")
    data = export_bundle()
    data["responsibility_centers"][0]["active"] = False
    path = tmp_path / "config.yaml"
    path.write_text(dump(data), encoding="utf-8")
    run("import", str(path), "--user", "editor")
    assert Change.objects.get(action=Change.Action.DEACTIVATED).by == editor
    with pytest.raises(CommandError, match="--user: there is no user “nobody”"):
        run("import", str(path), "--user", "nobody")


def test_command_needs_someone_to_record_the_import_as(sales, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(dump(export_bundle()), encoding="utf-8")
    with pytest.raises(CommandError, match="--user"):
        run("import", str(path))
    run("import", str(path), "--dry-run")  # a dry run records nothing: no user needed


def test_command_refuses_an_invalid_file_listing_each_error(sales, admin_user, tmp_path):
    data = export_bundle()
    data["workflows"][0]["steps"][3]["next_order"] = 99
    data["cycles"][0]["questions"][0]["answer_type"] = "colour"
    path = tmp_path / "config.yaml"
    path.write_text(dump(data), encoding="utf-8")
    before, history = counts(), Change.objects.count()
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("definitions", "import", str(path), stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    assert "2 errors; nothing was changed" in str(caught.value)
    assert "workflows[0].steps[3]: Step 15: the next order 99 does not exist." in err.getvalue()
    assert "cycles[0].questions[0].answer_type: “colour” is not one of" in err.getvalue()
    assert counts() == before and Change.objects.count() == history


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "FILE: there is no file"),
        ("ciclo_definitions: 1\nworkflows: [\n", "is not valid YAML: line 3"),
        (b"\xff\xfe", "is not UTF-8 text"),
    ],
)
def test_command_names_the_bad_argument(db, tmp_path, content, message):
    path = tmp_path / "config.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        run("import", str(path), "--dry-run")


def test_command_refuses_an_unwritable_output(sales, tmp_path):
    with pytest.raises(CommandError, match="--output: cannot write"):
        run("export", "--output", str(tmp_path / "no" / "such" / "dir.yaml"))


def ciclo(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CICLO_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "ciclo.settings",
        "LANGUAGE_CODE": "en",
    }
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "ciclo", "definitions", *args], capture_output=True, text=True, env=env, cwd=ROOT
    )


def test_command_exit_codes_and_messages_have_no_traceback(tmp_path):
    missing = ciclo("import", str(tmp_path / "missing.yaml"), data_dir=tmp_path)
    assert missing.returncode == 1
    assert "FILE: there is no file" in missing.stderr and "Traceback" not in missing.stderr
    wrong = ciclo("export", "--format", "xml", data_dir=tmp_path)
    assert wrong.returncode == 2
    assert "--format" in wrong.stderr and "Traceback" not in wrong.stderr


def test_canonical_refuses_a_malformed_bundle():
    with pytest.raises(DefinitionsInvalid):
        canonical({"ciclo_definitions": 1, "workflows": [{"code": "x"}]})


def test_the_plan_reads_as_data(sales):
    data = copy.deepcopy(export_bundle())
    data["responsibility_centers"][0]["description"] = "Novo"
    plan = plan_import(data).as_dict()
    assert plan["valid"] is True and plan["applied"] is False
    assert plan["counts"] == {"created": 0, "changed": 1, "unchanged": 29, "deleted": 0, "kept": 0}
    assert plan["items"][0] == {
        "kind": "responsibility_center",
        "name": "CR 1 “Novo”",
        "path": "responsibility_centers[0]",
        "status": "changed",
        "changes": {"description": ["Prospecção", "Novo"]},
    }
    json.dumps(plan)

from __future__ import annotations

from decimal import Decimal

import pytest

from ciclo.configurator.changes import ConfigurationInvalid, save_service_type, type_item
from ciclo.configurator.items import ServiceTypeItem
from ciclo.configurator.models import Question, ServiceType, Workflow, WorkflowStep
from ciclo.configurator.specs import validate_workflow
from ciclo.configurator.validation import (
    OptionSpec,
    QuestionRule,
    QuestionSpec,
    Rule,
    StepSpec,
    WorkflowSpec,
    check_question,
    check_workflow,
)
from tests.factory import make_cr


def check_messages(workflow: WorkflowSpec, lookup) -> list[str]:
    return [p.message for p in check_workflow(workflow, lookup)]


def spec(*steps: StepSpec, code: str = "w") -> WorkflowSpec:
    return WorkflowSpec(code=code, steps=list(steps))


def no_other(code: str):
    return None


def cr(order, next_order=None, closes=False, code="1"):
    return StepSpec(order=order, kind="cr", cr=code, closes=closes, next_order=next_order)


def decision(order, *options):
    return StepSpec(order=order, kind="decision", question="Resolvido?", options=tuple(options))


def test_a_simple_valid_workflow_has_no_errors():
    assert check_workflow(spec(cr(0, 5), decision(5, ("Sim", 10), ("Não", 0)), cr(10, closes=True)), no_other) == []


def test_it_names_a_missing_next_order():
    errors = check_messages(spec(cr(0, 7), cr(10, closes=True)), no_other)
    assert any("Step 0" in e and "7" in e for e in errors)


def test_it_names_a_decision_option_going_nowhere():
    errors = check_messages(spec(cr(0, 5), decision(5, ("Sim", 10), ("Não", 99)), cr(10, closes=True)), no_other)
    assert any("Step 5" in e and "Não" in e and "99" in e for e in errors)


def test_a_decision_needs_two_options():
    errors = check_messages(spec(cr(0, 5), decision(5, ("Sim", 10)), cr(10, closes=True)), no_other)
    assert any("Step 5" in e and "two options" in e for e in errors)


def test_it_names_an_unreachable_step():
    errors = check_workflow(spec(cr(0, 10), cr(5, 10), cr(10, closes=True)), no_other)
    assert [(e.rule, e.order, e.message) for e in errors] == [
        (Rule.UNREACHABLE, 5, "Step 5 cannot be reached from the start (order 0).")
    ]


def test_it_names_steps_from_which_no_closing_cr_is_reachable():
    errors = check_messages(
        spec(cr(0, 5), decision(5, ("Sim", 20), ("Não", 10)), cr(10, 15), cr(15, 10), cr(20, closes=True)), no_other
    )
    assert any(e.startswith("Step 10:") and "closing" in e for e in errors)
    assert any(e.startswith("Step 15:") and "closing" in e for e in errors)
    assert not any(e.startswith("Step 0:") for e in errors)


def test_a_cr_without_next_must_close():
    errors = check_messages(spec(cr(0)), no_other)
    assert any("Step 0" in e and "does not close" in e for e in errors)


def test_a_loop_of_decisions_without_a_cr_is_refused():
    errors = check_messages(
        spec(cr(0, 5), decision(5, ("A", 10), ("B", 20)), decision(10, ("C", 5), ("D", 20)), cr(20, closes=True)),
        no_other,
    )
    assert any("loop" in e for e in errors)


def test_jumps_follow_other_workflows():
    other = spec(cr(0, 5, code="x"), cr(5, closes=True, code="y"), code="other")
    lookup = {"other": other}.get
    jump = StepSpec(order=5, kind="workflow", target_workflow="other", target_order=5)
    assert check_workflow(spec(cr(0, 5), jump), lookup) == []
    bad = StepSpec(order=5, kind="workflow", target_workflow="other", target_order=7)
    assert any("no order 7" in e for e in check_messages(spec(cr(0, 5), bad), lookup))
    missing = StepSpec(order=5, kind="workflow", target_workflow="nope", target_order=0)
    assert any("“nope” does not exist" in e for e in check_messages(spec(cr(0, 5), missing), lookup))


def test_duplicate_orders_are_refused():
    errors = check_messages(spec(cr(0, 5), cr(5, closes=True), cr(5, closes=True)), no_other)
    assert any("Order 5" in e for e in errors)


def test_saved_sales_workflow_is_valid(sales):
    assert validate_workflow(sales.workflow) == []


def test_saved_workflow_errors_after_a_bad_edit(sales):
    WorkflowStep.objects.filter(pk=sales.step_negotiation.pk).update(next_order=12)
    assert any("Step 15" in e.message and "12" in e.message for e in validate_workflow(sales.workflow))


def test_analytical_type_must_sit_under_a_synthetic(sales, admin_user):
    orphan = ServiceTypeItem(code="7.1", description="Órfão", kind="analytical", workflow="vendas")
    with pytest.raises(ConfigurationInvalid) as err:
        save_service_type(orphan, admin_user)
    assert [(p.rule, p.path) for p in err.value.problems] == [(Rule.NOT_UNDER_GROUP, "code")]
    assert not ServiceType.objects.filter(code="7.1").exists()


def test_type_is_refused_when_its_cycle_asks_in_a_cr_outside_its_workflow(sales, admin_user):
    stray = make_cr("77", description="Fora do fluxo")
    Question.objects.create(cycle=sales.cycle, cr=stray, code="7.01", text="?", answer_type="short_text")
    item = type_item(sales.type).model_copy(update={"description": "Venda nova (editada)"})
    with pytest.raises(ConfigurationInvalid) as err:
        save_service_type(item, admin_user, saved=sales.type)
    assert err.value.rules == {Rule.CYCLE_OFF_ROUTE}
    assert "77" in err.value.problems[0].message


def test_type_parent_is_the_longest_synthetic_prefix(sales, admin_user):
    sub = save_service_type(ServiceTypeItem(code="1.5", description="Sub", kind="synthetic"), admin_user)
    leaf = save_service_type(
        ServiceTypeItem(code="1.5.1", description="Folha", kind="analytical", workflow="vendas"), admin_user
    )
    assert leaf.parent == sub
    sales.type.refresh_from_db()
    assert sales.type.parent == sales.group


def test_workflow_model_first_step(sales):
    assert Workflow.objects.get(code="vendas").first_step() == sales.step_prospect


# ---- questions ---------------------------------------------------------------------------------


def rules(spec: QuestionSpec) -> list[tuple[QuestionRule, str]]:
    return [(p.rule, p.path) for p in check_question(spec)]


def choice(answer_type: str = "single_choice", *options: OptionSpec) -> QuestionSpec:
    return QuestionSpec(answer_type, options=options)


def test_a_valid_question_has_no_problems():
    assert check_question(QuestionSpec("short_text")) == []
    assert check_question(QuestionSpec("number", Decimal(0), Decimal(10))) == []
    assert check_question(QuestionSpec("money", Decimal(5), Decimal(5))) == []
    assert check_question(choice("single_choice", OptionSpec("Sim", checked_by_default=True), OptionSpec("Não"))) == []


def test_limits_apply_only_to_numbers_and_money():
    assert rules(QuestionSpec("short_text", min_value=Decimal(1))) == [(QuestionRule.LIMITS_TYPE, "min_value")]
    assert rules(QuestionSpec("date", max_value=Decimal(1))) == [(QuestionRule.LIMITS_TYPE, "max_value")]


def test_the_minimum_is_not_above_the_maximum():
    problems = check_question(QuestionSpec("number", Decimal(5), Decimal(1)))
    assert [(p.rule, p.path) for p in problems] == [(QuestionRule.LIMITS_ORDER, "max_value")]
    assert str(problems[0]) == "The maximum must not be lower than the minimum."


def test_only_the_choice_types_have_options():
    assert rules(QuestionSpec("number", options=(OptionSpec("Sim"),))) == [(QuestionRule.OPTIONS_TYPE, "options")]


def test_a_choice_question_needs_an_active_option():
    assert rules(choice("multiple_choice")) == [(QuestionRule.NO_ACTIVE_OPTION, "options")]
    assert rules(choice("single_choice", OptionSpec("Sim", active=False))) == [
        (QuestionRule.NO_ACTIVE_OPTION, "options")
    ]


def test_two_options_cannot_have_the_same_label_whatever_the_case():
    problems = check_question(choice("multiple_choice", OptionSpec("Azul"), OptionSpec("Verde"), OptionSpec(" azul ")))
    assert [(p.rule, p.path) for p in problems] == [(QuestionRule.REPEATED_LABEL, "options[2].label")]
    assert "azul" in problems[0].message


def test_a_single_choice_question_checks_at_most_one_option_by_default():
    yes, no = OptionSpec("Sim", checked_by_default=True), OptionSpec("Não", checked_by_default=True)
    assert rules(choice("single_choice", yes, no)) == [(QuestionRule.MANY_DEFAULTS, "options")]
    assert rules(choice("multiple_choice", yes, no)) == []
    # An inactive option's default does not count.
    assert rules(choice("single_choice", yes, OptionSpec("Não", checked_by_default=True, active=False))) == []

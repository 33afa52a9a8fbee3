"""The Configurator (Django admin): every page loads, configuration is checked before it is saved,
what is in use cannot be deleted, tickets are read-only, and every change leaves a history row."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role, ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.configurator.models import (
    AnswerType,
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
from ciclo.history.models import Change, record_change
from ciclo.people.models import ContactPerson, Email, Person, Phone
from ciclo.tickets.answering import AnswerInput, save_answers, unlock_phase
from ciclo.tickets.models import MoveDecision, Ticket
from ciclo.tickets.routing import record_note
from tests.factory import SalesSetup, make_cpf, make_cr, make_ticket, make_user

CICLO_APPS = {"accounts", "history", "people", "configurator", "tickets"}


# Helpers


@pytest.fixture
def staff(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def role_groups(db: Any) -> None:
    # The role groups are filled after the accounts app migrates, before the later apps'
    # permissions exist; refresh them so agents and supervisors have theirs.
    ensure_role_groups()


@pytest.fixture
def world(sales: SalesSetup, admin_user: Any) -> SimpleNamespace:
    """The sales setup with one ticket of everything: answered, moved through the decision, unlocked."""
    ticket = make_ticket(sales, admin_user)
    person = ticket.person
    ContactPerson.objects.create(person=person, name="Ana", role="Compras")
    Phone.objects.create(person=person, number="11987654321")
    Email.objects.create(person=person, address="ana@example.com")
    UserCompany.objects.create(user=admin_user, company=sales.company)
    save_answers(
        ticket,
        [AnswerInput(sales.q_single.pk, sales.o_site.pk), AnswerInput(sales.q_text.pk, "Ana")],
        by=admin_user,
    )
    record_note(ticket, by=admin_user, text="Primeiro contato", move_on=True)
    unlock_phase(ticket, sales.cr_prospect, by=admin_user, reason="corrigir")
    record_note(ticket, by=admin_user, text="Fechou", move_on=True, choices={sales.decision.pk: sales.yes.pk})
    record_change(sales.cr_prospect, by=admin_user, action=Change.Action.CREATED)
    CrmOptions.current()
    create_token(admin_user, name="ERP")
    return SimpleNamespace(sales=sales, ticket=ticket, user=admin_user)


def url(model: Any, view: str, *args: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _field_data(bf: forms.BoundField) -> Any:
    widget = bf.field.widget
    value = bf.value()
    if isinstance(widget, forms.CheckboxInput):
        return "on" if value else None
    if isinstance(widget, forms.MultiWidget):
        subwidgets = widget.get_context(bf.html_name, value, {})["widget"]["subwidgets"]
        return {sub["name"]: sub["value"] or "" for sub in subwidgets}
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    if value is None:
        return ""
    formatted = widget.format_value(value)
    if isinstance(formatted, list):  # a select gives its chosen values
        return formatted[0] if formatted else ""
    return "" if formatted is None else formatted


def _form_data(form: forms.BaseForm, data: dict[str, Any]) -> None:
    for name in form.fields:
        bf = form[name]
        if bf.field.disabled:
            continue
        value = _field_data(bf)
        if isinstance(value, dict):
            data.update(value)
        elif value is not None:
            data[bf.html_name] = value


def change_data(client: Client, page: str) -> dict[str, Any]:
    """What the change (or add) page would post back unchanged: its form and its inlines' saved rows."""
    response = client.get(page)
    assert response.status_code == 200
    data: dict[str, Any] = {}
    _form_data(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        initial = formset.initial_form_count()
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(initial)
        data[f"{formset.prefix}-INITIAL_FORMS"] = str(initial)
        data[f"{formset.prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{formset.prefix}-MAX_NUM_FORMS"] = "1000"
        for form in formset.initial_forms:
            _form_data(form, data)
    return data


def row(data: dict[str, Any], prefix: str, pk: int) -> str:
    """The field-name prefix of an inline row by its object's id ("steps-2")."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    for index in range(total):
        if data.get(f"{prefix}-{index}-id") == str(pk):
            return f"{prefix}-{index}"
    raise AssertionError(f"no row for {pk}")


def add_row(data: dict[str, Any], prefix: str, **values: Any) -> str:
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in values.items():
        if value is True:
            data[f"{prefix}-{index}-{name}"] = "on"
        elif value is not None and value is not False:
            data[f"{prefix}-{index}-{name}"] = str(value)
    return f"{prefix}-{index}"


def errors_of(response: Any) -> list[str]:
    """Every error message the admin page shows: the form's, the inlines' rows', the inlines' own."""
    errors: list[str] = []
    adminform = response.context["adminform"]
    for name, field_errors in adminform.form.errors.items():
        errors += [f"{name}: {e}" if name != "__all__" else str(e) for e in field_errors]
    for inline in response.context["inline_admin_formsets"]:
        errors += [str(e) for e in inline.formset.non_form_errors()]
        for form_errors in inline.formset.errors:
            for name, field_errors in form_errors.items():
                errors += [f"{name}: {e}" if name != "__all__" else str(e) for e in field_errors]
    return errors


def refusals(response: Any) -> set[tuple[str, str, str]]:
    """Where each error of the page is, and its code: ("form", field, code) for the page's form,
    (row prefix, field, code) for an inline row ("__all__": the row as a whole), and
    (inline prefix, "__all__", code) for the rows as a whole."""
    found: set[tuple[str, str, str]] = set()
    for field, errors in response.context["adminform"].form.errors.as_data().items():
        found |= {("form", field, str(e.code)) for e in errors}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        found |= {(formset.prefix, "__all__", str(e.code)) for e in formset.non_form_errors().as_data()}
        for form in formset.forms:
            for field, errors in form.errors.as_data().items():
                found |= {(form.prefix, field, str(e.code)) for e in errors}
    return found


def assert_refused(response: Any, *fragments: str) -> None:
    assert response.status_code == 200, response.status_code
    errors = " | ".join(errors_of(response))
    content = response.content.decode()
    for fragment in fragments:
        assert fragment in errors, f"{fragment!r} not in {errors!r}"
        assert escape(fragment) in content


def workflow_post(staff: Client, workflow: Workflow) -> tuple[str, dict[str, Any]]:
    page = url(Workflow, "change", workflow.pk)
    return page, change_data(staff, page)


def steps_state(workflow: Workflow) -> list[Any]:
    steps = WorkflowStep.objects.filter(workflow=workflow).order_by("order")
    options = DecisionOption.objects.filter(step__workflow=workflow).order_by("step__order", "position")
    return [
        *steps.values_list("order", "kind", "cr_id", "next_order", "question", "target_order"),
        *options.values_list("label", "target_order"),
    ]


# Every page loads


def test_every_admin_page_of_every_registered_model_loads(staff: Client, world: SimpleNamespace) -> None:
    request = RequestFactory().get("/")
    request.user = world.user
    for model, model_admin in admin.site._registry.items():
        changelist = staff.get(url(model, "changelist"), follow=True)
        assert changelist.status_code == 200, model
        add = staff.get(url(model, "add"))
        assert add.status_code == (200 if model_admin.has_add_permission(request) else 403), model
        obj = model._default_manager.order_by("pk").first()
        if model._meta.app_label in CICLO_APPS or model is Group:
            assert obj is not None, f"the test world has no {model.__name__}"
        if obj is not None:
            change = staff.get(url(model, "change", obj.pk))
            assert change.status_code == 200, model
            if model_admin.has_delete_permission(request, obj):
                assert staff.get(url(model, "delete", obj.pk)).status_code == 200, model


def test_the_site_is_called_ciclo(staff: Client, world: SimpleNamespace) -> None:
    response = staff.get(reverse("admin:index"))
    assert response.context["site_header"] == "Ciclo"


# Workflows


def test_a_valid_workflow_is_saved_with_its_steps_and_options(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    page, data = workflow_post(staff, sales.workflow)
    data["description"] = "Vendas B2B"
    decision = row(data, "steps", sales.decision.pk)
    assert data[f"{decision}-options"] == "Sim = 20\nNão = 15"
    data[f"{decision}-options"] = "Sim = 20\nNão = 15\nTalvez = 25"
    add_row(data, "steps", order=25, kind="cr", cr=sales.cr_negotiation.pk, next_order=10, active=True)

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    sales.workflow.refresh_from_db()
    assert sales.workflow.description == "Vendas B2B"
    assert WorkflowStep.objects.filter(workflow=sales.workflow, order=25, cr=sales.cr_negotiation).exists()
    options = list(sales.decision.options.values_list("label", "target_order", "position"))
    assert options == [("Sim", 20, 1), ("Não", 15, 2), ("Talvez", 25, 3)]


def test_a_new_workflow_is_added_with_its_steps(staff: Client, sales: SalesSetup) -> None:
    data = change_data(staff, url(Workflow, "add"))
    data.update(code="suporte", description="Suporte", active="on")
    add_row(data, "steps", order=0, kind="cr", cr=sales.cr_prospect.pk, next_order=5, active=True)
    add_row(data, "steps", order=5, kind="decision", question="Resolvido?", options="Sim = 10\nNão = 0", active=True)
    add_row(data, "steps", order=10, kind="cr", cr=sales.cr_closed.pk, active=True)

    response = staff.post(url(Workflow, "add"), data)

    assert response.status_code == 302, errors_of(response)
    workflow = Workflow.objects.get(code="suporte")
    decision = workflow.steps.get(order=5)
    assert list(decision.options.values_list("label", "target_order")) == [("Sim", 10), ("Não", 0)]
    # One history row per row created (none twice), and Django's own log names the new workflow.
    created = Change.objects.filter(action=Change.Action.CREATED).values_list("content_type__model", flat=True)
    assert sorted(created) == [
        "decisionoption",
        "decisionoption",
        "workflow",
        "workflowstep",
        "workflowstep",
        "workflowstep",
    ]
    assert Change.objects.count() == 6
    log = LogEntry.objects.get()
    assert (log.action_flag, log.object_id, log.object_repr) == (ADDITION, str(workflow.pk), "Suporte")


def test_decision_options_text_syncs_renames_and_removals(staff: Client, sales: SalesSetup) -> None:
    page, data = workflow_post(staff, sales.workflow)
    decision = row(data, "steps", sales.decision.pk)
    data[f"{decision}-options"] = "Não = 15\nSim, fechou = 20\nTalvez = 15"
    assert staff.post(page, data).status_code == 302

    options = list(sales.decision.options.order_by("position"))
    assert [(o.label, o.target_order) for o in options] == [("Não", 15), ("Sim, fechou", 20), ("Talvez", 15)]
    assert options[0].pk == sales.no.pk  # matched by text, although it moved up
    assert options[1].pk == sales.yes.pk  # renamed in its place

    page, data = workflow_post(staff, sales.workflow)
    decision = row(data, "steps", sales.decision.pk)
    data[f"{decision}-options"] = "Sim, fechou = 20\nNão = 15"
    assert staff.post(page, data).status_code == 302
    assert list(sales.decision.options.values_list("label", flat=True)) == ["Sim, fechou", "Não"]

    # Each option leaves its own rows; the step, whose own fields did not change, none.
    history = Change.objects.filter(content_type=ContentType.objects.get_for_model(DecisionOption)).order_by("id")
    rows = [
        (c.action, c.object_id, {k: v for k, v in c.changes.items() if k in ("label", "position")}) for c in history
    ]
    talvez = str(options[2].pk)
    assert rows == [
        (Change.Action.CHANGED, str(sales.no.pk), {"position": [2, 1]}),
        (Change.Action.CHANGED, str(sales.yes.pk), {"label": ["Sim", "Sim, fechou"], "position": [1, 2]}),
        (Change.Action.CREATED, talvez, {"label": [None, "Talvez"], "position": [None, 3]}),
        (Change.Action.DELETED, talvez, {"label": ["Talvez", None], "position": [3, None]}),
        (Change.Action.CHANGED, str(sales.yes.pk), {"position": [2, 1]}),
        (Change.Action.CHANGED, str(sales.no.pk), {"position": [1, 2]}),
    ]
    assert not Change.objects.filter(content_type=ContentType.objects.get_for_model(WorkflowStep)).exists()


@pytest.mark.parametrize(
    ("change", "message", "step", "field", "code"),
    [
        ("unreachable", "Step 25 cannot be reached from the start (order 0).", "new", "__all__", "unreachable"),
        ("missing_next", "Step 5: the next order 30 does not exist.", "step_proposal", "__all__", "order_missing"),
        ("blank_order", "This field is required.", "step_negotiation", "order", "required"),
        ("one_option", "Step 10: a decision needs at least two options.", "decision", "__all__", "step_shape"),
        (
            "bad_line",
            "Line 2, “Não 15”: write “Label = order”, for example “Yes = 20”.",
            "decision",
            "options",
            "option_line",
        ),
        ("no_close", "Step 15: no closing CR can be reached from it.", "step_negotiation", "__all__", "no_closing"),
    ],
)
def test_an_invalid_workflow_is_refused_and_nothing_is_saved(
    staff: Client, sales: SalesSetup, change: str, message: str, step: str, field: str, code: str
) -> None:
    before = steps_state(sales.workflow)
    page, data = workflow_post(staff, sales.workflow)
    data["description"] = "Changed"
    new = ""
    if change == "unreachable":
        new = add_row(data, "steps", order=25, kind="cr", cr=sales.cr_closed.pk, active=True)
    elif change == "missing_next":
        data[f"{row(data, 'steps', sales.step_proposal.pk)}-next_order"] = "30"
    elif change == "blank_order":
        data[f"{row(data, 'steps', sales.step_negotiation.pk)}-order"] = ""
    elif change == "one_option":
        data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim = 20"
    elif change == "bad_line":
        data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim = 20\nNão 15"
    elif change == "no_close":
        data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim = 15\nNão = 15"
        data[f"{row(data, 'steps', sales.step_closed.pk)}-cr"] = str(sales.cr_negotiation.pk)
        data[f"{row(data, 'steps', sales.step_closed.pk)}-next_order"] = "15"

    response = staff.post(page, data)

    assert_refused(response, message)
    # On the step's row (and field), with the rule's code.
    where = new if step == "new" else row(data, "steps", getattr(sales, step).pk)
    assert (where, field, code) in refusals(response)
    assert steps_state(sales.workflow) == before
    assert Workflow.objects.get(pk=sales.workflow.pk).description == "Vendas"
    assert not Change.objects.exists()


def test_options_only_belong_to_decisions(staff: Client, sales: SalesSetup) -> None:
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.step_proposal.pk)}-options"] = "Sim = 10"

    response = staff.post(page, data)

    assert_refused(response, "Only a decision has options")
    assert not DecisionOption.objects.filter(step=sales.step_proposal).exists()


def test_a_jump_is_checked_against_the_target_workflow_and_back(staff: Client, sales: SalesSetup) -> None:
    short = Workflow.objects.create(code="curto", description="Curto")
    WorkflowStep.objects.create(workflow=short, order=0, kind="cr", cr=sales.cr_negotiation, next_order=5)
    WorkflowStep.objects.create(workflow=short, order=5, kind="cr", cr=sales.cr_closed)
    page, data = workflow_post(staff, sales.workflow)
    negotiation = row(data, "steps", sales.step_negotiation.pk)
    data.update({f"{negotiation}-kind": "workflow", f"{negotiation}-target_workflow": str(short.pk)})
    data[f"{negotiation}-target_order"] = "7"
    assert_refused(staff.post(page, data), "Step 15: workflow “curto” has no order 7.")

    data[f"{negotiation}-target_order"] = "0"
    response = staff.post(page, data)
    assert response.status_code == 302, errors_of(response)
    step = WorkflowStep.objects.get(pk=sales.step_negotiation.pk)
    assert (step.kind, step.cr, step.next_order, step.target_workflow, step.target_order) == (
        "workflow",
        None,
        None,
        short,
        0,
    )

    # Renumbering the target's first step would break the jump into it.
    page, data = workflow_post(staff, short)
    data[f"{row(data, 'steps', short.steps.get(order=0).pk)}-order"] = "1"
    response = staff.post(page, data)
    assert_refused(
        response,
        "Saved workflow “vendas”, which this change leaves as it is, would break: "
        "Step 15: workflow “curto” has no order 0.",
    )
    assert short.steps.filter(order=0).exists()


def test_two_steps_can_swap_orders(staff: Client, sales: SalesSetup) -> None:
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.step_negotiation.pk)}-order"] = "20"
    data[f"{row(data, 'steps', sales.step_closed.pk)}-order"] = "15"
    data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim = 15\nNão = 20"

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    assert WorkflowStep.objects.get(pk=sales.step_negotiation.pk).order == 20
    assert WorkflowStep.objects.get(pk=sales.step_closed.pk).order == 15
    # Each step's history says the order it had and the one it has, not the one it stepped aside to.
    moved = Change.objects.filter(content_type=ContentType.objects.get_for_model(WorkflowStep))
    assert {c.object_id: c.changes["order"] for c in moved} == {
        str(sales.step_negotiation.pk): [15, 20],
        str(sales.step_closed.pk): [20, 15],
    }


def test_a_step_used_by_tickets_cannot_be_deleted(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.step_negotiation.pk)}-options"] = ""
    data[f"{row(data, 'steps', sales.step_prospect.pk)}-DELETE"] = "on"

    response = staff.post(page, data)

    assert_refused(response, "Step 0 is used by tickets")
    assert WorkflowStep.objects.filter(pk=sales.step_prospect.pk).exists()


def test_an_unused_step_is_deleted_when_the_route_stays_valid(staff: Client, sales: SalesSetup) -> None:
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.step_negotiation.pk)}-DELETE"] = "on"
    data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim = 20\nNão = 5"

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    assert not WorkflowStep.objects.filter(pk=sales.step_negotiation.pk).exists()
    deleted = Change.objects.get(action=Change.Action.DELETED, object_id=str(sales.step_negotiation.pk))
    assert deleted.changes["order"] == [15, None]


def test_an_option_chosen_on_tickets_cannot_be_removed(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    assert MoveDecision.objects.filter(option=sales.yes).exists()
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Não = 15"

    response = staff.post(page, data)

    assert_refused(response, "Option “Sim” was chosen on tickets and cannot be removed")
    assert DecisionOption.objects.filter(pk=sales.yes.pk, label="Sim").exists()


def test_a_workflow_used_by_tickets_cannot_be_deleted(staff: Client, world: SimpleNamespace) -> None:
    workflow = world.sales.workflow
    response = staff.post(url(Workflow, "delete", workflow.pk), {"post": "yes"})
    assert response.status_code == 200
    assert Workflow.objects.filter(pk=workflow.pk).exists()


def test_the_workflow_page_shows_problems_of_saved_steps(staff: Client, sales: SalesSetup) -> None:
    WorkflowStep.objects.filter(pk=sales.step_proposal.pk).update(next_order=40)
    response = staff.get(url(Workflow, "change", sales.workflow.pk))
    assert "Step 5: the next order 40 does not exist." in response.content.decode()


# Responsibility centers


def test_a_cr_in_use_cannot_be_deleted_from_its_page_or_the_list(staff: Client, world: SimpleNamespace) -> None:
    cr = world.sales.cr_prospect
    page = staff.get(url(ResponsibilityCenter, "delete", cr.pk))
    assert page.status_code == 200
    assert page.context["protected"]

    assert staff.post(url(ResponsibilityCenter, "delete", cr.pk), {"post": "yes"}).status_code == 200
    action = staff.post(
        url(ResponsibilityCenter, "changelist"),
        {"action": "delete_selected", "_selected_action": [cr.pk], "post": "yes"},
    )
    assert action.status_code == 200
    assert ResponsibilityCenter.objects.filter(pk=cr.pk).exists()


def test_a_cr_is_deactivated_from_the_list_with_history(staff: Client, world: SimpleNamespace) -> None:
    cr = world.sales.cr_negotiation
    response = staff.post(
        url(ResponsibilityCenter, "changelist"), {"action": "deactivate_selected", "_selected_action": [cr.pk]}
    )
    assert response.status_code == 302
    cr.refresh_from_db()
    assert cr.active is False
    change = Change.objects.get(action=Change.Action.DEACTIVATED, object_id=str(cr.pk))
    assert change.changes == {"active": [True, False]}
    assert change.by == world.user


@pytest.mark.parametrize("how", ["form", "action"])
@pytest.mark.parametrize("name", ["cr_negotiation", "workflow", "cycle", "q_memo", "type"])
def test_deactivating_a_definition_is_recorded_as_deactivated(
    staff: Client, sales: SalesSetup, admin_user: Any, how: str, name: str
) -> None:
    obj = getattr(sales, name)
    model = type(obj)
    if how == "form":
        page = url(model, "change", obj.pk)
        data = change_data(staff, page)
        data.pop("active")
        response = staff.post(page, data)
    else:
        response = staff.post(url(model, "changelist"), {"action": "deactivate_selected", "_selected_action": [obj.pk]})

    assert response.status_code == 302, errors_of(response) if how == "form" else response
    assert model.objects.get(pk=obj.pk).active is False
    change = Change.objects.get()
    assert (change.action, change.object_id, change.changes, change.by) == (
        Change.Action.DEACTIVATED,
        str(obj.pk),
        {"active": [True, False]},
        admin_user,
    )


def test_an_unused_cr_is_deleted_with_history(staff: Client, sales: SalesSetup) -> None:
    cr = make_cr("7", description="Sem uso")
    response = staff.post(url(ResponsibilityCenter, "delete", cr.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not ResponsibilityCenter.objects.filter(pk=cr.pk).exists()
    change = Change.objects.get(action=Change.Action.DELETED)
    assert change.object_id == str(cr.pk)
    assert change.changes["description"] == ["Sem uso", None]


def test_saving_a_cr_records_old_and_new_values(staff: Client, sales: SalesSetup, agent: Any) -> None:
    cr = sales.cr_proposal
    page = url(ResponsibilityCenter, "change", cr.pk)
    data = change_data(staff, page)
    data["description"] = "Proposta na mesa"
    data["members"] = [str(agent.pk)]

    assert staff.post(page, data).status_code == 302

    change = Change.objects.get(object_id=str(cr.pk))
    assert change.action == Change.Action.CHANGED
    assert change.changes["description"] == ["Proposta enviada", "Proposta na mesa"]
    assert change.changes["members"] == [[], [str(agent)]]


def test_a_cr_cannot_stop_closing_while_a_workflow_needs_it(staff: Client, sales: SalesSetup) -> None:
    page = url(ResponsibilityCenter, "change", sales.cr_closed.pk)
    data = change_data(staff, page)
    data.pop("closes_process")

    response = staff.post(page, data)

    assert_refused(response, "Step 20: the next order is empty, but its CR does not close the process.")
    # On the flag that would break it, with the rule the saved workflow would break.
    assert ("form", "closes_process", "step_shape") in refusals(response)
    assert ResponsibilityCenter.objects.get(pk=sales.cr_closed.pk).closes_process
    assert not Change.objects.exists()


def test_a_cr_may_change_closes_process_when_it_adds_no_workflow_problem(staff: Client, sales: SalesSetup) -> None:
    # A saved workflow already broken (its next order does not exist) does not block the change: only
    # the problems the change would add do.
    broken = Workflow.objects.create(code="quebrado", description="Quebrado")
    WorkflowStep.objects.create(workflow=broken, order=0, kind="cr", cr=sales.cr_negotiation, next_order=40)
    cr = sales.cr_negotiation
    page = url(ResponsibilityCenter, "change", cr.pk)
    data = change_data(staff, page)
    data["closes_process"] = "on"

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    assert ResponsibilityCenter.objects.get(pk=cr.pk).closes_process
    change = Change.objects.get()
    assert (change.object_id, change.changes) == (str(cr.pk), {"closes_process": [False, True]})


def test_the_cr_list_searches_and_filters(staff: Client, sales: SalesSetup) -> None:
    response = staff.get(url(ResponsibilityCenter, "changelist"), {"q": "Negoc"})
    assert list(response.context["cl"].result_list) == [sales.cr_negotiation]
    response = staff.get(url(ResponsibilityCenter, "changelist"), {"closes_process__exact": "1"})
    assert list(response.context["cl"].result_list) == [sales.cr_closed]
    response = staff.get(url(ResponsibilityCenter, "changelist"))
    assert [cr.code for cr in response.context["cl"].result_list] == ["1", "2", "3", "9"]


# Cycles and questions


def test_a_question_answered_on_tickets_cannot_be_deleted(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    question = sales.q_single
    response = staff.post(url(Question, "delete", question.pk), {"post": "yes"})
    assert response.status_code == 200
    assert response.context["protected"]

    page = url(type(sales.cycle), "change", sales.cycle.pk)
    data = change_data(staff, page)
    data[f"{row(data, 'questions', question.pk)}-DELETE"] = "on"
    response = staff.post(page, data)
    assert_refused(response, "Question 1.07 has answers: it cannot be deleted. Deactivate it instead.")
    assert ("questions", "__all__", "in_use") in refusals(response)
    assert Question.objects.filter(pk=question.pk).exists()


def test_the_cycle_page_checks_a_new_answer_type_against_the_options_saved(staff: Client, sales: SalesSetup) -> None:
    # The cycle's inline has no options: a type that cannot keep them is refused there.
    page = url(type(sales.cycle), "change", sales.cycle.pk)
    data = change_data(staff, page)
    data[f"{row(data, 'questions', sales.q_multi.pk)}-answer_type"] = AnswerType.SHORT_TEXT
    response = staff.post(page, data)
    assert_refused(response, "Only the multiple-choice answer types have options")
    assert Question.objects.get(pk=sales.q_multi.pk).answer_type == AnswerType.MULTIPLE_CHOICE

    # Multiple to single choice: fine while at most one option is checked by default…
    data = change_data(staff, page)
    data[f"{row(data, 'questions', sales.q_multi.pk)}-answer_type"] = AnswerType.SINGLE_CHOICE
    assert staff.post(page, data).status_code == 302
    assert Question.objects.get(pk=sales.q_multi.pk).answer_type == AnswerType.SINGLE_CHOICE

    # …not with two.
    Option.objects.filter(pk=sales.o_crm.pk).update(checked_by_default=True)
    data = change_data(staff, page)
    data[f"{row(data, 'questions', sales.q_single.pk)}-answer_type"] = AnswerType.MULTIPLE_CHOICE
    data[f"{row(data, 'questions', sales.q_multi.pk)}-answer_type"] = AnswerType.MULTIPLE_CHOICE
    assert staff.post(page, data).status_code == 302
    data = change_data(staff, page)
    data[f"{row(data, 'questions', sales.q_multi.pk)}-answer_type"] = AnswerType.SINGLE_CHOICE
    response = staff.post(page, data)
    assert_refused(response, "A one-option question can have only one option checked by default.")
    assert Question.objects.get(pk=sales.q_multi.pk).answer_type == AnswerType.MULTIPLE_CHOICE

    # A question without options changes type freely.
    data = change_data(staff, page)
    data[f"{row(data, 'questions', sales.q_text.pk)}-answer_type"] = AnswerType.LONG_TEXT
    assert staff.post(page, data).status_code == 302
    assert Question.objects.get(pk=sales.q_text.pk).answer_type == AnswerType.LONG_TEXT


@pytest.mark.parametrize("page_of", ["cycle", "question"])
def test_the_answer_type_of_an_answered_question_cannot_change(
    staff: Client, world: SimpleNamespace, page_of: str
) -> None:
    sales = world.sales
    question = sales.q_text  # answered "Ana" on the world's ticket
    history = Change.objects.count()
    if page_of == "cycle":
        page = url(ServiceCycle, "change", sales.cycle.pk)
        data = change_data(staff, page)
        where = row(data, "questions", question.pk)
        data[f"{where}-answer_type"] = AnswerType.LONG_TEXT
    else:
        page = url(Question, "change", question.pk)
        data = change_data(staff, page)
        where = "form"
        data["answer_type"] = AnswerType.LONG_TEXT

    response = staff.post(page, data)

    assert_refused(response, "Question 1.01 of cycle “ciclo-vendas” has answers: its answer type cannot change")
    assert (where, "answer_type", "answered_type") in refusals(response)
    assert Question.objects.get(pk=question.pk).answer_type == AnswerType.SHORT_TEXT
    assert Change.objects.count() == history


def test_an_option_renamed_in_its_place_keeps_its_answers(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    page = url(Question, "change", sales.q_single.pk)
    data = change_data(staff, page)
    data[f"{row(data, 'options', sales.o_site.pk)}-label"] = "Site da empresa"

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    option = Option.objects.get(pk=sales.o_site.pk)
    assert option.label == "Site da empresa"
    assert option.answer_choices.exists()
    change = Change.objects.get(content_type=ContentType.objects.get_for_model(Option))
    assert (change.action, change.object_id, change.changes) == (
        Change.Action.CHANGED,
        str(option.pk),
        {"label": ["Site", "Site da empresa"]},
    )


def test_a_decision_option_chosen_on_tickets_keeps_its_id_when_renamed(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    page, data = workflow_post(staff, sales.workflow)
    data[f"{row(data, 'steps', sales.decision.pk)}-options"] = "Sim, fechou = 20\nNão = 15"

    response = staff.post(page, data)

    assert response.status_code == 302, errors_of(response)
    assert DecisionOption.objects.get(pk=sales.yes.pk).label == "Sim, fechou"
    assert MoveDecision.objects.filter(option=sales.yes).exists()


def test_two_options_of_a_question_cannot_read_the_same(staff: Client, sales: SalesSetup) -> None:
    page = url(Question, "change", sales.q_single.pk)
    data = change_data(staff, page)
    new = add_row(data, "options", label="site ", position=3, active=True)

    response = staff.post(page, data)

    assert_refused(response, "Another option of this question reads “site”.")
    assert (new, "label", "repeated_label") in refusals(response)
    assert sales.q_single.options.count() == 2


def test_a_choice_question_is_added_with_its_options_on_its_own_page(staff: Client, sales: SalesSetup) -> None:
    # The cycle's inline has no options: a new choice question there would have none.
    page = url(ServiceCycle, "change", sales.cycle.pk)
    data = change_data(staff, page)
    new = add_row(
        data, "questions", code="1.09", text="Canal", cr=sales.cr_prospect.pk, answer_type="single_choice", active=True
    )

    response = staff.post(page, data)

    assert_refused(response, "A multiple-choice question needs at least one active option.")
    assert (new, "__all__", "no_active_option") in refusals(response)
    assert not Question.objects.filter(code="1.09").exists()


def test_a_question_stays_in_its_cycle(staff: Client, sales: SalesSetup) -> None:
    other = ServiceCycle.objects.create(code="outro", description="Outro")
    page = url(Question, "change", sales.q_memo.pk)
    assert "cycle" not in staff.get(page).context["adminform"].form.fields
    data = change_data(staff, page)
    data.update(cycle=str(other.pk), text="Necessidade do cliente")

    assert staff.post(page, data).status_code == 302

    question = Question.objects.get(pk=sales.q_memo.pk)
    assert (question.cycle, question.text) == (sales.cycle, "Necessidade do cliente")


def test_an_option_chosen_in_answers_cannot_be_deleted(staff: Client, world: SimpleNamespace) -> None:
    sales = world.sales
    page = url(Question, "change", sales.q_single.pk)
    data = change_data(staff, page)
    data[f"{row(data, 'options', sales.o_site.pk)}-DELETE"] = "on"

    response = staff.post(page, data)

    assert_refused(response, "Option “Site” was chosen in answers and cannot be removed: deactivate it instead.")
    assert ("options", "__all__", "in_use") in refusals(response)
    assert Option.objects.filter(pk=sales.o_site.pk).exists()


def test_a_choice_question_needs_an_active_option(staff: Client, sales: SalesSetup) -> None:
    page = url(Question, "change", sales.q_single.pk)
    data = change_data(staff, page)
    for option in (sales.o_site, sales.o_referral):
        data.pop(f"{row(data, 'options', option.pk)}-active")

    response = staff.post(page, data)

    assert_refused(response, "A multiple-choice question needs at least one active option.")
    assert Option.objects.filter(question=sales.q_single, active=True).count() == 2


def test_a_question_that_is_not_a_choice_has_no_options(staff: Client, sales: SalesSetup) -> None:
    page = url(Question, "change", sales.q_text.pk)
    data = change_data(staff, page)
    add_row(data, "options", label="Sim", position=1, active=True)

    response = staff.post(page, data)

    assert_refused(response, "Only the multiple-choice answer types have options")
    assert not Option.objects.filter(question=sales.q_text).exists()


def test_a_question_with_options_is_saved_through_its_admin(staff: Client, sales: SalesSetup) -> None:
    data = change_data(staff, url(Question, "add"))
    data.update(
        cycle=sales.cycle.pk,
        cr=sales.cr_proposal.pk,
        code="2.02",
        text="Forma de pagamento",
        answer_type=AnswerType.SINGLE_CHOICE,
        active="on",
    )
    add_row(data, "options", label="Boleto", position=1, active=True)
    add_row(data, "options", label="Cartão", position=2, active=True, asks_complement=True)

    response = staff.post(url(Question, "add"), data)

    assert response.status_code == 302, errors_of(response)
    question = Question.objects.get(cycle=sales.cycle, code="2.02")
    assert list(question.options.values_list("label", "asks_complement")) == [("Boleto", False), ("Cartão", True)]
    assert Change.objects.filter(action=Change.Action.CREATED, object_repr="Cartão").exists()


def test_a_question_in_a_cr_off_the_workflow_is_refused(staff: Client, sales: SalesSetup) -> None:
    outside = make_cr("5", description="Fora do fluxo")
    page = url(Question, "change", sales.q_proposal.pk)
    data = change_data(staff, page)
    data["cr"] = str(outside.pk)

    response = staff.post(page, data)

    assert_refused(response, "The cycle asks questions in CRs that the workflow never passes: 5.")
    assert ("options", "__all__", "cycle_off_route") in refusals(response)
    assert Question.objects.get(pk=sales.q_proposal.pk).cr == sales.cr_proposal


def test_the_question_list_filters_by_cycle_cr_and_type(staff: Client, sales: SalesSetup) -> None:
    response = staff.get(
        url(Question, "changelist"), {"cr__id__exact": sales.cr_prospect.pk, "answer_type__exact": "single_choice"}
    )
    assert list(response.context["cl"].result_list) == [sales.q_single]
    response = staff.get(url(Question, "changelist"), {"q": "Orçamento"})
    assert list(response.context["cl"].result_list) == [sales.q_money]


# Service types


def test_a_service_type_whose_cycle_asks_in_crs_off_its_workflow_is_refused(staff: Client, sales: SalesSetup) -> None:
    short = Workflow.objects.create(code="curto", description="Curto")
    WorkflowStep.objects.create(workflow=short, order=0, kind="cr", cr=sales.cr_prospect, next_order=5)
    WorkflowStep.objects.create(workflow=short, order=5, kind="cr", cr=sales.cr_closed)
    page = url(ServiceType, "change", sales.type.pk)
    data = change_data(staff, page)
    data["workflow"] = str(short.pk)

    response = staff.post(page, data)

    assert_refused(response, "The cycle asks questions in CRs that the workflow never passes: 2.")
    assert ServiceType.objects.get(pk=sales.type.pk).workflow == sales.workflow


def test_a_service_type_with_a_bad_classification_is_refused(staff: Client, sales: SalesSetup) -> None:
    data = change_data(staff, url(ServiceType, "add"))
    data.update(code="1.a", description="Errado", kind="analytical", workflow=sales.workflow.pk, colour="#aa0000")
    response = staff.post(url(ServiceType, "add"), data)
    assert_refused(response, "is not a classification")
    assert not ServiceType.objects.filter(description="Errado").exists()


def test_a_group_cannot_move_away_from_its_types(staff: Client, sales: SalesSetup) -> None:
    page = url(ServiceType, "change", sales.group.pk)
    data = change_data(staff, page)
    data["code"] = "2"
    response = staff.post(page, data)
    assert_refused(response, "These types would be left outside any group: service type 1.1 “Venda nova”.")
    assert ("form", "kind", "orphaned_types") in refusals(response)
    assert ServiceType.objects.get(pk=sales.group.pk).code == "1"


def test_a_group_cannot_become_analytical_while_types_sit_under_it(staff: Client, sales: SalesSetup) -> None:
    page = url(ServiceType, "change", sales.group.pk)
    data = change_data(staff, page)
    data.update(kind=ServiceType.Kind.ANALYTICAL, workflow=str(sales.workflow.pk))

    response = staff.post(page, data)

    assert_refused(response, "These types would be left outside any group: service type 1.1 “Venda nova”.")
    assert ("form", "kind", "orphaned_types") in refusals(response)
    assert ServiceType.objects.get(pk=sales.group.pk).kind == ServiceType.Kind.SYNTHETIC
    assert ServiceType.objects.get(pk=sales.type.pk).parent == sales.group
    assert not Change.objects.exists()


def test_a_service_type_is_added_under_its_group(staff: Client, sales: SalesSetup) -> None:
    data = change_data(staff, url(ServiceType, "add"))
    data.update(code="1.2", description="Renovação", kind="analytical", workflow=sales.workflow.pk, colour="#aa0000")

    response = staff.post(url(ServiceType, "add"), data)

    assert response.status_code == 302, errors_of(response)
    assert ServiceType.objects.get(code="1.2").parent == sales.group


def test_the_service_type_list_is_in_classification_order(staff: Client, sales: SalesSetup) -> None:
    ServiceType.objects.create(code="1.10", description="Dez", workflow=sales.workflow)
    ServiceType.objects.create(code="1.2", description="Dois", workflow=sales.workflow)
    response = staff.get(url(ServiceType, "changelist"))
    assert [t.code for t in response.context["cl"].result_list] == ["1", "1.1", "1.2", "1.10"]
    assert "#0d6efd" in response.content.decode()


# CRM options


def test_crm_options_is_a_single_row(staff: Client, sales: SalesSetup) -> None:
    response = staff.get(url(CrmOptions, "changelist"))
    options = CrmOptions.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url(CrmOptions, "change", options.pk)
    assert staff.get(url(CrmOptions, "add")).status_code == 403
    assert staff.get(url(CrmOptions, "delete", options.pk)).status_code == 403


def test_collection_types_are_locked_once_a_collection_exists(
    staff: Client, sales: SalesSetup, admin_user: Any
) -> None:
    other = ServiceType.objects.create(code="1.2", description="Outra cobrança", workflow=sales.workflow)
    options = CrmOptions.current()
    options.collection_synthetic_type = sales.group
    options.collection_analytical_type = sales.type
    options.save()
    page = url(CrmOptions, "change", options.pk)

    data = change_data(staff, page)
    data["collection_analytical_type"] = str(other.pk)
    assert staff.post(page, data).status_code == 302  # no collection yet: it may change

    make_ticket(sales, admin_user, service_type=other)
    data = change_data(staff, page)
    data["collection_analytical_type"] = str(sales.type.pk)
    response = staff.post(page, data)

    assert_refused(response, "The collection types are locked")
    assert CrmOptions.current().collection_analytical_type == other


def test_saving_crm_options_records_history(staff: Client, sales: SalesSetup) -> None:
    options = CrmOptions.current()
    page = url(CrmOptions, "change", options.pk)
    data = change_data(staff, page)
    data["collection_days_overdue"] = "10"
    assert staff.post(page, data).status_code == 302
    change = Change.objects.get()
    assert change.changes == {"collection_days_overdue": [5, 10]}


# People


def test_a_person_is_saved_from_a_formatted_cpf_with_contacts(staff: Client, db: Any) -> None:
    cpf = make_cpf()
    formatted = f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}"
    data = change_data(staff, url(Person, "add"))
    data.update(name="Sílvia Souza", kind="individual", document=formatted, active="on")
    for prefix in ("contacts", "phones", "emails"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    add_row(data, "phones", kind="mobile", number="(11) 98765-4321")

    response = staff.post(url(Person, "add"), data)

    assert response.status_code == 302, errors_of(response)
    person = Person.objects.get(document=cpf)
    assert person.phones.count() == 1
    for term in ("silv", "SOUZA", formatted[:7], cpf[:5]):
        found = staff.get(url(Person, "changelist"), {"q": term}).context["cl"].result_list
        assert list(found) == [person], term


def test_a_contact_person_used_by_a_ticket_cannot_be_deleted(staff: Client, sales: SalesSetup, admin_user: Any) -> None:
    ticket = make_ticket(sales, admin_user)
    contact = ContactPerson.objects.create(person=ticket.person, name="Ana")
    Ticket.objects.filter(pk=ticket.pk).update(contact_person=contact)
    page = url(Person, "change", ticket.person.pk)
    data = change_data(staff, page)
    data[f"{row(data, 'contacts', contact.pk)}-DELETE"] = "on"

    response = staff.post(page, data)

    assert_refused(response, "“Ana” is in use and cannot be deleted")
    assert ContactPerson.objects.filter(pk=contact.pk).exists()


def test_a_person_with_tickets_cannot_be_deleted(staff: Client, world: SimpleNamespace) -> None:
    person = world.ticket.person
    response = staff.post(url(Person, "delete", person.pk), {"post": "yes"})
    assert response.status_code == 200
    assert Person.objects.filter(pk=person.pk).exists()


# Users


def test_the_user_admin_sets_the_role_and_shows_companies(staff: Client, sales: SalesSetup, agent: Any) -> None:
    UserCompany.objects.create(user=agent, company=sales.company)
    page = url(type(agent), "change", agent.pk)
    data = change_data(staff, page)
    assert data["role"] == Role.AGENT
    data["role"] = Role.SUPERVISOR

    assert staff.post(page, data).status_code == 302

    assert set(agent.groups.values_list("name", flat=True)) == {Role.SUPERVISOR.value}
    listing = staff.get(url(type(agent), "changelist")).content.decode()
    assert "Supervisor" in listing
    assert str(sales.company) in listing


# Tickets


def test_tickets_are_read_only(staff: Client, world: SimpleNamespace) -> None:
    ticket = world.ticket
    page = url(Ticket, "change", ticket.pk)
    response = staff.get(page)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Primeiro contato" in content and "Fechou negócio?: Sim" in content and "Site" in content
    assert staff.post(page, {"subject": "Outro"}).status_code == 403
    assert staff.get(url(Ticket, "add")).status_code == 403
    assert staff.get(url(Ticket, "delete", ticket.pk)).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).subject == "Interesse no ERP"


def test_the_ticket_list_makes_the_same_number_of_queries_for_5_and_25_tickets(
    staff: Client, sales: SalesSetup, admin_user: Any
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = staff.get(url(Ticket, "changelist"))
        assert response.status_code == 200
        return len(queries)

    for _i in range(5):
        make_ticket(sales, admin_user, next_contact_user=admin_user)
    small = count()
    for _i in range(20):
        make_ticket(sales, admin_user, next_contact_user=admin_user)
    assert count() == small


def test_the_ticket_list_finds_by_number_subject_and_person(staff: Client, sales: SalesSetup, admin_user: Any) -> None:
    person = Person.objects.create(name="Ângela Dias", document=make_cpf())
    ticket = make_ticket(sales, admin_user, person=person, subject="Renovação anual")
    make_ticket(sales, admin_user)
    for term in (str(ticket.pk), f"#{ticket.pk}", "renovação", "angela", person.document_display):
        found = staff.get(url(Ticket, "changelist"), {"q": term}).context["cl"].result_list
        assert ticket in list(found), term
        assert len(found) == 1 or term == str(ticket.pk), term


# Access


def test_an_agent_cannot_change_configuration(client: Client, role_groups: None, agent: Any, sales: SalesSetup) -> None:
    client.force_login(agent)
    cr_page = url(ResponsibilityCenter, "change", sales.cr_prospect.pk)
    # Agents are kept out of the admin altogether: every page sends them to its login.
    for response in (
        client.get(cr_page),
        client.post(cr_page, {"code": "1", "description": "Mudou"}),
        client.get(url(ResponsibilityCenter, "add")),
        client.get(url(Workflow, "changelist")),
        client.post(url(Workflow, "change", sales.workflow.pk), {}),
        client.get(url(CrmOptions, "changelist")),
    ):
        assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert ResponsibilityCenter.objects.get(pk=sales.cr_prospect.pk).description == "Prospecção"


def test_a_supervisor_sees_history_but_cannot_change_it(
    client: Client, role_groups: None, supervisor: Any, sales: SalesSetup
) -> None:
    change = record_change(sales.cr_prospect, by=supervisor, action=Change.Action.CREATED)
    assert change is not None
    client.force_login(supervisor)
    assert client.get(url(Change, "changelist")).status_code == 200
    assert client.get(url(Change, "change", change.pk)).status_code == 200
    assert client.get(url(Change, "delete", change.pk)).status_code == 403


def test_a_non_staff_user_is_sent_to_the_login(client: Client, db: Any) -> None:
    user = make_user("nostaff", Role.AGENT)
    user.is_staff = False
    user.save()
    client.force_login(user)
    response = client.get(url(Workflow, "changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]

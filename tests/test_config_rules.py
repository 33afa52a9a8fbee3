"""Each configuration rule through every interface: the admin, the API and the import refuse the
same change with the same rule code, and write nothing; what they accept, they save the same way.

A drift between interfaces (a rule one of them forgets, a code one of them renames) fails here.
The import gets one-item files, as the API's PUT is a one-item bundle.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.configurator.definitions import DefinitionsInvalid, apply_import, export_bundle
from ciclo.configurator.models import (
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
)
from ciclo.configurator.validation import Rule
from ciclo.history.models import Change
from ciclo.tickets.answering import AnswerInput, save_answers
from tests.api.helpers import Api
from tests.factory import SalesSetup, make_ticket
from tests.test_admin import change_data, row, url

INTERFACES = ("admin", "api", "import")
SECTIONS = {"cr": "responsibility_centers", "workflow": "workflows", "cycle": "cycles", "type": "service_types"}
MODELS = {"cr": ResponsibilityCenter, "workflow": Workflow, "cycle": ServiceCycle, "type": ServiceType}
API_PATHS = {"cr": "crs", "workflow": "workflows", "cycle": "cycles", "type": "service-types"}


@pytest.fixture
def used(sales: SalesSetup, admin_user: Any) -> SalesSetup:
    """The sales setup with a ticket standing at its first step, its first question answered,
    and the administrator's API token (made now: making it is history too)."""
    ensure_role_groups()
    ticket = make_ticket(sales, admin_user)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "Ana")], by=admin_user)
    sales.api = Api(create_token(admin_user, name="rules")[1])  # type: ignore[attr-defined]
    return sales


def item_of(kind: str, code: str) -> dict[str, Any]:
    """The saved item as a file (and the API) writes it."""
    return copy.deepcopy(next(i for i in export_bundle()[SECTIONS[kind]] if i["code"] == code))


def state() -> tuple[Any, int]:
    return export_bundle(), Change.objects.count()


# ---- the interfaces --------------------------------------------------------------------------------


def admin_codes(response: Any) -> set[str]:
    """The rule codes of every error the admin page shows (its form's, its inlines' rows', its inlines' own)."""
    assert response.status_code == 200, f"not refused: {response.status_code}"
    codes: set[str] = set()
    for errors in response.context["adminform"].form.errors.as_data().values():
        codes |= {str(e.code) for e in errors}
    for inline in response.context["inline_admin_formsets"]:
        codes |= {str(e.code) for e in inline.formset.non_form_errors().as_data()}
        for form in inline.formset.forms:
            for errors in form.errors.as_data().values():
                codes |= {str(e.code) for e in errors}
    return codes


def api_codes(response: Any) -> set[str]:
    assert response.status_code in (409, 422), f"not refused: {response.status_code} {response.body}"
    return {p["rule"] for p in response.body["error"]["problems"]}


@dataclass
class Change_:
    """One change, as each interface makes it."""

    kind: str  # cr, workflow, cycle, type
    code: str  # the saved item's code
    edit: Callable[[dict[str, Any]], None]  # changes the item as a file or the API holds it
    admin: Callable[[dict[str, Any]], None]  # changes the admin page's posted data

    def run(self, interface: str, admin_user: Any, client: Client, api: Api | None = None) -> Any:
        """The response (admin, API) or the import's outcome (a plan, or the refusal)."""
        if interface == "import":
            data = {"ciclo_definitions": 1, SECTIONS[self.kind]: [self._edited()]}
            try:
                return apply_import(data, by=admin_user)
            except DefinitionsInvalid as exc:
                return exc
        if interface == "api":
            api = api or Api(create_token(admin_user, name="rules")[1])
            body = self._edited()
            if self.kind in ("workflow", "cycle"):
                return api.put(f"/config/{API_PATHS[self.kind]}/{self.code}", body)
            body.pop("members", None)
            return api.patch(f"/config/{API_PATHS[self.kind]}/{self.code}", body)
        client.force_login(admin_user)
        saved = MODELS[self.kind].objects.get(code=self.code)
        page = url(MODELS[self.kind], "change", saved.pk)
        data = change_data(client, page)
        self.admin(data)
        return client.post(page, data)

    def _edited(self) -> dict[str, Any]:
        item = item_of(self.kind, self.code)
        self.edit(item)
        return item


def refusal_codes(interface: str, outcome: Any) -> set[str]:
    if interface == "import":
        assert isinstance(outcome, DefinitionsInvalid), "not refused"
        return {p.rule.value for p in outcome.problems}
    if interface == "api":
        return api_codes(outcome)
    return admin_codes(outcome)


def question_index(item: dict[str, Any], code: str) -> int:
    return next(i for i, q in enumerate(item["questions"]) if q["code"] == code)


def step_index(item: dict[str, Any], order: int) -> int:
    return next(i for i, s in enumerate(item["steps"]) if s["order"] == order)


def admin_row(prefix: str, model: Any, **lookup: Any) -> Callable[[dict[str, Any]], str]:
    def find(data: dict[str, Any]) -> str:
        return row(data, prefix, model.objects.get(**lookup).pk)

    return find


# ---- the rules -------------------------------------------------------------------------------------


def _answered_type_admin(data: dict[str, Any]) -> None:
    data[f"{row(data, 'questions', Question.objects.get(code='1.01').pk)}-answer_type"] = "number"


def _used_step_kind_edit(item: dict[str, Any]) -> None:
    step = item["steps"][step_index(item, 0)]
    step.update(kind="workflow", target_workflow="vendas", target_order=5)
    step.pop("cr"), step.pop("next_order")


def _used_step_kind_admin(data: dict[str, Any]) -> None:
    prefix = row(data, "steps", Workflow.objects.get(code="vendas").steps.get(order=0).pk)
    data.update(
        {f"{prefix}-kind": "workflow", f"{prefix}-target_workflow": str(Workflow.objects.get(code="vendas").pk)}
    )
    data.update({f"{prefix}-target_order": "5", f"{prefix}-cr": "", f"{prefix}-next_order": ""})


def _orphans_edit(item: dict[str, Any]) -> None:
    item.update(kind="analytical", workflow="vendas")


def _orphans_admin(data: dict[str, Any]) -> None:
    data.update(kind="analytical", workflow=str(Workflow.objects.get(code="vendas").pk))


def _stop_closing_edit(item: dict[str, Any]) -> None:
    item["closes_process"] = False


def _stop_closing_admin(data: dict[str, Any]) -> None:
    data.pop("closes_process", None)


REFUSED = {
    # The answer type of a question that has answers.
    "answered_type": (
        Change_(
            "cycle",
            "ciclo-vendas",
            lambda c: c["questions"][question_index(c, "1.01")].update(answer_type="number"),
            _answered_type_admin,
        ),
        Rule.ANSWERED_TYPE,
    ),
    # The kind of a step a ticket stands at.
    "used_step_kind": (Change_("workflow", "vendas", _used_step_kind_edit, _used_step_kind_admin), Rule.USED_STEP_KIND),
    # The kind of a type tickets use.
    "used_type_kind": (
        Change_("type", "1.1", lambda t: t.update(kind="synthetic"), lambda d: d.update(kind="synthetic")),
        Rule.USED_TYPE_KIND,
    ),
    # A group turned analytical leaves the types under it outside any group.
    "orphaned_types": (Change_("type", "1", _orphans_edit, _orphans_admin), Rule.ORPHANED_TYPES),
    # The only closing CR of a workflow stops closing: its last step, with no next order, must close.
    "closing_cr": (Change_("cr", "9", _stop_closing_edit, _stop_closing_admin), Rule.STEP_SHAPE),
}


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("rule", sorted(REFUSED))
def test_every_interface_refuses_the_change_with_the_same_rule_and_writes_nothing(
    rule: str, interface: str, used: SalesSetup, admin_user: Any, client: Client
) -> None:
    change, code = REFUSED[rule]
    before = state()
    outcome = change.run(interface, admin_user, client, used.api)  # type: ignore[attr-defined]
    assert code.value in refusal_codes(interface, outcome)
    assert state() == before


# ---- what every interface accepts the same way ------------------------------------------------------


def _rename_decision_admin(data: dict[str, Any]) -> None:
    prefix = row(data, "steps", Workflow.objects.get(code="vendas").steps.get(order=10).pk)
    data[f"{prefix}-options"] = data[f"{prefix}-options"].replace("Sim = 20", "Fechou = 20")


def _rename_option_edit(item: dict[str, Any]) -> None:
    options = item["questions"][question_index(item, "1.07")]["options"]
    options[0]["label"] = "Página na internet"


def _rename_option_admin(data: dict[str, Any]) -> None:
    raise pytest.skip.Exception("a question's options are edited on the question's own page")


@pytest.mark.parametrize("interface", INTERFACES)
def test_renaming_a_decision_option_in_its_place_keeps_it(
    interface: str, used: SalesSetup, admin_user: Any, client: Client
) -> None:
    kept = used.yes.pk
    change = Change_(
        "workflow",
        "vendas",
        lambda w: w["steps"][step_index(w, 10)]["options"][0].update(label="Fechou"),
        _rename_decision_admin,
    )
    outcome = change.run(interface, admin_user, client)
    assert not isinstance(outcome, DefinitionsInvalid), outcome
    assert DecisionOption.objects.get(pk=kept).label == "Fechou"
    assert DecisionOption.objects.filter(step=used.decision).count() == 2


@pytest.mark.parametrize("interface", ["api", "import"])
def test_renaming_a_question_option_in_its_place_keeps_it(
    interface: str, used: SalesSetup, admin_user: Any, client: Client
) -> None:
    first = Option.objects.filter(question=used.q_single).order_by("position", "id").first()
    assert first is not None
    outcome = Change_("cycle", "ciclo-vendas", _rename_option_edit, _rename_option_admin).run(
        interface, admin_user, client
    )
    assert not isinstance(outcome, DefinitionsInvalid), outcome
    assert Option.objects.get(pk=first.pk).label == "Página na internet"


def test_renaming_a_question_option_in_the_admin_keeps_it(used: SalesSetup, admin_user: Any, client: Client) -> None:
    first = Option.objects.filter(question=used.q_single).order_by("position", "id").first()
    assert first is not None
    client.force_login(admin_user)
    page = url(Question, "change", used.q_single.pk)
    data = change_data(client, page)
    data[f"{row(data, 'options', first.pk)}-label"] = "Página na internet"
    response = client.post(page, data)
    assert response.status_code == 302, response.context and admin_codes(response)
    assert Option.objects.get(pk=first.pk).label == "Página na internet"


@pytest.mark.parametrize("interface", INTERFACES)
def test_a_change_leaves_one_history_row_with_what_changed(
    interface: str, used: SalesSetup, admin_user: Any, client: Client
) -> None:
    cr = used.cr_prospect
    before = Change.objects.count()
    api = used.api  # type: ignore[attr-defined]
    change = Change_(
        "cr",
        cr.code,
        lambda c: c.update(description="Primeiro contato"),
        lambda d: d.update(description="Primeiro contato"),
    )
    outcome = change.run(interface, admin_user, client, api)
    assert not isinstance(outcome, DefinitionsInvalid), outcome
    assert Change.objects.count() == before + 1
    entry = Change.objects.order_by("-id").first()
    assert entry is not None
    assert (entry.action, entry.object_id, entry.by) == (Change.Action.CHANGED, str(cr.pk), admin_user)
    assert entry.changes == {"description": [cr.description, "Primeiro contato"]}


@pytest.mark.parametrize("interface", INTERFACES)
def test_deactivating_is_recorded_as_such(interface: str, used: SalesSetup, admin_user: Any, client: Client) -> None:
    cr = used.cr_negotiation
    change = Change_("cr", cr.code, lambda c: c.update(active=False), lambda d: d.pop("active", None))
    outcome = change.run(interface, admin_user, client)
    assert not isinstance(outcome, DefinitionsInvalid), outcome
    cr.refresh_from_db()
    assert cr.active is False
    entry = Change.objects.order_by("-id").first()
    assert entry is not None and entry.action == Change.Action.DEACTIVATED
    assert entry.changes == {"active": [True, False]}


@pytest.mark.parametrize("interface", ["admin", "api"])
def test_what_is_in_use_is_not_deleted_anywhere(
    interface: str, used: SalesSetup, admin_user: Any, client: Client
) -> None:
    """A file never deletes; the admin and the API refuse to delete what is in use, with the same rule."""
    cr = used.cr_prospect
    before = state()
    if interface == "api":
        response = used.api.delete(f"/config/crs/{cr.code}")  # type: ignore[attr-defined]
        assert api_codes(response) == {Rule.IN_USE.value}
    else:
        client.force_login(admin_user)
        response = client.post(url(ResponsibilityCenter, "delete", cr.pk), {"post": "yes"}, follow=True)
        # The admin's own refusal, which lists what uses it (its delete view never reaches delete_model).
        assert response.status_code == 200
        assert "Cannot delete" in response.content.decode()
    assert ResponsibilityCenter.objects.filter(pk=cr.pk).exists()
    assert state() == before

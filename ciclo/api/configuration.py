"""/config: responsibility centers, workflows, service cycles, service types and the CRM options.

Any role reads; only an administrator writes. Each write is one call of
`configurator.changes`, which checks every rule and saves all or nothing, as the admin
and the import do. A request body is the item itself (CrItem, WorkflowItem, …): a POST
creates it (its code must be new), a PUT replaces it whole — a step, question or option
it leaves out is deleted, unless it is in use (409) — and a PATCH changes the fields it
gives, keeping the others. A refusal is a 422 whose `problems` carry each rule's code, or
a 409 `in_use` for what is used; nothing is written. A definition in use is never
deleted: deactivate it instead. Every change leaves a history row (ciclo.history.Change).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from ciclo.api.auth import require_admin
from ciclo.api.common import find_user
from ciclo.api.errors import ApiError, invalid, not_found
from ciclo.api.schemas import (
    AUTH,
    CREATE,
    DELETE,
    READ,
    WRITE,
    CrmOptionsIn,
    CrmOptionsOut,
    CrOut,
    CrPatch,
    CycleOut,
    DefinitionPatch,
    ServiceTypeOut,
    ServiceTypePatch,
    WorkflowOut,
    responses,
)
from ciclo.configurator import changes
from ciclo.configurator.items import CrItem, CycleItem, ServiceTypeItem, WorkflowItem
from ciclo.configurator.models import (
    CrmOptions,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
    sales_type_ids,
)
from ciclo.fields import decimal_text

router = Router()
M = TypeVar("M", bound=Model)


def _get(qs: QuerySet[M], code: str, what: str) -> M:
    found = qs.filter(code=code).first()
    if found is None:
        raise not_found(_("There is no %(what)s “%(code)s”.") % {"what": what, "code": code})
    return found


# ---- responsibility centers -----------------------------------------------------------------


def _crs() -> QuerySet[ResponsibilityCenter]:
    return ResponsibilityCenter.objects.prefetch_related("members")


def _cr(code: str) -> ResponsibilityCenter:
    return _get(_crs(), code, _("responsibility center"))


def _cr_out(cr: ResponsibilityCenter) -> dict[str, Any]:
    return {
        "id": cr.pk,
        "code": cr.code,
        "description": cr.description,
        "closes_process": cr.closes_process,
        "active": cr.active,
        "default_success": cr.default_success,
        "stale_after_days": cr.stale_after_days,
        "members": sorted(u.get_username() for u in cr.members.all()),
    }


@router.get("/crs", response=responses({200: list[CrOut]}, AUTH), summary="List responsibility centers")
def list_crs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_cr_out(cr) for cr in _crs()]


@router.get("/crs/{code}", response=responses({200: CrOut}, READ), summary="A responsibility center")
def get_cr(request: HttpRequest, code: str) -> dict[str, Any]:
    return _cr_out(_cr(code))


@router.post("/crs", response=responses({201: CrOut}, CREATE), summary="Create a responsibility center")
def create_cr(request: HttpRequest, payload: CrItem) -> Status:
    cr = changes.save_cr(payload, by=require_admin(request))
    return Status(201, _cr_out(_cr(cr.code)))


@router.patch("/crs/{code}", response=responses({200: CrOut}, WRITE), summary="Change a responsibility center")
def update_cr(request: HttpRequest, code: str, payload: CrPatch) -> dict[str, Any]:
    """Whether it closes the process is part of every workflow passing it: a change that would break
    one of them is refused (one already broken does not stop it)."""
    user = require_admin(request)
    row = _cr(code)
    item = changes.cr_item(row, members=True).model_copy(update=payload.dict(exclude_unset=True))
    cr = changes.save_cr(item, by=user, saved=row)
    return _cr_out(_cr(cr.code))


@router.delete("/crs/{code}", response=responses({204: None}, DELETE), summary="Delete an unused responsibility center")
def delete_cr(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    changes.delete(_get(ResponsibilityCenter.objects.all(), code, _("responsibility center")), by=user)
    return Status(204, None)


# ---- workflows ------------------------------------------------------------------------------


def _workflows() -> QuerySet[Workflow]:
    steps: QuerySet[WorkflowStep] = (
        WorkflowStep.objects.select_related("cr", "target_workflow").prefetch_related("options").order_by("order")
    )
    return Workflow.objects.all().prefetch_related(Prefetch("steps", queryset=steps))


def _workflow(code: str) -> Workflow:
    return _get(_workflows(), code, _("workflow"))


def _workflow_out(workflow: Workflow) -> dict[str, Any]:
    return {
        "id": workflow.pk,
        "code": workflow.code,
        "description": workflow.description,
        "active": workflow.active,
        "steps": [
            {
                "id": s.pk,
                "order": s.order,
                "kind": s.kind,
                "cr": s.cr.code if s.cr else None,
                "closes_process": bool(s.cr and s.cr.closes_process),
                "next_order": s.next_order,
                "question": s.question,
                "options": [
                    {"id": o.pk, "label": o.label, "target_order": o.target_order, "position": o.position}
                    for o in s.options.all()
                ],
                "target_workflow": s.target_workflow.code if s.target_workflow else None,
                "target_order": s.target_order,
                "active": s.active,
            }
            for s in workflow.steps.all()
        ],
    }


@router.get("/workflows", response=responses({200: list[WorkflowOut]}, AUTH), summary="List workflows with their steps")
def list_workflows(request: HttpRequest) -> list[dict[str, Any]]:
    return [_workflow_out(w) for w in _workflows()]


@router.get("/workflows/{code}", response=responses({200: WorkflowOut}, READ), summary="A workflow with its steps")
def get_workflow(request: HttpRequest, code: str) -> dict[str, Any]:
    return _workflow_out(_workflow(code))


@router.post("/workflows", response=responses({201: WorkflowOut}, CREATE), summary="Create a workflow with its steps")
def create_workflow(request: HttpRequest, payload: WorkflowItem) -> Status:
    workflow = changes.save_workflow(payload, by=require_admin(request))
    return Status(201, _workflow_out(_workflow(workflow.code)))


@router.put(
    "/workflows/{code}", response=responses({200: WorkflowOut}, WRITE), summary="Replace a workflow and its steps"
)
def replace_workflow(request: HttpRequest, code: str, payload: WorkflowItem) -> dict[str, Any]:
    """Steps are matched by order, a decision's options by id, else label, else position (a renamed
    option keeps its id). A step or option left out is deleted, unless tickets have used it (409)."""
    user = require_admin(request)
    row = _get(Workflow.objects.all(), code, _("workflow"))
    workflow = changes.save_workflow(payload, by=user, saved=row)
    return _workflow_out(_workflow(workflow.code))


@router.patch(
    "/workflows/{code}", response=responses({200: WorkflowOut}, WRITE), summary="Rename or (de)activate a workflow"
)
def update_workflow(request: HttpRequest, code: str, payload: DefinitionPatch) -> dict[str, Any]:
    user = require_admin(request)
    row = _get(Workflow.objects.all(), code, _("workflow"))
    data = payload.dict(exclude_unset=True)
    if set(data) == {"active"}:  # (de)activating is always allowed, even a workflow saved before its rules held
        changes.set_active(row, data["active"], by=user)
        return _workflow_out(_workflow(row.code))
    item = changes.workflow_item(row).model_copy(update=data)
    workflow = changes.save_workflow(item, by=user, saved=row)
    return _workflow_out(_workflow(workflow.code))


@router.delete("/workflows/{code}", response=responses({204: None}, DELETE), summary="Delete an unused workflow")
def delete_workflow(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    changes.delete(_get(Workflow.objects.all(), code, _("workflow")), by=user)
    return Status(204, None)


# ---- service cycles -------------------------------------------------------------------------


def _cycles() -> QuerySet[ServiceCycle]:
    questions: QuerySet[Question] = (
        Question.objects.select_related("cr")
        .prefetch_related(Prefetch("options", queryset=Option.objects.order_by("position", "id")))
        .order_by("code_key")
    )
    return ServiceCycle.objects.all().prefetch_related(Prefetch("questions", queryset=questions))


def _cycle(code: str) -> ServiceCycle:
    return _get(_cycles(), code, _("service cycle"))


def question_out(q: Question) -> dict[str, Any]:
    return {
        "id": q.pk,
        "code": q.code,
        "cr": q.cr.code,
        "text": q.text,
        "help_text": q.help_text,
        "answer_type": q.answer_type,
        "required": q.required,
        "min_value": decimal_text(q.min_value),
        "max_value": decimal_text(q.max_value),
        "active": q.active,
        "options": [
            {
                "id": o.pk,
                "label": o.label,
                "position": o.position,
                "checked_by_default": o.checked_by_default,
                "asks_complement": o.asks_complement,
                "active": o.active,
            }
            for o in q.options.all()
        ],
    }


def _cycle_out(cycle: ServiceCycle) -> dict[str, Any]:
    return {
        "id": cycle.pk,
        "code": cycle.code,
        "description": cycle.description,
        "active": cycle.active,
        "questions": [question_out(q) for q in cycle.questions.all()],
    }


@router.get(
    "/cycles", response=responses({200: list[CycleOut]}, AUTH), summary="List service cycles with their questions"
)
def list_cycles(request: HttpRequest) -> list[dict[str, Any]]:
    return [_cycle_out(c) for c in _cycles()]


@router.get("/cycles/{code}", response=responses({200: CycleOut}, READ), summary="A service cycle with its questions")
def get_cycle(request: HttpRequest, code: str) -> dict[str, Any]:
    return _cycle_out(_cycle(code))


@router.post(
    "/cycles", response=responses({201: CycleOut}, CREATE), summary="Create a service cycle with its questions"
)
def create_cycle(request: HttpRequest, payload: CycleItem) -> Status:
    cycle = changes.save_cycle(payload, by=require_admin(request))
    return Status(201, _cycle_out(_cycle(cycle.code)))


@router.put("/cycles/{code}", response=responses({200: CycleOut}, WRITE), summary="Replace a service cycle's questions")
def replace_cycle(request: HttpRequest, code: str, payload: CycleItem) -> dict[str, Any]:
    """Questions are matched by classification, options by id, else label, else position. A question
    left out is deleted unless it has answers (409); an answered question keeps its answer type."""
    user = require_admin(request)
    row = _get(ServiceCycle.objects.all(), code, _("service cycle"))
    cycle = changes.save_cycle(payload, by=user, saved=row)
    return _cycle_out(_cycle(cycle.code))


@router.patch(
    "/cycles/{code}", response=responses({200: CycleOut}, WRITE), summary="Rename or (de)activate a service cycle"
)
def update_cycle(request: HttpRequest, code: str, payload: DefinitionPatch) -> dict[str, Any]:
    user = require_admin(request)
    row = _get(ServiceCycle.objects.all(), code, _("service cycle"))
    data = payload.dict(exclude_unset=True)
    if set(data) == {"active"}:  # (de)activating is always allowed
        changes.set_active(row, data["active"], by=user)
        return _cycle_out(_cycle(row.code))
    item = changes.cycle_item(row).model_copy(update=data)
    cycle = changes.save_cycle(item, by=user, saved=row)
    return _cycle_out(_cycle(cycle.code))


@router.delete("/cycles/{code}", response=responses({204: None}, DELETE), summary="Delete an unused service cycle")
def delete_cycle(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    changes.delete(_get(ServiceCycle.objects.all(), code, _("service cycle")), by=user)
    return Status(204, None)


# ---- service types --------------------------------------------------------------------------


def _types() -> QuerySet[ServiceType]:
    return ServiceType.objects.select_related("parent", "workflow", "cycle")


def _type(code: str) -> ServiceType:
    return _get(_types(), code, _("service type"))


def _type_out(t: ServiceType, sales_ids: set[int] | None = None) -> dict[str, Any]:
    return {
        "id": t.pk,
        "code": t.code,
        "description": t.description,
        "kind": t.kind,
        "category": t.category,
        "sales": t.sales,
        "is_sales_type": t.pk in sales_ids if sales_ids is not None else t.is_sales_type(),
        "parent": t.parent.code if t.parent else None,
        "priority": t.priority,
        "days_to_next_contact": t.days_to_next_contact,
        "colour": t.colour,
        "active_from": t.active_from,
        "workflow": t.workflow.code if t.workflow else None,
        "cycle": t.cycle.code if t.cycle else None,
        "active": t.active,
    }


@router.get("/service-types", response=responses({200: list[ServiceTypeOut]}, AUTH), summary="List service types")
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    sales_ids = sales_type_ids()
    return [_type_out(t, sales_ids) for t in _types()]


@router.get("/service-types/{code}", response=responses({200: ServiceTypeOut}, READ), summary="A service type")
def get_type(request: HttpRequest, code: str) -> dict[str, Any]:
    return _type_out(_type(code))


@router.post("/service-types", response=responses({201: ServiceTypeOut}, CREATE), summary="Create a service type")
def create_type(request: HttpRequest, payload: ServiceTypeItem) -> Status:
    service_type = changes.save_service_type(payload, by=require_admin(request))
    return Status(201, _type_out(_type(service_type.code)))


@router.patch(
    "/service-types/{code}", response=responses({200: ServiceTypeOut}, WRITE), summary="Change a service type"
)
def update_type(request: HttpRequest, code: str, payload: ServiceTypePatch) -> dict[str, Any]:
    """A group (synthetic type) with types under it stays a group: they would be left outside any."""
    user = require_admin(request)
    row = _get(ServiceType.objects.all(), code, _("service type"))
    item = changes.type_item(row).model_copy(update=payload.dict(exclude_unset=True))
    service_type = changes.save_service_type(item, by=user, saved=row)
    return _type_out(_type(service_type.code))


@router.delete(
    "/service-types/{code}", response=responses({204: None}, DELETE), summary="Delete an unused service type"
)
def delete_type(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    changes.delete(_get(ServiceType.objects.all(), code, _("service type")), by=user)
    return Status(204, None)


# ---- CRM options ----------------------------------------------------------------------------


def _options_out(o: CrmOptions) -> dict[str, Any]:
    return {
        "use_cycle_in_followup": o.use_cycle_in_followup,
        "collection_synthetic_type": o.collection_synthetic_type.code if o.collection_synthetic_type else None,
        "collection_analytical_type": o.collection_analytical_type.code if o.collection_analytical_type else None,
        "collection_delegate_user": o.collection_delegate_user.get_username() if o.collection_delegate_user else None,
        "automatic_note_user": o.automatic_note_user.get_username() if o.automatic_note_user else None,
        "collection_days_overdue": o.collection_days_overdue,
        "collection_grouping": o.collection_grouping,
        "access_control_user_company": o.access_control_user_company,
        "email_debtor_on_collection": o.email_debtor_on_collection,
    }


_TYPE_OPTIONS = ("collection_synthetic_type", "collection_analytical_type")
_USER_OPTIONS = ("collection_delegate_user", "automatic_note_user")


def _option_values(payload: CrmOptionsIn) -> dict[str, Any]:
    """The given options, with codes and usernames as the rows they name (422 naming an unknown one)."""
    values = payload.dict(exclude_unset=True)
    fields: dict[str, list[str]] = {}
    for name in _TYPE_OPTIONS:
        code = values.get(name)
        if code is not None:
            values[name] = ServiceType.objects.filter(code=code).first()
            if values[name] is None:
                fields[name] = [_("There is no service type “%(code)s”.") % {"code": code}]
    for name in _USER_OPTIONS:
        if values.get(name) is not None:
            try:
                values[name] = find_user(values[name], name)
            except ApiError as exc:
                fields.update(exc.fields)
    if fields:
        raise invalid(fields)
    return values


@router.get("/crm-options", response=responses({200: CrmOptionsOut}, AUTH), summary="The CRM options")
def get_options(request: HttpRequest) -> dict[str, Any]:
    return _options_out(CrmOptions.current())


@router.put("/crm-options", response=responses({200: CrmOptionsOut}, CREATE), summary="Change the CRM options")
def update_options(request: HttpRequest, payload: CrmOptionsIn) -> dict[str, Any]:
    """Omitted fields keep their value. The collection types are locked once collections exist, and
    the analytical one sits under the synthetic one, as in the admin."""
    user = require_admin(request)
    changes.save_crm_options(_option_values(payload), by=user)
    return _options_out(CrmOptions.current())

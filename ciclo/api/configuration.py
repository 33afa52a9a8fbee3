"""/config: responsibility centers, workflows, service cycles, service types and the CRM options.

Any role reads; only an administrator writes. A workflow or a cycle is written whole
(its steps or questions in one request), checked by the configurator's rules, and saved
all or nothing. A definition in use is never deleted (409): deactivate it instead.
Every change leaves a history row (ciclo.history.Change).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.forms.models import model_to_dict
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from ciclo.api.auth import require_admin
from ciclo.api.common import (
    clean_model,
    find_user,
    nullable,
    record_changed,
    record_created,
    record_deleted,
    set_fields,
)
from ciclo.api.errors import ApiError, invalid, not_found
from ciclo.api.schemas import (
    AUTH,
    CREATE,
    DELETE,
    READ,
    WRITE,
    CrIn,
    CrmOptionsIn,
    CrmOptionsOut,
    CrOut,
    CrPatch,
    CycleIn,
    CycleOut,
    DefinitionPatch,
    QuestionIn,
    ServiceTypeIn,
    ServiceTypeOut,
    ServiceTypePatch,
    WorkflowIn,
    WorkflowOut,
    responses,
)
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
from ciclo.configurator.specs import db_lookup, validate_workflow, workflow_spec
from ciclo.configurator.validation import (
    OptionSpec,
    QuestionSpec,
    StepSpec,
    WorkflowSpec,
    check_question,
    check_workflow,
)
from ciclo.history.models import snapshot

router = Router()


def _get(qs: QuerySet[Any], code: str, what: str) -> Any:
    found = qs.filter(code=code).first()
    if found is None:
        raise not_found(_("There is no %(what)s “%(code)s”.") % {"what": what, "code": code})
    return found


def _rekeyed(exc: ApiError, prefix: str) -> ApiError:
    """The same 422 with its fields under `prefix` (e.g. "steps.2.")."""
    return invalid({f"{prefix}{name}": messages for name, messages in exc.fields.items()})


# ---- responsibility centers -----------------------------------------------------------------


def _crs() -> QuerySet[ResponsibilityCenter]:
    return ResponsibilityCenter.objects.prefetch_related("members")


def _cr_out(cr: ResponsibilityCenter) -> dict[str, Any]:
    return {
        "id": cr.pk,
        "code": cr.code,
        "description": cr.description,
        "closes_process": cr.closes_process,
        "active": cr.active,
        "members": sorted(u.get_username() for u in cr.members.all()),
    }


@router.get("/crs", response=responses({200: list[CrOut]}, AUTH), summary="List responsibility centers")
def list_crs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_cr_out(cr) for cr in _crs()]


@router.get("/crs/{code}", response=responses({200: CrOut}, READ), summary="A responsibility center")
def get_cr(request: HttpRequest, code: str) -> dict[str, Any]:
    return _cr_out(_get(_crs(), code, _("responsibility center")))


def _members(values: list[str]) -> list[Any]:
    users = [find_user(value, f"members.{i}") for i, value in enumerate(values)]
    return list({u.pk: u for u in users}.values())


def _check_workflows_using(cr: ResponsibilityCenter) -> None:
    """Whether a CR closes the process is part of every workflow's shape: re-check those using it."""
    problems: list[str] = []
    for workflow in Workflow.objects.filter(steps__cr=cr).distinct():
        problems += [f"{workflow.code}: {message}" for message in validate_workflow(workflow)]
    if problems:
        raise invalid({"closes_process": problems})


@router.post("/crs", response=responses({201: CrOut}, CREATE), summary="Create a responsibility center")
def create_cr(request: HttpRequest, payload: CrIn) -> Status:
    user = require_admin(request)
    members = _members(payload.members)
    cr = ResponsibilityCenter(
        code=payload.code,
        description=payload.description,
        closes_process=payload.closes_process,
        active=payload.active,
    )
    clean_model(cr)
    with transaction.atomic():
        cr.save()
        cr.members.set(members)
        record_created(cr, user, {"members": sorted(u.get_username() for u in members)})
    return Status(201, _cr_out(cr))


@router.patch("/crs/{code}", response=responses({200: CrOut}, WRITE), summary="Change a responsibility center")
def update_cr(request: HttpRequest, code: str, payload: CrPatch) -> dict[str, Any]:
    user = require_admin(request)
    cr = _get(_crs(), code, _("responsibility center"))
    data = payload.dict(exclude_unset=True)
    members = _members(data.pop("members")) if data.get("members") is not None else None
    data.pop("members", None)
    before = snapshot(cr)
    members_before = sorted(u.get_username() for u in cr.members.all())
    set_fields(cr, data)
    clean_model(cr)
    with transaction.atomic():
        cr.save()
        if members is not None:
            cr.members.set(members)
        if before["closes_process"] != cr.closes_process:
            _check_workflows_using(cr)
        members_after = sorted(u.get_username() for u in cr.members.all())
        record_changed(cr, user, before, {"members": members_before}, {"members": members_after})
    return _cr_out(_get(_crs(), cr.code, _("responsibility center")))


@router.delete("/crs/{code}", response=responses({204: None}, DELETE), summary="Delete an unused responsibility center")
def delete_cr(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    cr = _get(ResponsibilityCenter.objects.all(), code, _("responsibility center"))
    with transaction.atomic():
        record_deleted(cr, user)
        cr.delete()
    return Status(204, None)


# ---- workflows ------------------------------------------------------------------------------


def _workflows() -> QuerySet[Workflow]:
    steps: QuerySet[WorkflowStep] = (
        WorkflowStep.objects.select_related("cr", "target_workflow").prefetch_related("options").order_by("order")
    )
    return Workflow.objects.all().prefetch_related(Prefetch("steps", queryset=steps))


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
    return _workflow_out(_get(_workflows(), code, _("workflow")))


def _spec_of(payload: WorkflowIn, crs: dict[str, ResponsibilityCenter]) -> WorkflowSpec:
    """The workflow as the request describes it, in the shape the validation rules read."""
    steps = []
    for s in payload.steps:
        cr = crs.get(s.cr) if s.kind == WorkflowStep.Kind.CR and s.cr else None
        steps.append(
            StepSpec(
                order=s.order,
                kind=s.kind,
                cr=s.cr if s.kind == WorkflowStep.Kind.CR else None,
                closes=bool(cr and cr.closes_process),
                next_order=s.next_order if s.kind == WorkflowStep.Kind.CR else None,
                question=s.question if s.kind == WorkflowStep.Kind.DECISION else "",
                options=tuple((o.label, o.target_order) for o in s.options)
                if s.kind == WorkflowStep.Kind.DECISION
                else (),
                target_workflow=s.target_workflow if s.kind == WorkflowStep.Kind.WORKFLOW else None,
                target_order=s.target_order if s.kind == WorkflowStep.Kind.WORKFLOW else None,
            )
        )
    return WorkflowSpec(code=payload.code, steps=steps)


def _check_workflow_payload(payload: WorkflowIn, current: Workflow | None) -> dict[str, ResponsibilityCenter]:
    """Refuse (422) a workflow that breaks a rule, or that would break a workflow jumping into it."""
    codes = {s.cr for s in payload.steps if s.kind == WorkflowStep.Kind.CR and s.cr}
    crs = {cr.code: cr for cr in ResponsibilityCenter.objects.filter(code__in=codes)}
    fields: dict[str, list[str]] = {}
    for i, s in enumerate(payload.steps):
        if s.kind == WorkflowStep.Kind.CR and s.cr and s.cr not in crs:
            fields[f"steps.{i}.cr"] = [_("There is no responsibility center “%(code)s”.") % {"code": s.cr}]
    if fields:
        raise invalid(fields)
    spec = _spec_of(payload, crs)
    names = {payload.code} | ({current.code} if current else set())

    def lookup(code: str) -> WorkflowSpec | None:
        return spec if code in names else db_lookup(code)

    problems = check_workflow(spec, lookup)
    if current is not None and not problems:
        for other in Workflow.objects.filter(steps__target_workflow=current).exclude(pk=current.pk).distinct():
            problems += [
                _("Workflow “%(workflow)s”, which jumps into this one: %(problem)s")
                % {"workflow": other.code, "problem": message}
                for message in check_workflow(workflow_spec(other), lookup)
            ]
    if problems:
        raise invalid({"steps": problems}, _("The workflow is not valid: nothing was saved."))
    return crs


def _check_types_using(types: QuerySet[ServiceType], field: str) -> None:
    """Re-check the service types bound to a changed workflow or cycle (the CRs must still match)."""
    problems: list[str] = []
    for service_type in types:
        try:
            service_type.full_clean()
        except ValidationError as exc:
            problems += [f"{service_type.code}: {m}" for m in exc.messages]
    if problems:
        raise invalid({field: problems}, _("Service types using it would no longer be valid: nothing was saved."))


def _save_steps(workflow: Workflow, payload: WorkflowIn, crs: dict[str, ResponsibilityCenter], user: Any) -> None:
    existing = {s.order: s for s in workflow.steps.prefetch_related("options")}
    targets = {w.code: w for w in Workflow.objects.filter(code__in={s.target_workflow for s in payload.steps} - {None})}
    targets[workflow.code] = workflow
    for i, s in enumerate(payload.steps):
        step = existing.pop(s.order, None)
        before = None if step is None else snapshot(step)
        if step is None:
            step = WorkflowStep(workflow=workflow, order=s.order)
        step.kind = s.kind
        step.cr = crs[s.cr] if s.kind == WorkflowStep.Kind.CR and s.cr else None
        step.next_order = s.next_order if s.kind == WorkflowStep.Kind.CR else None
        step.question = s.question.strip() if s.kind == WorkflowStep.Kind.DECISION else ""
        is_jump = s.kind == WorkflowStep.Kind.WORKFLOW
        step.target_workflow = targets[s.target_workflow] if is_jump and s.target_workflow else None
        step.target_order = s.target_order if is_jump else None
        step.active = s.active
        try:
            clean_model(step)
        except ApiError as exc:
            raise _rekeyed(exc, f"steps.{i}.") from None
        step.save()
        if before is None:
            record_created(step, user)
        else:
            record_changed(step, user, before)
        options = s.options if s.kind == WorkflowStep.Kind.DECISION else []
        _save_options(step, options, user, f"steps.{i}.options", DecisionOption, before is None)
    for step in existing.values():
        record_deleted(step, user)
        step.delete()


def _save_options(owner: Any, given: list[Any], user: Any, field: str, model: type, is_new: bool) -> None:
    """Keep the options as given: matched by id, else by label; the others are deleted (409 if used)."""
    current = [] if is_new else list(owner.options.all())
    by_id = {o.pk: o for o in current}
    taken: set[int] = set()
    for position, item in enumerate(given, start=1):
        option = None
        if item.id is not None:
            option = by_id.get(item.id)
            if option is None or option.pk in taken:
                raise invalid({f"{field}.{position - 1}.id": [_("This option is not one of this item's options.")]})
        else:
            label = item.label.strip().casefold()
            option = next((o for o in current if o.pk not in taken and o.label.strip().casefold() == label), None)
        before = None if option is None else snapshot(option)
        if option is None:
            option = model(**{"step" if model is DecisionOption else "question": owner})
        for name, value in item.dict(exclude={"id"}).items():
            setattr(option, name, value.strip() if isinstance(value, str) else value)
        option.position = position
        try:
            clean_model(option)
        except ApiError as exc:
            raise _rekeyed(exc, f"{field}.{position - 1}.") from None
        option.save()
        taken.add(option.pk)
        if before is None:
            record_created(option, user)
        else:
            record_changed(option, user, before)
    for option in current:
        if option.pk not in taken:
            record_deleted(option, user)
            option.delete()


def _write_workflow(workflow: Workflow | None, payload: WorkflowIn, user: Any) -> Workflow:
    crs = _check_workflow_payload(payload, workflow)
    before = None if workflow is None else snapshot(workflow)
    workflow = workflow or Workflow()
    workflow.code, workflow.description, workflow.active = payload.code, payload.description, payload.active
    clean_model(workflow)
    with transaction.atomic():
        workflow.save()
        if before is None:
            record_created(workflow, user)
        else:
            record_changed(workflow, user, before)
        _save_steps(workflow, payload, crs, user)
        _check_types_using(workflow.service_types.all(), "steps")
    return _get(_workflows(), workflow.code, _("workflow"))


@router.post("/workflows", response=responses({201: WorkflowOut}, CREATE), summary="Create a workflow with its steps")
def create_workflow(request: HttpRequest, payload: WorkflowIn) -> Status:
    user = require_admin(request)
    return Status(201, _workflow_out(_write_workflow(None, payload, user)))


@router.put(
    "/workflows/{code}", response=responses({200: WorkflowOut}, WRITE), summary="Replace a workflow and its steps"
)
def replace_workflow(request: HttpRequest, code: str, payload: WorkflowIn) -> dict[str, Any]:
    """Steps are matched by order: a step left out is deleted, unless tickets have used it (409)."""
    user = require_admin(request)
    workflow = _get(Workflow.objects.all(), code, _("workflow"))
    return _workflow_out(_write_workflow(workflow, payload, user))


def _patch_definition(obj: Any, payload: DefinitionPatch, user: Any) -> None:
    before = snapshot(obj)
    set_fields(obj, payload.dict(exclude_unset=True))
    clean_model(obj)
    with transaction.atomic():
        obj.save()
        record_changed(obj, user, before)


@router.patch(
    "/workflows/{code}", response=responses({200: WorkflowOut}, WRITE), summary="Rename or (de)activate a workflow"
)
def update_workflow(request: HttpRequest, code: str, payload: DefinitionPatch) -> dict[str, Any]:
    user = require_admin(request)
    workflow = _get(Workflow.objects.all(), code, _("workflow"))
    _patch_definition(workflow, payload, user)
    return _workflow_out(_get(_workflows(), workflow.code, _("workflow")))


@router.delete("/workflows/{code}", response=responses({204: None}, DELETE), summary="Delete an unused workflow")
def delete_workflow(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    workflow = _get(Workflow.objects.all(), code, _("workflow"))
    with transaction.atomic():
        record_deleted(workflow, user)
        workflow.delete()
    return Status(204, None)


# ---- service cycles -------------------------------------------------------------------------


def _cycles() -> QuerySet[ServiceCycle]:
    questions: QuerySet[Question] = (
        Question.objects.select_related("cr")
        .prefetch_related(Prefetch("options", queryset=Option.objects.order_by("position", "id")))
        .order_by("code_key")
    )
    return ServiceCycle.objects.all().prefetch_related(Prefetch("questions", queryset=questions))


def _plain(value: Any) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def question_out(q: Question) -> dict[str, Any]:
    return {
        "id": q.pk,
        "code": q.code,
        "cr": q.cr.code,
        "text": q.text,
        "help_text": q.help_text,
        "answer_type": q.answer_type,
        "required": q.required,
        "min_value": _plain(q.min_value),
        "max_value": _plain(q.max_value),
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
    return _cycle_out(_get(_cycles(), code, _("service cycle")))


def _question_spec(q: QuestionIn) -> QuestionSpec:
    """The question as the request describes it (its options replace the saved ones)."""
    options = tuple(OptionSpec(o.label, o.checked_by_default, o.active) for o in q.options)
    return QuestionSpec(q.answer_type, q.min_value, q.max_value, options)


def _write_cycle(cycle: ServiceCycle | None, payload: CycleIn, user: Any) -> ServiceCycle:
    fields: dict[str, list[str]] = {}
    crs = {cr.code: cr for cr in ResponsibilityCenter.objects.filter(code__in={q.cr for q in payload.questions})}
    seen: set[str] = set()
    for i, q in enumerate(payload.questions):
        if q.cr not in crs:
            fields[f"questions.{i}.cr"] = [_("There is no responsibility center “%(code)s”.") % {"code": q.cr}]
        if q.code in seen:
            fields[f"questions.{i}.code"] = [_("Two questions have the classification %(code)s.") % {"code": q.code}]
        seen.add(q.code)
        for problem in check_question(_question_spec(q)):
            fields.setdefault(f"questions.{i}.{problem.path}", []).append(problem.message)
    if fields:
        raise invalid(fields)
    before = None if cycle is None else snapshot(cycle)
    cycle = cycle or ServiceCycle()
    cycle.code, cycle.description, cycle.active = payload.code, payload.description, payload.active
    clean_model(cycle)
    with transaction.atomic():
        cycle.save()
        if before is None:
            record_created(cycle, user)
        else:
            record_changed(cycle, user, before)
        existing = {q.code: q for q in cycle.questions.prefetch_related("options")}
        for i, q_in in enumerate(payload.questions):
            question = existing.pop(q_in.code, None)
            q_before = None if question is None else snapshot(question)
            if question is None:
                question = Question(cycle=cycle, code=q_in.code)
            question.cr = crs[q_in.cr]
            for name in ("text", "help_text", "answer_type", "required", "min_value", "max_value", "active"):
                value = getattr(q_in, name)
                setattr(question, name, value.strip() if isinstance(value, str) else value)
            try:
                clean_model(question)
            except ApiError as exc:
                raise _rekeyed(exc, f"questions.{i}.") from None
            question.save()
            if q_before is None:
                record_created(question, user)
            else:
                record_changed(question, user, q_before)
            _save_options(question, q_in.options, user, f"questions.{i}.options", Option, q_before is None)
        for question in existing.values():
            record_deleted(question, user)
            question.delete()
        _check_types_using(cycle.service_types.all(), "questions")
    return _get(_cycles(), cycle.code, _("service cycle"))


@router.post(
    "/cycles", response=responses({201: CycleOut}, CREATE), summary="Create a service cycle with its questions"
)
def create_cycle(request: HttpRequest, payload: CycleIn) -> Status:
    user = require_admin(request)
    return Status(201, _cycle_out(_write_cycle(None, payload, user)))


@router.put("/cycles/{code}", response=responses({200: CycleOut}, WRITE), summary="Replace a service cycle's questions")
def replace_cycle(request: HttpRequest, code: str, payload: CycleIn) -> dict[str, Any]:
    """Questions are matched by classification: one left out is deleted, unless it has answers (409)."""
    user = require_admin(request)
    cycle = _get(ServiceCycle.objects.all(), code, _("service cycle"))
    return _cycle_out(_write_cycle(cycle, payload, user))


@router.patch(
    "/cycles/{code}", response=responses({200: CycleOut}, WRITE), summary="Rename or (de)activate a service cycle"
)
def update_cycle(request: HttpRequest, code: str, payload: DefinitionPatch) -> dict[str, Any]:
    user = require_admin(request)
    cycle = _get(ServiceCycle.objects.all(), code, _("service cycle"))
    _patch_definition(cycle, payload, user)
    return _cycle_out(_get(_cycles(), cycle.code, _("service cycle")))


@router.delete("/cycles/{code}", response=responses({204: None}, DELETE), summary="Delete an unused service cycle")
def delete_cycle(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    cycle = _get(ServiceCycle.objects.all(), code, _("service cycle"))
    with transaction.atomic():
        record_deleted(cycle, user)
        cycle.delete()
    return Status(204, None)


# ---- service types --------------------------------------------------------------------------


def _types() -> QuerySet[ServiceType]:
    return ServiceType.objects.select_related("parent", "workflow", "cycle")


def _type_out(t: ServiceType) -> dict[str, Any]:
    return {
        "id": t.pk,
        "code": t.code,
        "description": t.description,
        "kind": t.kind,
        "category": t.category,
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
    return [_type_out(t) for t in _types()]


@router.get("/service-types/{code}", response=responses({200: ServiceTypeOut}, READ), summary="A service type")
def get_type(request: HttpRequest, code: str) -> dict[str, Any]:
    return _type_out(_get(_types(), code, _("service type")))


def _apply_type(service_type: ServiceType, data: dict[str, Any]) -> None:
    fields: dict[str, list[str]] = {}
    if "workflow" in data:
        code = data.pop("workflow")
        service_type.workflow = None if code is None else Workflow.objects.filter(code=code).first()
        if code is not None and service_type.workflow is None:
            fields["workflow"] = [_("There is no workflow “%(code)s”.") % {"code": code}]
    if "cycle" in data:
        code = data.pop("cycle")
        service_type.cycle = None if code is None else ServiceCycle.objects.filter(code=code).first()
        if code is not None and service_type.cycle is None:
            fields["cycle"] = [_("There is no service cycle “%(code)s”.") % {"code": code}]
    if fields:
        raise invalid(fields)
    set_fields(service_type, data)
    clean_model(service_type)


@router.post("/service-types", response=responses({201: ServiceTypeOut}, CREATE), summary="Create a service type")
def create_type(request: HttpRequest, payload: ServiceTypeIn) -> Status:
    user = require_admin(request)
    service_type = ServiceType()
    _apply_type(service_type, payload.dict())
    with transaction.atomic():
        service_type.save()
        record_created(service_type, user)
    return Status(201, _type_out(_get(_types(), service_type.code, _("service type"))))


@router.patch(
    "/service-types/{code}", response=responses({200: ServiceTypeOut}, WRITE), summary="Change a service type"
)
def update_type(request: HttpRequest, code: str, payload: ServiceTypePatch) -> dict[str, Any]:
    user = require_admin(request)
    service_type = _get(ServiceType.objects.all(), code, _("service type"))
    before = snapshot(service_type)
    _apply_type(service_type, payload.dict(exclude_unset=True))
    with transaction.atomic():
        service_type.save()
        record_changed(service_type, user, before)
    return _type_out(_get(_types(), service_type.code, _("service type")))


@router.delete(
    "/service-types/{code}", response=responses({204: None}, DELETE), summary="Delete an unused service type"
)
def delete_type(request: HttpRequest, code: str) -> Status:
    user = require_admin(request)
    service_type = _get(ServiceType.objects.all(), code, _("service type"))
    with transaction.atomic():
        record_deleted(service_type, user)
        service_type.delete()
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


@router.get("/crm-options", response=responses({200: CrmOptionsOut}, AUTH), summary="The CRM options")
def get_options(request: HttpRequest) -> dict[str, Any]:
    return _options_out(CrmOptions.current())


@router.put("/crm-options", response=responses({200: CrmOptionsOut}, CREATE), summary="Change the CRM options")
def update_options(request: HttpRequest, payload: CrmOptionsIn) -> dict[str, Any]:
    """Omitted fields keep their value. Checked by the same form as the admin's (the collection
    types are locked once collections exist; the analytical type sits under the synthetic one)."""
    from ciclo.configurator.forms import CrmOptionsForm

    user = require_admin(request)
    options = CrmOptions.current()
    before = snapshot(options)
    names = list(CrmOptionsForm.Meta.fields)
    data: dict[str, Any] = model_to_dict(options, fields=names)
    fields: dict[str, list[str]] = {}
    for name, value in payload.dict(exclude_unset=True).items():
        if value is None and not nullable(CrmOptions, name):
            fields[name] = [_("This field cannot be empty.")]
        elif value is None:
            data[name] = None
        elif name in {"collection_synthetic_type", "collection_analytical_type"}:
            data[name] = ServiceType.objects.filter(code=value).values_list("id", flat=True).first()
            if data[name] is None:
                fields[name] = [_("There is no service type “%(code)s”.") % {"code": value}]
        elif name in {"collection_delegate_user", "automatic_note_user"}:
            try:
                data[name] = find_user(value, name).pk
            except ApiError as exc:
                fields.update(exc.fields)
        else:
            data[name] = value
    if fields:
        raise invalid(fields)
    form = CrmOptionsForm(data={k: "" if v is None else v for k, v in data.items()}, instance=options)
    if not form.is_valid():
        raise invalid({name: [str(m) for m in messages] for name, messages in form.errors.items()})
    with transaction.atomic():
        options = form.save()
        record_changed(options, user, before)
    return _options_out(CrmOptions.current())

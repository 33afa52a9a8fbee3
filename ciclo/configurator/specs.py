"""Saved definitions turned into the plain specs the validation rules read."""

from __future__ import annotations

from ciclo.configurator.models import Question, ServiceType, Workflow, WorkflowStep
from ciclo.configurator.validation import (
    StepSpec,
    TypeSpec,
    WorkflowSpec,
    check_service_type,
    check_workflow,
)


def step_spec(step: WorkflowStep) -> StepSpec:
    return StepSpec(
        order=step.order,
        kind=step.kind,
        cr=step.cr.code if step.cr is not None else None,
        closes=step.cr is not None and step.cr.closes_process,
        next_order=step.next_order,
        question=step.question,
        options=tuple((o.label, o.target_order) for o in step.options.all()),
        target_workflow=step.target_workflow.code if step.target_workflow is not None else None,
        target_order=step.target_order,
    )


def workflow_spec(workflow: Workflow) -> WorkflowSpec:
    steps = workflow.steps.select_related("cr", "target_workflow").prefetch_related("options")
    return WorkflowSpec(code=workflow.code, steps=[step_spec(s) for s in steps])


def db_lookup(code: str) -> WorkflowSpec | None:
    workflow = Workflow.objects.filter(code=code).first()
    return None if workflow is None else workflow_spec(workflow)


def validate_workflow(workflow: Workflow) -> list[str]:
    spec = workflow_spec(workflow)

    def lookup(code: str) -> WorkflowSpec | None:
        return spec if code == workflow.code else db_lookup(code)

    return check_workflow(spec, lookup)


def cycle_crs(cycle_id: int | None) -> frozenset[str]:
    if cycle_id is None:
        return frozenset()
    return frozenset(
        Question.objects.filter(cycle_id=cycle_id, active=True).values_list("cr__code", flat=True).distinct()
    )


def type_spec(service_type: ServiceType) -> TypeSpec:
    return TypeSpec(
        code=service_type.code,
        kind=service_type.kind,
        workflow=service_type.workflow.code if service_type.workflow is not None else None,
        cycle_crs=cycle_crs(service_type.cycle_id),
    )


def validate_service_type(service_type: ServiceType) -> list[str]:
    synthetic = ServiceType.objects.filter(kind=ServiceType.Kind.SYNTHETIC).exclude(pk=service_type.pk)
    return check_service_type(type_spec(service_type), synthetic.values_list("code", flat=True), db_lookup)


def parent_for(service_type: ServiceType) -> ServiceType | None:
    """The synthetic type with the longest classification that prefixes this one."""
    from ciclo.configurator.classification import is_under

    candidates = [
        t
        for t in ServiceType.objects.filter(kind=ServiceType.Kind.SYNTHETIC).exclude(pk=service_type.pk)
        if is_under(t.code, service_type.code)
    ]
    return max(candidates, key=lambda t: len(t.code.split(".")), default=None)

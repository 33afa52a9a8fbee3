"""Saved workflows turned into the plain specs the validation rules read."""

from __future__ import annotations

from ciclo.configurator.models import Workflow, WorkflowStep
from ciclo.configurator.validation import Problem, StepSpec, WorkflowSpec, check_workflow


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


def validate_workflow(workflow: Workflow) -> list[Problem]:
    """The problems of a saved workflow as it is (the admin shows them beside it)."""
    spec = workflow_spec(workflow)

    def lookup(code: str) -> WorkflowSpec | None:
        return spec if code == workflow.code else db_lookup(code)

    return check_workflow(spec, lookup)

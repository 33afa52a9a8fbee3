"""Rules a workflow, a service type and a cycle's questions must satisfy before tickets can run through them.

The checks work on plain specs, so the admin (unsaved inline forms), the
definitions import (a file) and the saved database rows share one rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _

from ciclo.configurator.classification import is_under
from ciclo.configurator.models import AnswerType


class Rule(StrEnum):
    """Which rule a problem breaks: the same code whichever interface (admin, API, import) found it."""

    # The shape of a value or of a file, and references between items.
    INVALID = "invalid"  # a value of the wrong type, length or form
    UNKNOWN_KEY = "unknown_key"
    REQUIRED = "required"
    DUPLICATE = "duplicate"  # another item has this key (code, order, label)
    NOT_FOUND = "not_found"  # a reference to an item that does not exist
    CONCURRENT = "concurrent"  # someone else changed the configuration meanwhile
    # A workflow.
    NO_STEPS = "no_steps"
    STEP_SHAPE = "step_shape"  # a step lacks what its kind needs
    ORDER_MISSING = "order_missing"  # a step names an order that does not exist
    UNREACHABLE = "unreachable"
    NO_CLOSING = "no_closing"  # no closing CR can be reached from a step
    LOOP = "loop"  # decisions and jumps that never pass a CR
    # A service type.
    NOT_UNDER_GROUP = "not_under_group"
    ORPHANED_TYPES = "orphaned_types"
    NO_WORKFLOW = "no_workflow"
    CYCLE_OFF_ROUTE = "cycle_off_route"  # the cycle asks in CRs the workflow never passes
    # A question and its options.
    LIMITS_TYPE = "limits_type"
    LIMITS_ORDER = "limits_order"
    OPTIONS_TYPE = "options_type"
    REPEATED_LABEL = "repeated_label"
    NO_ACTIVE_OPTION = "no_active_option"
    MANY_DEFAULTS = "many_defaults"
    # What history depends on.
    ANSWERED_TYPE = "answered_type"  # the answer type of a question that has answers
    USED_STEP_KIND = "used_step_kind"  # the kind of a step tickets stood at or passed
    USED_TYPE_KIND = "used_type_kind"  # the kind of a service type tickets use
    IN_USE = "in_use"  # deleting something in use: deactivate it instead
    # The CRM options.
    COLLECTION_LOCKED = "collection_locked"
    COLLECTION_UNDER = "collection_under"


# The rules a question's own form (its type and limits) breaks, and those of its options.
QuestionRule = Rule


@dataclass(frozen=True)
class Problem:
    """One broken rule: its code, where it is, and a message that names it for a person.

    `path` is dotted from the item being checked ("steps[2].cr", "options[1].label"; "" for
    the item as a whole); `order` is the step a workflow problem is about, for whoever
    places it (a file's path, an admin row). Nothing reads the message but people.
    """

    rule: Rule
    message: str
    path: str = ""
    order: int | None = None

    def __str__(self) -> str:
        return self.message

    def at(self, path: str) -> Problem:
        """The same problem under `path` (joined before its own)."""
        return Problem(self.rule, self.message, join(path, self.path) if self.path else path, self.order)


def join(path: str, key: str | int) -> str:
    """A path one level deeper: join("steps", 2) is "steps[2]", join("steps[2]", "cr") is "steps[2].cr"."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not key:
        return path
    return f"{path}.{key}" if path else key


@dataclass(frozen=True)
class StepSpec:
    order: int
    kind: str  # "cr" | "decision" | "workflow"
    cr: str | None = None  # CR classification
    closes: bool = False
    next_order: int | None = None
    question: str = ""
    options: tuple[tuple[str, int], ...] = ()
    target_workflow: str | None = None
    target_order: int | None = None


@dataclass
class WorkflowSpec:
    code: str
    steps: list[StepSpec] = field(default_factory=list)


# Finds another workflow's steps by its code (None: no such workflow).
Lookup = Callable[[str], WorkflowSpec | None]


def _edges(wf: str, step: StepSpec) -> list[tuple[str, int]]:
    if step.kind == "cr":
        return [] if step.next_order is None else [(wf, step.next_order)]
    if step.kind == "decision":
        return [(wf, target) for _label, target in step.options]
    if step.target_workflow is not None and step.target_order is not None:
        return [(step.target_workflow, step.target_order)]
    return []


def check_workflow(spec: WorkflowSpec, lookup: Lookup) -> list[Problem]:
    """Every problem of the workflow, each naming its step (`order`); empty when valid."""
    errors: list[Problem] = []

    def problem(rule: Rule, message: str, order: int | None) -> None:
        errors.append(Problem(rule, message, order=order))

    by_order: dict[int, StepSpec] = {}
    for step in spec.steps:
        if step.order in by_order:
            problem(
                Rule.DUPLICATE, _("Order %(order)s is used by more than one step.") % {"order": step.order}, step.order
            )
        by_order[step.order] = step
    if not spec.steps:
        return [Problem(Rule.NO_STEPS, _("The workflow has no steps."))]

    workflows: dict[str, dict[int, StepSpec] | None] = {spec.code: by_order}

    def steps_of(code: str) -> dict[int, StepSpec] | None:
        if code not in workflows:
            other = lookup(code)
            workflows[code] = None if other is None else {s.order: s for s in other.steps}
        return workflows[code]

    # Shape of each step, and every order it names exists.
    for step in sorted(spec.steps, key=lambda s: s.order):
        name = {"order": step.order}
        if step.kind == "cr":
            if not step.cr:
                problem(
                    Rule.STEP_SHAPE, _("Step %(order)s: a CR step needs a responsibility center.") % name, step.order
                )
            if step.next_order is None and not step.closes:
                problem(
                    Rule.STEP_SHAPE,
                    _("Step %(order)s: the next order is empty, but its CR does not close the process.") % name,
                    step.order,
                )
            if step.next_order is not None and step.next_order not in by_order:
                problem(
                    Rule.ORDER_MISSING,
                    _("Step %(order)s: the next order %(target)s does not exist.")
                    % {**name, "target": step.next_order},
                    step.order,
                )
        elif step.kind == "decision":
            if not step.question.strip():
                problem(Rule.STEP_SHAPE, _("Step %(order)s: a decision needs a question.") % name, step.order)
            if len(step.options) < 2:
                problem(Rule.STEP_SHAPE, _("Step %(order)s: a decision needs at least two options.") % name, step.order)
            labels = [label.strip().casefold() for label, _t in step.options]
            if len(set(labels)) != len(labels):
                problem(Rule.REPEATED_LABEL, _("Step %(order)s: two options have the same text.") % name, step.order)
            for label, target in step.options:
                if target not in by_order:
                    problem(
                        Rule.ORDER_MISSING,
                        _("Step %(order)s: option “%(label)s” goes to order %(target)s, which does not exist.")
                        % {**name, "label": label, "target": target},
                        step.order,
                    )
        elif step.kind == "workflow":
            if not step.target_workflow or step.target_order is None:
                problem(
                    Rule.STEP_SHAPE, _("Step %(order)s: a jump needs a target workflow and order.") % name, step.order
                )
            else:
                target_steps = steps_of(step.target_workflow)
                if target_steps is None:
                    problem(
                        Rule.NOT_FOUND,
                        _("Step %(order)s: workflow “%(workflow)s” does not exist.")
                        % {**name, "workflow": step.target_workflow},
                        step.order,
                    )
                elif step.target_order not in target_steps:
                    problem(
                        Rule.ORDER_MISSING,
                        _("Step %(order)s: workflow “%(workflow)s” has no order %(target)s.")
                        % {**name, "workflow": step.target_workflow, "target": step.target_order},
                        step.order,
                    )
        else:
            problem(
                Rule.INVALID, _("Step %(order)s: unknown kind “%(kind)s”.") % {**name, "kind": step.kind}, step.order
            )
    if errors:
        return errors

    def node(wf: str, order: int) -> StepSpec | None:
        steps = steps_of(wf)
        return None if steps is None else steps.get(order)

    # Every step reachable from the start (within this workflow).
    start = min(by_order)
    seen: set[int] = set()
    stack = [start]
    while stack:
        order = stack.pop()
        if order in seen:
            continue
        seen.add(order)
        for wf, target in _edges(spec.code, by_order[order]):
            if wf == spec.code and target in by_order:
                stack.append(target)
    for order in sorted(set(by_order) - seen):
        problem(
            Rule.UNREACHABLE,
            _("Step %(order)s cannot be reached from the start (order %(start)s).") % {"order": order, "start": start},
            order,
        )

    # A closing CR reachable from every step, following jumps into other workflows.
    closes_cache: dict[tuple[str, int], bool] = {}

    def reaches_close(origin: tuple[str, int]) -> bool:
        if origin in closes_cache:
            return closes_cache[origin]
        visited: set[tuple[str, int]] = set()
        stack2 = [origin]
        found = False
        while stack2 and not found:
            key = stack2.pop()
            if key in visited:
                continue
            visited.add(key)
            step = node(*key)
            if step is None:
                continue
            if step.kind == "cr" and step.closes:
                found = True
                break
            stack2.extend(_edges(key[0], step))
        closes_cache[origin] = found
        return found

    for order in sorted(by_order):
        if not reaches_close((spec.code, order)):
            problem(
                Rule.NO_CLOSING, _("Step %(order)s: no closing CR can be reached from it.") % {"order": order}, order
            )

    # No loop made only of decisions and jumps (it would route forever without a phase).
    state: dict[tuple[str, int], int] = {}

    def loops(key: tuple[str, int]) -> bool:
        state[key] = 1
        step = node(*key)
        if step is not None and step.kind != "cr":
            for nxt in _edges(key[0], step):
                nxt_step = node(*nxt)
                if nxt_step is None or nxt_step.kind == "cr":
                    continue
                if state.get(nxt) == 1 or (nxt not in state and loops(nxt)):
                    return True
        state[key] = 2
        return False

    for order in sorted(by_order):
        key = (spec.code, order)
        if by_order[order].kind != "cr" and key not in state and loops(key):
            problem(
                Rule.LOOP,
                _("Step %(order)s is part of a loop of decisions and jumps that never passes a CR.") % {"order": order},
                order,
            )
    return errors


def crs_of_workflow(spec: WorkflowSpec, lookup: Lookup) -> set[str]:
    """The CRs a ticket of this workflow can pass, jumps included."""
    crs: set[str] = set()
    seen: set[str] = set()
    pending = [spec]
    while pending:
        wf = pending.pop()
        if wf.code in seen:
            continue
        seen.add(wf.code)
        for step in wf.steps:
            if step.kind == "cr" and step.cr:
                crs.add(step.cr)
            if step.kind == "workflow" and step.target_workflow and step.target_workflow not in seen:
                other = lookup(step.target_workflow)
                if other is not None:
                    pending.append(other)
    return crs


@dataclass(frozen=True)
class TypeSpec:
    code: str
    kind: str  # "synthetic" | "analytical"
    workflow: str | None
    cycle_crs: frozenset[str]  # CRs the cycle asks questions in


def check_service_type(spec: TypeSpec, synthetic_codes: Iterable[str], lookup: Lookup) -> list[Problem]:
    """Every problem of a service type, each on its field ("code", "workflow", "cycle"); empty when valid."""
    errors: list[Problem] = []
    if spec.kind == "analytical":
        if not any(is_under(parent, spec.code) for parent in synthetic_codes):
            errors.append(
                Problem(
                    Rule.NOT_UNDER_GROUP,
                    _("An analytical type must sit under a synthetic type whose classification prefixes “%(code)s”.")
                    % {"code": spec.code},
                    "code",
                )
            )
        if not spec.workflow:
            errors.append(Problem(Rule.NO_WORKFLOW, _("An analytical type needs a workflow."), "workflow"))
    if spec.workflow:
        workflow = lookup(spec.workflow)
        if workflow is None:
            errors.append(
                Problem(
                    Rule.NOT_FOUND,
                    _("Workflow “%(workflow)s” does not exist.") % {"workflow": spec.workflow},
                    "workflow",
                )
            )
        else:
            missing = sorted(spec.cycle_crs - crs_of_workflow(workflow, lookup))
            if missing:
                errors.append(
                    Problem(
                        Rule.CYCLE_OFF_ROUTE,
                        _("The cycle asks questions in CRs that the workflow never passes: %(crs)s.")
                        % {"crs": ", ".join(missing)},
                        "cycle",
                    )
                )
    elif spec.cycle_crs and spec.kind == "analytical":
        errors.append(Problem(Rule.NO_WORKFLOW, _("A type with a cycle needs a workflow."), "workflow"))
    return errors


# A cycle's questions and their options

NUMERIC_TYPES = frozenset({AnswerType.NUMBER.value, AnswerType.MONEY.value})


@dataclass(frozen=True)
class OptionSpec:
    label: str
    checked_by_default: bool = False
    active: bool = True


@dataclass(frozen=True)
class QuestionSpec:
    answer_type: str
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    options: tuple[OptionSpec, ...] = ()  # every option the question will have, saved or posted


def check_question(spec: QuestionSpec) -> list[Problem]:
    """Every problem of a question and its options; empty when valid.

    Limits apply only to numbers and money, the minimum not above the maximum; options only
    to the two choice types, which need an active one; labels are unique (case and spaces
    aside), and a single-choice question checks at most one option by default.
    """
    problems: list[Problem] = []
    low, high = spec.min_value, spec.max_value
    if spec.answer_type not in NUMERIC_TYPES and (low is not None or high is not None):
        problems.append(
            Problem(
                Rule.LIMITS_TYPE,
                _("A minimum and a maximum apply only to numbers and money: remove them."),
                "min_value" if low is not None else "max_value",
            )
        )
    elif low is not None and high is not None and low > high:
        problems.append(Problem(Rule.LIMITS_ORDER, _("The maximum must not be lower than the minimum."), "max_value"))

    if spec.answer_type not in AnswerType.choice_types():
        if spec.options:
            problems.append(
                Problem(
                    Rule.OPTIONS_TYPE,
                    _(
                        "Only the multiple-choice answer types have options: remove them or choose a "
                        "multiple-choice type."
                    ),
                    "options",
                )
            )
        return problems

    seen: set[str] = set()
    for index, option in enumerate(spec.options):
        label = option.label.strip().casefold()
        if label in seen:
            problems.append(
                Problem(
                    Rule.REPEATED_LABEL,
                    _("Another option of this question reads “%(value)s”.") % {"value": label},
                    f"options[{index}].label",
                )
            )
        seen.add(label)
    active = [option for option in spec.options if option.active]
    if not active:
        problems.append(
            Problem(Rule.NO_ACTIVE_OPTION, _("A multiple-choice question needs at least one active option."), "options")
        )
    elif spec.answer_type == AnswerType.SINGLE_CHOICE and sum(o.checked_by_default for o in active) > 1:
        problems.append(
            Problem(
                Rule.MANY_DEFAULTS, _("A one-option question can have only one option checked by default."), "options"
            )
        )
    return problems

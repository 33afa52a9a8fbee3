"""Every change of the configuration, in one place: CRs, workflows, cycles, service types, CRM options.

The admin's forms, the API's endpoints, the definitions import and the demo all call
these functions, so each rule has one home and every interface refuses the same
things with the same rule code (`validation.Rule`):

    save_cr(item, by, saved=None)            a CR (and its members, when the item lists them)
    save_workflow(item, by, saved=None)      a workflow with its steps and decision options
    save_cycle(item, by, saved=None)         a cycle with its questions and their options
    save_service_type(item, by, saved=None)  a service type
    import_bundle(bundle, by)                any number of them at once (a definitions file)
    save_crm_options(values, by)             the CRM options
    set_active(obj, active, by)              deactivate (or activate) anything
    delete(obj, by)                          delete what nothing uses

Each one checks its rules on the configuration the change would leave — the item
over the saved rows, and every saved workflow and type that depends on it — then
writes inside one transaction, leaving one history row per row it creates, changes
or deletes, or raises ConfigurationInvalid, whose `problems` say what is wrong
(rule, path, message) and nothing is written. `plan_*` do the same checks and write
nothing: the admin's forms call them from clean(), and a dry-run import shows them.

A single item is saved whole: a workflow's steps, a cycle's questions, an item's
options are the item's list, and a saved one the list leaves out is deleted (refused
when it is in use: deactivate it instead). A file imports items partly: a saved step,
question or option it leaves out is kept. `saved` is the row the item changes
(None: a new one, refused when the code is taken); its code may change with it.

How an item finds the saved row it describes
    CR, workflow, cycle, service type by code (or the row given as `saved`) · step by
    order (an admin row by its id, so it can change its order) · question by
    classification (an admin row by its id) · option by id when given, then by label
    compared without case, then the remaining ones by position — so renaming an option
    keeps it, and the tickets' decisions and answers that point to it.

What a change never does
    Change what history depends on: the answer type of a question that has answers,
    the kind of a step that tickets have stood at or passed, the kind of a service type
    that tickets use. Delete anything in use. Leave a saved workflow or type broken:
    a problem the change would cause in one it does not touch is reported too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ciclo.configurator.classification import is_under, sort_key
from ciclo.configurator.items import (
    AdministrativeStatusItem,
    Bundle,
    CrItem,
    CycleItem,
    DecisionOptionItem,
    Item,
    OptionItem,
    QuestionItem,
    ServiceTypeItem,
    StepItem,
    WorkflowItem,
    plain,
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
from ciclo.configurator.validation import (
    OptionSpec,
    Problem,
    QuestionSpec,
    Rule,
    StepSpec,
    TypeSpec,
    WorkflowSpec,
    check_question,
    check_service_type,
    check_workflow,
    join,
)
from ciclo.history.models import Change, protected_uses, record_change, record_deletion, snapshot
from ciclo.history.models import set_active as _set_active

Kind = WorkflowStep.Kind
M = TypeVar("M", bound=models.Model)


# ---- results -----------------------------------------------------------------------------------


class Status(models.TextChoices):
    """What a change does to an item."""

    CREATED = "created", gettext_lazy("created")
    CHANGED = "changed", gettext_lazy("changed")
    UNCHANGED = "unchanged", gettext_lazy("unchanged")
    DELETED = "deleted", gettext_lazy("deleted")
    KEPT = "kept", gettext_lazy("not in file, kept")


@dataclasses.dataclass
class PlanItem:
    kind: str  # responsibility_center, workflow, step, decision_option, cycle, question, option, service_type
    name: str  # the whole name: "workflow vendas / step 10 / option “Sim”"
    label: str  # the name within its parent: "option “Sim”"
    depth: int  # 0 for a top-level item, 1 for a step or question, 2 for an option
    path: str  # where it is in the file; "" when it is not in the file
    status: str
    changes: dict[str, list[Any]] = dataclasses.field(default_factory=dict)  # field: [saved, file]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "path": self.path, "status": self.status, "changes": self.changes}


@dataclasses.dataclass
class Plan:
    """What a change would do: each item's fate, or every problem that stops it."""

    items: list[PlanItem]
    errors: list[Problem]
    applied: bool = False
    rows: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)  # "workflow:vendas" → the saved row

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(Status.values, 0)
        for item in self.items:
            counts[item.status] += 1
        return counts

    def error_fields(self) -> dict[str, list[str]]:
        """The errors by path ("__all__" for those outside the item)."""
        fields: dict[str, list[str]] = {}
        for problem in self.errors:
            fields.setdefault(problem.path or "__all__", []).append(problem.message)
        return fields

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.is_valid,
            "applied": self.applied,
            "counts": self.counts(),
            "items": [item.as_dict() for item in self.items],
            "errors": [{"rule": p.rule.value, "path": p.path, "message": p.message} for p in self.errors],
        }


class ConfigurationInvalid(Exception):
    """The change was refused: nothing was written. `problems` (and `plan.errors`) say why."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in plan.errors[:5]))
        self.plan = plan

    @property
    def problems(self) -> list[Problem]:
        return self.plan.errors

    @property
    def rules(self) -> set[Rule]:
        return {p.rule for p in self.plan.errors}


def _refused(rule: Rule, message: str, path: str = "") -> ConfigurationInvalid:
    return ConfigurationInvalid(Plan(items=[], errors=[Problem(rule, message, path)]))


# ---- the saved configuration as items ------------------------------------------------------------


def _code(obj: Any) -> str | None:
    """The code of a related definition, or None (the relation is empty)."""
    return None if obj is None else str(obj.code)


def cr_item(row: ResponsibilityCenter, *, members: bool = False) -> CrItem:
    return CrItem.model_construct(
        code=row.code,
        description=row.description,
        closes_process=row.closes_process,
        active=row.active,
        default_success=row.default_success,
        stale_after_days=row.stale_after_days,
        members=sorted(u.get_username() for u in row.members.all()) if members else None,
    )


def step_item(row: WorkflowStep) -> StepItem:
    kind = row.kind
    item = StepItem.model_construct(
        order=row.order,
        kind=kind,
        active=row.active,
        cr=_code(row.cr) if kind == Kind.CR else None,
        next_order=row.next_order if kind == Kind.CR else None,
        question=row.question if kind == Kind.DECISION else "",
        options=[
            DecisionOptionItem.model_construct(id=o.pk, label=o.label, target_order=o.target_order)
            for o in row.options.all()
        ]
        if kind == Kind.DECISION
        else [],
        target_workflow=_code(row.target_workflow) if kind == Kind.WORKFLOW else None,
        target_order=row.target_order if kind == Kind.WORKFLOW else None,
    )
    item._row = row.pk
    return item


def workflow_item(row: Workflow, steps: Iterable[WorkflowStep] | None = None) -> WorkflowItem:
    if steps is None:
        steps = row.steps.select_related("cr", "target_workflow").prefetch_related("options").order_by("order")
    return WorkflowItem.model_construct(
        code=row.code, description=row.description, active=row.active, steps=[step_item(s) for s in steps]
    )


def question_item(row: Question) -> QuestionItem:
    item = QuestionItem.model_construct(
        code=row.code,
        cr=row.cr.code,
        text=row.text,
        help_text=row.help_text,
        answer_type=row.answer_type,
        required=row.required,
        min_value=row.min_value,
        max_value=row.max_value,
        active=row.active,
        options=[
            OptionItem.model_construct(
                id=o.pk,
                label=o.label,
                checked_by_default=o.checked_by_default,
                asks_complement=o.asks_complement,
                active=o.active,
            )
            for o in row.options.all()
        ]
        if row.is_choice
        else [],
    )
    item._row = row.pk
    return item


def cycle_item(row: ServiceCycle, questions: Iterable[Question] | None = None) -> CycleItem:
    if questions is None:
        questions = row.questions.select_related("cr").prefetch_related("options").order_by("code_key")
    return CycleItem.model_construct(
        code=row.code, description=row.description, active=row.active, questions=[question_item(q) for q in questions]
    )


def type_item(row: ServiceType) -> ServiceTypeItem:
    return ServiceTypeItem.model_construct(
        code=row.code,
        description=row.description,
        kind=row.kind,
        category=row.category,
        sales=row.sales,
        priority=row.priority,
        days_to_next_contact=row.days_to_next_contact,
        colour=row.colour,
        active_from=row.active_from,
        workflow=_code(row.workflow),
        cycle=_code(row.cycle),
        active=row.active,
    )


def _by_code(item: Any) -> str:
    return str(item.code)


def _by_classification(item: Any) -> tuple[str, str]:
    return sort_key(item.code), item.code


class Saved:
    """The saved configuration, read in a fixed number of queries, keyed by code.

    Every row refers to the others through the same instances (a step's CR is the CR in
    `crs`), so a code changed in memory is seen everywhere a rule reads it.
    """

    def __init__(self, *, lock: bool = False) -> None:
        def rows(qs: models.QuerySet[Any]) -> list[Any]:
            # A change rewrites the configuration as a whole: hold its rows until it commits.
            return list(qs.select_for_update(of=("self",)) if lock else qs)

        # Sorted here, not by the database: the export's order must not depend on its collation.
        crs = sorted(rows(ResponsibilityCenter.objects.all()), key=_by_classification)
        workflows = sorted(rows(Workflow.objects.all()), key=_by_code)
        cycles = sorted(rows(ServiceCycle.objects.all()), key=_by_code)
        types = sorted(rows(ServiceType.objects.all()), key=_by_classification)
        cr_ids = {c.pk: c for c in crs}
        workflow_ids = {w.pk: w for w in workflows}
        cycle_ids = {c.pk: c for c in cycles}
        type_ids = {t.pk: t for t in types}
        self.crs: dict[str, ResponsibilityCenter] = {c.code: c for c in crs}
        self.workflows: dict[str, Workflow] = {w.code: w for w in workflows}
        self.cycles: dict[str, ServiceCycle] = {c.code: c for c in cycles}
        self.types: dict[str, ServiceType] = {t.code: t for t in types}
        self.steps: dict[str, dict[int, WorkflowStep]] = {code: {} for code in self.workflows}
        steps = WorkflowStep.objects.prefetch_related("options")
        for step in sorted(rows(steps), key=lambda s: s.order):
            step.workflow = workflow_ids[step.workflow_id]
            step.cr = cr_ids.get(step.cr_id) if step.cr_id else None
            step.target_workflow = workflow_ids.get(step.target_workflow_id) if step.target_workflow_id else None
            self.steps[step.workflow.code][step.order] = step
        self.questions: dict[str, dict[str, Question]] = {code: {} for code in self.cycles}
        for question in sorted(rows(Question.objects.prefetch_related("options")), key=_by_classification):
            question.cycle = cycle_ids[question.cycle_id]
            question.cr = cr_ids[question.cr_id]
            self.questions[question.cycle.code][question.code] = question
        for service_type in types:
            service_type.workflow = workflow_ids.get(service_type.workflow_id) if service_type.workflow_id else None
            service_type.cycle = cycle_ids.get(service_type.cycle_id) if service_type.cycle_id else None
            service_type.parent = type_ids.get(service_type.parent_id) if service_type.parent_id else None

    def members(self, code: str) -> list[str]:
        return sorted(self.crs[code].members.values_list("username", flat=True))

    def section(self, kind: str) -> dict[str, Any]:
        sections: dict[str, dict[str, Any]] = {
            "cr": self.crs,
            "workflow": self.workflows,
            "cycle": self.cycles,
            "type": self.types,
        }
        return sections[kind]

    def rename(self, kind: str, row: Any, code: str) -> None:
        """Key `row` by a new code (in memory: the change saves it)."""
        section = self.section(kind)
        row._ciclo_before = snapshot(row)  # what the history row says it was
        del section[row.code]
        if kind == "workflow":
            self.steps[code] = self.steps.pop(row.code)
        elif kind == "cycle":
            self.questions[code] = self.questions.pop(row.code)
        row.code = code
        section[code] = row

    def bundle(self) -> Bundle:
        return Bundle.model_construct(
            responsibility_centers=[cr_item(c) for c in self.crs.values()],
            workflows=[workflow_item(w, self.steps[w.code].values()) for w in self.workflows.values()],
            cycles=[cycle_item(c, self.questions[c.code].values()) for c in self.cycles.values()],
            service_types=[type_item(t) for t in self.types.values()],
        )


# ---- matching ------------------------------------------------------------------------------------


R = TypeVar("R")


def match_options(saved: Sequence[R], wanted: Sequence[tuple[int | None, str]]) -> tuple[list[R | None], list[R]]:
    """Which saved option each wanted (id, label) is, and the saved ones left over.

    By id when one is given, then by label compared without case, then the remaining
    ones by position: reordering, or renaming an option in its place, keeps its row
    (and the tickets' decisions and answers that point to it).
    """
    unmatched = list(saved)
    slots: list[R | None] = [None] * len(wanted)
    for index, (pk, _label) in enumerate(wanted):
        if pk is not None:
            found = next((o for o in unmatched if o.pk == pk), None)  # type: ignore[attr-defined]
            if found is not None:
                slots[index] = found
                unmatched.remove(found)
    for index, (pk, label) in enumerate(wanted):
        if slots[index] is None and pk is None:
            key = label.strip().casefold()
            found = next((o for o in unmatched if o.label.strip().casefold() == key), None)  # type: ignore[attr-defined]
            if found is not None:
                slots[index] = found
                unmatched.remove(found)
    for index in range(len(wanted)):
        if slots[index] is None and unmatched:
            slots[index] = unmatched.pop(0)
    return slots, unmatched


def _positions(saved: list[Any], matched: list[Any | None]) -> list[int]:
    """The position each wanted option gets: its place in the list.

    Saved positions are left as they are (even all 0, as the admin may leave them) while
    the list keeps the saved options in their saved order and adds none; otherwise the
    list's order is written: 1, 2, 3…
    """
    rank = {row.pk: index for index, row in enumerate(saved, start=1)}
    rewrite = any(row is None or rank.get(row.pk) != index for index, row in enumerate(matched, start=1))
    return [index if rewrite or row is None else row.position for index, row in enumerate(matched, start=1)]


def _pair(items: Sequence[Item], saved: Mapping[Any, R], key: Callable[[Any], Any]) -> tuple[list[R | None], list[R]]:
    """Which saved child each item is — an admin row by its id (`_row`), whatever its key now; the
    others by key (a step's order, a question's classification) — and the saved ones left over."""
    by_pk = {row.pk: row for row in saved.values()}  # type: ignore[attr-defined]
    rows: list[R | None] = [by_pk.get(item._row) if item._row is not None else None for item in items]
    taken = {row.pk for row in rows if row is not None}  # type: ignore[attr-defined]
    for index, item in enumerate(items):
        found = saved.get(key(item)) if rows[index] is None else None
        if found is not None and found.pk not in taken:  # type: ignore[attr-defined]
            rows[index] = found
            taken.add(found.pk)  # type: ignore[attr-defined]
    return rows, [row for row in saved.values() if row.pk not in taken]  # type: ignore[attr-defined]


def _diff(saved: dict[str, Any], wanted: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [plain(saved.get(k)), plain(v)] for k, v in wanted.items() if saved.get(k) != v}


def _step_values(row: WorkflowStep) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "active": row.active,
        "cr": _code(row.cr),
        "next_order": row.next_order,
        "question": row.question,
        "target_workflow": _code(row.target_workflow),
        "target_order": row.target_order,
    }


def _step_used(row: WorkflowStep) -> bool:
    """Tickets stand at the step, or moved through it: its history depends on it."""
    from ciclo.tickets.models import MoveDecision, PhaseMove, Ticket

    return (
        Ticket.objects.filter(step=row).exists()
        or PhaseMove.objects.filter(models.Q(from_step=row) | models.Q(to_step=row)).exists()
        or MoveDecision.objects.filter(step=row).exists()
    )


def _decision_option_used(row: DecisionOption) -> bool:
    from ciclo.tickets.models import MoveDecision

    return MoveDecision.objects.filter(option=row).exists()


def _cr_name(code: str, description: str) -> str:
    return _("CR %(code)s “%(description)s”") % {"code": code, "description": description}


def _type_name(code: str, description: str) -> str:
    return _("service type %(code)s “%(description)s”") % {"code": code, "description": description}


_ITEM_MODELS: dict[type[Item], type[models.Model]] = {
    CrItem: ResponsibilityCenter,
    WorkflowItem: Workflow,
    StepItem: WorkflowStep,
    DecisionOptionItem: DecisionOption,
    CycleItem: ServiceCycle,
    QuestionItem: Question,
    OptionItem: Option,
    ServiceTypeItem: ServiceType,
}


# ---- planning: match, compare, check the result whole ---------------------------------------------


@dataclasses.dataclass
class _Op:
    """One row to create, change or delete when the plan is applied."""

    item: PlanItem
    model: type[models.Model]
    obj: Any  # the saved row; None until created
    values: dict[str, Any]  # the item's values; references by code, the owner by its _Op
    owner: _Op | None = None
    members: list[str] | None = None
    delete: bool = False


class Planner:
    """What a bundle of items would do to the saved configuration, and every problem that stops it.

    `whole`: each item lists all its steps, questions and options (a saved one it leaves
    out is deleted); otherwise they are kept (a file). Items may carry the saved row they
    change (`item._row`, a primary key) or be new (`item._new`).
    """

    def __init__(
        self, bundle: Bundle | None, errors: list[Problem] | None = None, *, lock: bool = False, whole: bool = False
    ) -> None:
        self.bundle = bundle
        self.saved = Saved(lock=lock)
        self.whole = whole
        self.errors: list[Problem] = list(errors or [])
        self.items: list[PlanItem] = []
        self.ops: dict[type[models.Model], list[_Op]] = {}
        self.kept_decision_options: dict[int, list[tuple[str, int]]] = {}  # id(step item) → kept (label, target)
        self.kept_options: dict[int, list[Option]] = {}  # id(question item) → kept options
        self.synthetic_after: set[str] = set()
        self.renamed: list[tuple[str, str, str]] = []  # (kind, old code, new code)

    def plan(self) -> Plan:
        if self.bundle is not None:
            for _kind, items in self._sections():
                for item in items:
                    self._check_values(item)
            self._rename()
            self._check_keys()
            self._check_references()
            self._match()
            self._check_rules()
        return Plan(items=self.items, errors=self.errors)

    def error(self, rule: Rule, path: str, message: str) -> None:
        self.errors.append(Problem(rule, message, path))

    def _check_values(self, item: Item) -> bool:
        """Each value against its column's own validators (a classification's form, a colour): an item
        the API or code made was read by no form or file. True when it, or one inside it, is broken."""
        model = next(m for cls in type(item).__mro__ if (m := _ITEM_MODELS.get(cls)) is not None)
        columns = {f.name: f for f in model._meta.concrete_fields if not f.is_relation}
        if not item.broken:
            for name in type(item).model_fields:
                value = getattr(item, name, None)
                if name not in columns or value is None:
                    continue
                try:
                    columns[name].run_validators(value)
                except ValidationError as exc:
                    self.error(Rule.INVALID, join(item.path, name), " ".join(exc.messages))
                    item.broken = True
        for child in (*getattr(item, "steps", ()), *getattr(item, "questions", ()), *getattr(item, "options", ())):
            if self._check_values(child):
                item.broken = True
        return item.broken

    def _unknown_ids(self, options: Sequence[DecisionOptionItem | OptionItem], existing: Sequence[Any]) -> None:
        """An option that names a saved option by id must name one of this item's own."""
        own = {o.pk for o in existing}
        for option in options:
            if option.id is not None and option.id not in own:
                self.error(
                    Rule.NOT_FOUND,
                    join(option.path, "id"),
                    _("Option %(id)s is not one of this item's options.") % {"id": option.id},
                )

    def _add(self, item: PlanItem, op: _Op | None = None) -> None:
        self.items.append(item)
        if op is not None:
            self.ops.setdefault(op.model, []).append(op)

    def _kept(self, kind: str, name: str, label: str, depth: int) -> None:
        self.items.append(PlanItem(kind, name, label, depth, "", Status.KEPT))

    @staticmethod
    def _status(row: Any, changes: dict[str, Any]) -> str:
        if row is None:
            return Status.CREATED
        return Status.CHANGED if changes else Status.UNCHANGED

    def _sections(self) -> Iterable[tuple[str, list[Any]]]:
        assert self.bundle is not None
        yield "cr", self.bundle.responsibility_centers
        yield "workflow", self.bundle.workflows
        yield "cycle", self.bundle.cycles
        yield "type", self.bundle.service_types

    # -- which saved row each item is -------------------------------------------------------------

    def _rename(self) -> None:
        """Items that name the saved row they change take its place under their code; new ones must be new."""
        taken = _("Another %(what)s has the code “%(code)s”.")
        what = {
            "cr": _("CR"),
            "workflow": _("workflow"),
            "cycle": _("cycle"),
            "type": _("service type"),
        }
        for kind, items in self._sections():
            section = self.saved.section(kind)
            by_pk = {row.pk: row for row in section.values()}
            for item in items:
                row_pk = getattr(item, "_row", None)
                if getattr(item, "_new", False) and item.code in section:
                    self.error(Rule.DUPLICATE, join(item.path, "code"), taken % {"what": what[kind], "code": item.code})
                    item.broken = True
                if row_pk is None:
                    continue
                row = by_pk.get(row_pk)
                if row is None or row.code == item.code:
                    continue
                if item.code in section:
                    self.error(Rule.DUPLICATE, join(item.path, "code"), taken % {"what": what[kind], "code": item.code})
                    item.broken = True
                    continue
                self.renamed.append((kind, row.code, item.code))
                self.saved.rename(kind, row, item.code)

    # -- keys and references ----------------------------------------------------------------------

    def _check_keys(self) -> None:
        assert self.bundle is not None

        def unique(items: Iterable[Any], key: Callable[[Any], Any], field: str, message: str) -> None:
            seen: set[Any] = set()
            for item in items:
                value = key(item)
                if value in seen:
                    self.error(Rule.DUPLICATE, join(item.path, field), message % {"value": value})
                    item.broken = True
                seen.add(value)

        bundle = self.bundle
        unique(bundle.responsibility_centers, _by_code, "code", _("Another CR of the file has the code “%(value)s”."))
        unique(bundle.workflows, _by_code, "code", _("Another workflow of the file has the code “%(value)s”."))
        unique(bundle.cycles, _by_code, "code", _("Another cycle of the file has the code “%(value)s”."))
        unique(bundle.service_types, _by_code, "code", _("Another service type of the file has the code “%(value)s”."))
        for workflow in bundle.workflows:
            unique(
                workflow.steps, lambda s: s.order, "order", _("Another step of this workflow has the order %(value)s.")
            )
            if any(s.broken for s in workflow.steps):
                workflow.broken = True
        for cycle in bundle.cycles:
            unique(cycle.questions, _by_code, "code", _("Another question of this cycle has the code “%(value)s”."))
            for question in cycle.questions:
                for problem in check_question(_question_spec(question, [])):
                    if problem.rule == Rule.REPEATED_LABEL:
                        self.error(problem.rule, join(question.path, problem.path), problem.message)
                        question.broken = True
            if any(q.broken for q in cycle.questions):
                cycle.broken = True

    def _check_references(self) -> None:
        assert self.bundle is not None
        bundle = self.bundle
        crs = {c.code for c in bundle.responsibility_centers} | set(self.saved.crs)
        cycles = {c.code for c in bundle.cycles} | set(self.saved.cycles)

        def no_cr(code: str) -> str:
            return _("There is no CR “%(code)s”, in the file or saved.") % {"code": code}

        for workflow in bundle.workflows:
            for step in workflow.steps:
                if step.kind == Kind.CR and step.cr and step.cr not in crs:
                    self.error(Rule.NOT_FOUND, join(step.path, "cr"), no_cr(step.cr))
                    step.broken = workflow.broken = True
        for cycle in bundle.cycles:
            for question in cycle.questions:
                if question.cr and question.cr not in crs:
                    self.error(Rule.NOT_FOUND, join(question.path, "cr"), no_cr(question.cr))
                    question.broken = cycle.broken = True
        for service_type in bundle.service_types:
            if service_type.cycle and service_type.cycle not in cycles:
                self.error(
                    Rule.NOT_FOUND,
                    join(service_type.path, "cycle"),
                    _("There is no cycle “%(code)s”, in the file or saved.") % {"code": service_type.cycle},
                )
                service_type.broken = True
        wanted = {name for c in bundle.responsibility_centers for name in (c.members or [])}
        if wanted:
            found = set(get_user_model().objects.filter(username__in=wanted).values_list("username", flat=True))
            for cr in bundle.responsibility_centers:
                for index, name in enumerate(cr.members or []):
                    if name not in found:
                        self.error(
                            Rule.NOT_FOUND,
                            join(join(cr.path, "members"), index),
                            _("There is no user “%(username)s” here.") % {"username": name},
                        )
                        cr.broken = True

    # -- matching and comparing -------------------------------------------------------------------

    def _match(self) -> None:
        assert self.bundle is not None
        saved, bundle = self.saved, self.bundle
        for cr in bundle.responsibility_centers:
            self._match_cr(cr)
        in_bundle = {c.code for c in bundle.responsibility_centers}
        for cr_row in saved.crs.values():
            if cr_row.code not in in_bundle:
                name = _cr_name(cr_row.code, cr_row.description)
                self._kept("responsibility_center", name, name, 0)
        for workflow in bundle.workflows:
            self._match_workflow(workflow)
        in_bundle = {w.code for w in bundle.workflows}
        for code in saved.workflows:
            if code not in in_bundle:
                name = _("workflow %(code)s") % {"code": code}
                self._kept("workflow", name, name, 0)
        for cycle in bundle.cycles:
            self._match_cycle(cycle)
        in_bundle = {c.code for c in bundle.cycles}
        for code in saved.cycles:
            if code not in in_bundle:
                name = _("cycle %(code)s") % {"code": code}
                self._kept("cycle", name, name, 0)
        self.synthetic_after = self._synthetic_after()
        for service_type in bundle.service_types:
            self._match_type(service_type)
        in_bundle = {t.code for t in bundle.service_types}
        for type_row in saved.types.values():
            if type_row.code not in in_bundle:
                self._match_saved_type(type_row)

    def _leave(
        self, kind: str, model: type[models.Model], row: Any, owner: _Op, label: str, path: str, refusal: Any
    ) -> None:
        """A saved child the item leaves out: kept (a file), else deleted, or refused with `refusal` when in use.

        `refusal` is a message with %(order)s, %(code)s or %(option)s for the row, or false: nothing uses it.
        """
        name = f"{owner.item.name} / {label}"
        depth = owner.item.depth + 1
        if not self.whole:
            self._kept(kind, name, label, depth)
            return
        if refusal:
            names = {
                "order": getattr(row, "order", ""),
                "code": getattr(row, "code", ""),
                "option": getattr(row, "label", ""),
            }
            self.error(Rule.IN_USE, path, refusal % names)
        gone = PlanItem(kind, name, label, depth, "", Status.DELETED)
        self._add(gone, _Op(gone, model, row, {}, owner=owner, delete=True))

    def _renamed_from(self, kind: str, code: str) -> str | None:
        return next((old for k, old, new in self.renamed if k == kind and new == code), None)

    def _code_change(self, kind: str, code: str) -> dict[str, list[Any]]:
        old = self._renamed_from(kind, code)
        return {} if old is None else {"code": [old, code]}

    def _match_cr(self, cr: CrItem) -> None:
        if cr.broken:
            return
        row = self.saved.crs.get(cr.code)
        wanted = cr.values()
        saved = cr_item(row).values() if row else {}
        changes = {**self._code_change("cr", cr.code), **_diff(saved, wanted)} if row else _diff(saved, wanted)
        if cr.members is not None:
            before = self.saved.members(cr.code) if row else []
            if sorted(set(cr.members)) != before:
                changes["members"] = [before, sorted(set(cr.members))]
        name = _cr_name(cr.code, cr.description)
        item = PlanItem("responsibility_center", name, name, 0, cr.path, self._status(row, changes), changes)
        self._add(item, _Op(item, ResponsibilityCenter, row, {"code": cr.code, **wanted}, members=cr.members))

    def _match_named(self, kind: str, model: type[models.Model], item: WorkflowItem | CycleItem, name: str) -> _Op:
        """A workflow or a cycle itself (its description and flag, its code when renamed): its plan item and op."""
        row = self.saved.section(kind).get(item.code)
        wanted = item.values()
        changes = _diff({"description": row.description, "active": row.active} if row else {}, wanted)
        if row is not None:
            changes = {**self._code_change(kind, item.code), **changes}
        plan_item = PlanItem(kind, name, name, 0, item.path, self._status(row, changes), changes)
        op = _Op(plan_item, model, row, {"code": item.code, **wanted})
        self._add(plan_item, op)
        return op

    def _match_workflow(self, workflow: WorkflowItem) -> None:
        if workflow.broken:
            return
        op = self._match_named("workflow", Workflow, workflow, _("workflow %(code)s") % {"code": workflow.code})
        saved_steps = self.saved.steps.get(workflow.code, {})
        rows, left = _pair(workflow.steps, saved_steps, lambda s: s.order)
        for step, step_row in zip(workflow.steps, rows, strict=True):
            self._match_step(step, step_row, op)
        for step_row in sorted(left, key=lambda s: s.order):
            label = _("step %(order)s") % {"order": step_row.order}
            refusal = _("Step %(order)s is used by tickets: it cannot be deleted. Deactivate it instead.")
            used = self.whole and _step_used(step_row)
            self._leave("step", WorkflowStep, step_row, op, label, join(workflow.path, "steps"), used and refusal)

    def _match_step(self, step: StepItem, row: WorkflowStep | None, owner: _Op) -> None:
        label = _("step %(order)s") % {"order": step.order}
        name = f"{owner.item.name} / {label}"
        if row is None:
            changes = _diff({}, step.values(every=True))
        elif row.kind == step.kind:
            changes = _diff(step_item(row).values(), step.values())
        else:
            # A new kind: the fields of the old one are emptied.
            changes = _diff(_step_values(row), step.values(every=True))
            if _step_used(row):
                self.error(
                    Rule.USED_STEP_KIND,
                    join(step.path, "kind"),
                    _(
                        "Step %(order)s of workflow “%(workflow)s” has been used by tickets: its kind cannot "
                        "change from “%(old)s” to “%(new)s”. Add a new step instead."
                    )
                    % {"order": step.order, "workflow": owner.values["code"], "old": row.kind, "new": step.kind},
                )
        if row is not None and row.order != step.order:
            changes = {"order": [row.order, step.order], **changes}
        item = PlanItem("step", name, label, 1, step.path, self._status(row, changes), changes)
        op = _Op(item, WorkflowStep, row, {"order": step.order, **step.values(every=True)}, owner=owner)
        self._add(item, op)
        if step.kind != Kind.DECISION:
            return
        existing = list(row.options.all()) if row is not None and row.kind == Kind.DECISION else []
        self._unknown_ids(step.options, existing)
        rows, left = match_options(existing, [(o.id, o.label) for o in step.options])
        for option, option_row, position in zip(step.options, rows, _positions(existing, rows), strict=True):
            wanted = {"label": option.label, "target_order": option.target_order, "position": position}
            saved = (
                {"label": option_row.label, "target_order": option_row.target_order, "position": option_row.position}
                if option_row
                else {}
            )
            option_changes = _diff(saved, wanted)
            text = _("option “%(label)s”") % {"label": option.label}
            status = self._status(option_row, option_changes)
            option_item = PlanItem("decision_option", f"{name} / {text}", text, 2, option.path, status, option_changes)
            self._add(option_item, _Op(option_item, DecisionOption, option_row, wanted, owner=op))
        for option_row in left:
            if not self.whole:
                self.kept_decision_options.setdefault(id(step), []).append((option_row.label, option_row.target_order))
            refusal = _(
                "Option “%(option)s” was chosen on tickets and cannot be removed: keep it "
                "(you may change the order it goes to)."
            )
            used = self.whole and _decision_option_used(option_row)
            text = _("option “%(label)s”") % {"label": option_row.label}
            self._leave(
                "decision_option", DecisionOption, option_row, op, text, join(step.path, "options"), used and refusal
            )

    def _match_cycle(self, cycle: CycleItem) -> None:
        if cycle.broken:
            return
        op = self._match_named("cycle", ServiceCycle, cycle, _("cycle %(code)s") % {"code": cycle.code})
        saved_questions = self.saved.questions.get(cycle.code, {})
        rows, left = _pair(cycle.questions, saved_questions, lambda q: q.code)
        for question, question_row in zip(cycle.questions, rows, strict=True):
            self._match_question(question, question_row, op)
        for question_row in sorted(left, key=_by_classification):
            label = _("question %(code)s") % {"code": question_row.code}
            refusal = _("Question %(code)s has answers: it cannot be deleted. Deactivate it instead.")
            used = self.whole and question_row.answers.exists()
            self._leave("question", Question, question_row, op, label, join(cycle.path, "questions"), used and refusal)

    def _match_question(self, question: QuestionItem, row: Question | None, owner: _Op) -> None:
        label = _("question %(code)s") % {"code": question.code}
        name = f"{owner.item.name} / {label}"
        if row is None:
            changes = _diff({}, question.values(every=True))
        elif row.answer_type == question.answer_type:
            changes = _diff(question_item(row).values(), question.values())
        else:
            saved = {**question_item(row).values(), "min_value": row.min_value, "max_value": row.max_value}
            changes = _diff(saved, question.values(every=True))
            if row.answers.exists():
                self.error(
                    Rule.ANSWERED_TYPE,
                    join(question.path, "answer_type"),
                    _(
                        "Question %(code)s of cycle “%(cycle)s” has answers: its answer type cannot change from "
                        "“%(old)s” to “%(new)s” (the answers given would no longer fit it). Add a new question "
                        "instead, and deactivate this one."
                    )
                    % {
                        "code": question.code,
                        "cycle": owner.values["code"],
                        "old": row.answer_type,
                        "new": question.answer_type,
                    },
                )
        if row is not None and row.code != question.code:
            changes = {"code": [row.code, question.code], **changes}
        item = PlanItem("question", name, label, 1, question.path, self._status(row, changes), changes)
        op = _Op(item, Question, row, {"code": question.code, **question.values(every=True)}, owner=owner)
        self._add(item, op)
        if not question.is_choice and not self.whole:
            return  # a file leaves the saved options of a question that has none as they are
        existing = list(row.options.all()) if row is not None else []
        wanted_options = question.options if question.is_choice else []
        self._unknown_ids(wanted_options, existing)
        rows, left = match_options(existing, [(o.id, o.label) for o in wanted_options])
        for option, option_row, position in zip(wanted_options, rows, _positions(existing, rows), strict=True):
            wanted = {"position": position, **option.values()}
            saved = (
                {
                    "label": option_row.label,
                    "position": option_row.position,
                    "checked_by_default": option_row.checked_by_default,
                    "asks_complement": option_row.asks_complement,
                    "active": option_row.active,
                }
                if option_row
                else {}
            )
            option_changes = _diff(saved, wanted)
            text = _("option “%(label)s”") % {"label": option.label}
            status = self._status(option_row, option_changes)
            option_item = PlanItem("option", f"{name} / {text}", text, 2, option.path, status, option_changes)
            self._add(option_item, _Op(option_item, Option, option_row, wanted, owner=op))
        for option_row in left:
            if not self.whole:
                self.kept_options.setdefault(id(question), []).append(option_row)
            refusal = _("Option “%(option)s” was chosen in answers and cannot be removed: deactivate it instead.")
            used = self.whole and option_row.answer_choices.exists()
            text = _("option “%(label)s”") % {"label": option_row.label}
            self._leave("option", Option, option_row, op, text, join(question.path, "options"), used and refusal)

    # Service types: a type's group (parent) follows from the synthetic types the change leaves.

    def _synthetic_after(self) -> set[str]:
        assert self.bundle is not None
        kinds = {code: row.kind for code, row in self.saved.types.items()}
        kinds.update({t.code: t.kind for t in self.bundle.service_types if not t.broken})
        return {code for code, kind in kinds.items() if kind == ServiceType.Kind.SYNTHETIC}

    def _group_change(self, code: str, row: ServiceType) -> list[str | None] | None:
        candidates = [s for s in self.synthetic_after if s != code and is_under(s, code)]
        group = max(candidates, key=lambda s: len(s.split(".")), default=None)
        saved = _code(row.parent)
        return None if group == saved else [saved, group]

    def _match_type(self, service_type: ServiceTypeItem) -> None:
        if service_type.broken:
            return
        row = self.saved.types.get(service_type.code)
        wanted = service_type.values()
        changes = _diff(type_item(row).values() if row else {}, wanted)
        if row is not None:
            changes = {**self._code_change("type", service_type.code), **changes}
            group = self._group_change(service_type.code, row)
            if group is not None:
                changes["group"] = group
            if row.kind != service_type.kind:
                self._check_type_kind(service_type, row)
        name = _type_name(service_type.code, service_type.description)
        item = PlanItem("service_type", name, name, 0, service_type.path, self._status(row, changes), changes)
        self._add(item, _Op(item, ServiceType, row, {"code": service_type.code, **wanted}))

    def _match_saved_type(self, row: ServiceType) -> None:
        """A saved type the change does not mention: kept, but its group follows the new groups."""
        name = _type_name(row.code, row.description)
        group = self._group_change(row.code, row)
        if group is None:
            self._kept("service_type", name, name, 0)
            return
        item = PlanItem("service_type", name, name, 0, "", Status.CHANGED, {"group": group})
        self._add(item, _Op(item, ServiceType, row, {}))

    def _check_type_kind(self, service_type: ServiceTypeItem, row: ServiceType) -> None:
        from ciclo.tickets.models import Ticket

        path = join(service_type.path, "kind")
        names = {"code": row.code, "old": row.kind, "new": service_type.kind}
        if Ticket.objects.filter(service_type=row).exists():
            self.error(
                Rule.USED_TYPE_KIND,
                path,
                _("Service type %(code)s is used by tickets: its kind cannot change from “%(old)s” to “%(new)s”.")
                % names,
            )
        options = CrmOptions.objects.filter(pk=1).first()
        if options is not None and row.pk in (
            options.collection_synthetic_type_id,
            options.collection_analytical_type_id,
        ):
            self.error(
                Rule.USED_TYPE_KIND,
                path,
                _("Service type %(code)s is a collection type of the CRM options: its kind cannot change.") % names,
            )

    # -- the configurator's rules, on the configuration the change would leave --------------------

    def _check_rules(self) -> None:
        assert self.bundle is not None
        saved, bundle = self.saved, self.bundle
        bundle_crs = {c.code: c for c in bundle.responsibility_centers}

        def closes_after(code: str | None) -> bool:
            if code in bundle_crs:
                return bundle_crs[code].closes_process
            row = saved.crs.get(code or "")
            return bool(row and row.closes_process)

        def saved_step(row: WorkflowStep, closes: Callable[[str | None], bool]) -> StepSpec:
            return _step_spec(step_item(row), closes)

        # Before: the saved rows as they are (codes as saved, closing flags as saved).
        renamed = {(kind, new): old for kind, old, new in self.renamed}

        def closes_before(code: str | None) -> bool:
            row = saved.crs.get(code or "")
            return bool(row and row.closes_process)

        def spec_before(code: str) -> WorkflowSpec:
            steps = []
            for row in saved.steps[code].values():
                spec = saved_step(row, closes_before)
                steps.append(
                    dataclasses.replace(
                        spec,
                        cr=renamed.get(("cr", spec.cr or ""), spec.cr),
                        target_workflow=renamed.get(("workflow", spec.target_workflow or ""), spec.target_workflow),
                    )
                )
            return WorkflowSpec(renamed.get(("workflow", code), code), steps)

        # The workflows after the change: the bundle's steps over the saved ones.
        after: dict[str, WorkflowSpec] = {}
        for workflow in bundle.workflows:
            steps: list[StepSpec] = []
            for step in workflow.steps:
                spec = _step_spec(step, closes_after)
                kept = self.kept_decision_options.get(id(step))
                if kept and spec.kind == Kind.DECISION:
                    spec = dataclasses.replace(spec, options=(*spec.options, *kept))
                steps.append(spec)
            if not self.whole:
                in_bundle = {s.order for s in workflow.steps}
                matched = {r.pk for op in self.ops.get(WorkflowStep, []) if (r := op.obj) is not None}
                steps += [
                    saved_step(r, closes_after)
                    for o, r in saved.steps.get(workflow.code, {}).items()
                    if o not in in_bundle and r.pk not in matched
                ]
            after[workflow.code] = WorkflowSpec(code=workflow.code, steps=steps)
        for code in saved.workflows:
            if code not in after:
                after[code] = WorkflowSpec(code, [saved_step(r, closes_after) for r in saved.steps[code].values()])
        before = {renamed.get(("workflow", code), code): spec_before(code) for code in saved.steps}
        lookup_after, lookup_before = after.get, before.get

        bundle_workflows = {w.code: w for w in bundle.workflows}
        for workflow in bundle.workflows:
            if workflow.broken:
                continue
            paths = {s.order: s.path for s in workflow.steps}
            for problem in check_workflow(after[workflow.code], lookup_after):
                path = paths.get(problem.order, workflow.path) if problem.order is not None else workflow.path
                self.errors.append(dataclasses.replace(problem, path=path))
        # A saved workflow breaks by a CR's "closes the process": the problem goes on that flag.
        closing_changes = [
            c
            for c in bundle.responsibility_centers
            if c.code in saved.crs and closes_before(c.code) != c.closes_process
        ]
        cause = join(closing_changes[0].path, "closes_process") if len(closing_changes) == 1 else ""
        for code in saved.workflows:
            if code in bundle_workflows:
                continue
            was = {p.message for p in check_workflow(before[renamed.get(("workflow", code), code)], lookup_before)}
            for problem in check_workflow(after[code], lookup_after):
                if problem.message not in was:
                    self.error(
                        problem.rule,
                        cause,
                        _("Saved workflow “%(workflow)s”, which this change leaves as it is, would break: %(error)s")
                        % {"workflow": code, "error": problem.message},
                    )

        # Choice questions, with the options the change would leave.
        for cycle in bundle.cycles:
            for question in cycle.questions:
                if question.broken:
                    continue
                question_spec = _question_spec(question, self.kept_options.get(id(question), []))
                for problem in check_question(question_spec):
                    if problem.rule != Rule.REPEATED_LABEL:
                        self.error(problem.rule, join(question.path, problem.path), problem.message)

        # Service types, with the cycles' CRs the change would leave.
        bundle_cycles = {c.code: c for c in bundle.cycles}

        def cycle_crs_before(code: str | None) -> frozenset[str]:
            questions = saved.questions.get(code or "", {}).values()
            return frozenset(renamed.get(("cr", q.cr.code), q.cr.code) for q in questions if q.active)

        def cycle_crs_after(code: str | None) -> frozenset[str]:
            cycle = bundle_cycles.get(code or "")
            if cycle is None:
                return frozenset(q.cr.code for q in saved.questions.get(code or "", {}).values() if q.active)
            crs = {q.cr for q in cycle.questions if q.active}
            if not self.whole:
                codes_in_bundle = {q.code for q in cycle.questions}
                crs |= {
                    q.cr.code
                    for c, q in saved.questions.get(cycle.code, {}).items()
                    if q.active and c not in codes_in_bundle
                }
            return frozenset(crs)

        synthetic_before = {
            renamed.get(("type", c), c) for c, t in saved.types.items() if t.kind == ServiceType.Kind.SYNTHETIC
        }
        broken = {w.code for w in bundle.workflows if w.broken} | {c.code for c in bundle.cycles if c.broken}
        for service_type in bundle.service_types:
            if service_type.broken or {service_type.workflow, service_type.cycle} & broken:
                continue
            type_spec = TypeSpec(
                service_type.code, service_type.kind, service_type.workflow, cycle_crs_after(service_type.cycle)
            )
            for problem in check_service_type(type_spec, self.synthetic_after - {service_type.code}, lookup_after):
                self.error(problem.rule, join(service_type.path, problem.path), problem.message)
        types_in_bundle = {t.code for t in bundle.service_types}
        orphans: list[str] = []
        for code, type_row in saved.types.items():
            workflow_code, cycle_code = _code(type_row.workflow), _code(type_row.cycle)
            if code in types_in_bundle or {workflow_code, cycle_code} & broken:
                continue
            was_code = renamed.get(("type", code), code)
            type_errors_before = {
                p.message
                for p in check_service_type(
                    TypeSpec(
                        was_code,
                        type_row.kind,
                        renamed.get(("workflow", workflow_code or ""), workflow_code),
                        cycle_crs_before(cycle_code),
                    ),
                    synthetic_before - {was_code},
                    lookup_before,
                )
            }
            now = check_service_type(
                TypeSpec(code, type_row.kind, workflow_code, cycle_crs_after(cycle_code)),
                self.synthetic_after - {code},
                lookup_after,
            )
            for problem in now:
                if problem.message in type_errors_before:
                    continue
                if problem.rule == Rule.NOT_UNDER_GROUP:
                    orphans.append(_type_name(code, type_row.description))
                    continue
                self.error(
                    problem.rule,
                    "",
                    _("Saved service type %(code)s, which this change leaves as it is, would break: %(error)s")
                    % {"code": code, "error": problem.message},
                )
        if orphans:
            kind_paths = [join(t.path, "kind") for t in bundle.service_types if not t.broken]
            self.error(
                Rule.ORPHANED_TYPES,
                kind_paths[0] if len(kind_paths) == 1 else "",
                _("These types would be left outside any group: %(types)s. Change their classification first.")
                % {"types": "; ".join(orphans)},
            )

    # -- applying ---------------------------------------------------------------------------------

    def apply(self, by: Any) -> dict[str, Any]:
        """Write the plan; returns the saved rows by "kind:code" (kind: cr, workflow, cycle, type)."""
        crs = dict(self.saved.crs)
        workflows = dict(self.saved.workflows)
        cycles = dict(self.saved.cycles)
        # Deletions first, children before parents, so a new row can take a deleted one's key.
        for model in (DecisionOption, Option, WorkflowStep, Question):
            for op in self.ops.get(model, []):
                if op.delete:
                    record_deletion(op.obj, by=by)
                    op.obj.delete()
        for op in self.ops.get(ResponsibilityCenter, []):
            cr, change = _save(op, by, op.values)
            crs[cr.code] = cr
            if "members" in op.item.changes:
                _set_members(cr, op, change, by)
        for op in self.ops.get(Workflow, []):
            workflow, _change = _save(op, by, op.values)
            workflows[workflow.code] = workflow
        step_ops = [op for op in self.ops.get(WorkflowStep, []) if not op.delete]
        _step_aside(step_ops)
        for op in step_ops:
            assert op.owner is not None
            values = {
                **op.values,
                "workflow": op.owner.obj,
                "cr": crs[op.values["cr"]] if op.values["cr"] else None,
                "target_workflow": workflows[op.values["target_workflow"]] if op.values["target_workflow"] else None,
            }
            _save(op, by, values)
        for op in self.ops.get(DecisionOption, []):
            if not op.delete:
                assert op.owner is not None
                _save(op, by, {**op.values, "step": op.owner.obj})
        for op in self.ops.get(ServiceCycle, []):
            cycle, _change = _save(op, by, op.values)
            cycles[cycle.code] = cycle
        question_ops = [op for op in self.ops.get(Question, []) if not op.delete]
        _code_aside(question_ops)
        for op in question_ops:
            assert op.owner is not None
            _save(op, by, {**op.values, "cycle": op.owner.obj, "cr": crs[op.values["cr"]]})
        for op in self.ops.get(Option, []):
            if not op.delete:
                assert op.owner is not None
                _save(op, by, {**op.values, "question": op.owner.obj})
        types: dict[str, ServiceType] = {}
        # Groups first: a type finds its group among the saved types when it is saved.
        for op in sorted(self.ops.get(ServiceType, []), key=lambda o: sort_key(o.values.get("code") or o.obj.code)):
            values = dict(op.values)
            if values:
                values["workflow"] = workflows[values["workflow"]] if values["workflow"] else None
                values["cycle"] = cycles[values["cycle"]] if values["cycle"] else None
            service_type, _change = _save(op, by, values)
            types[service_type.code] = service_type
        rows: dict[str, Any] = {}
        for kind, section in (("cr", crs), ("workflow", workflows), ("cycle", cycles), ("type", types)):
            rows.update({f"{kind}:{code}": row for code, row in section.items()})
        return rows


def _step_spec(step: StepItem, closes: Callable[[str | None], bool]) -> StepSpec:
    kind = step.kind
    return StepSpec(
        order=step.order,
        kind=kind,
        cr=step.cr if kind == Kind.CR else None,
        closes=kind == Kind.CR and closes(step.cr),
        next_order=step.next_order if kind == Kind.CR else None,
        question=step.question if kind == Kind.DECISION else "",
        options=tuple((o.label, o.target_order) for o in step.options) if kind == Kind.DECISION else (),
        target_workflow=step.target_workflow if kind == Kind.WORKFLOW else None,
        target_order=step.target_order if kind == Kind.WORKFLOW else None,
    )


def _question_spec(question: QuestionItem, kept: list[Option]) -> QuestionSpec:
    """The question as the rules read it: its options, then the saved ones it keeps."""
    options = [OptionSpec(o.label, o.checked_by_default, o.active) for o in question.options]
    options += [OptionSpec(o.label, o.checked_by_default, o.active) for o in kept]
    return QuestionSpec(question.answer_type, question.min_value, question.max_value, tuple(options))


def _step_aside(ops: list[_Op]) -> None:
    """Saved steps that change order first step aside, so two can swap orders without tripping
    the one-order-per-workflow constraint half-way."""
    moving = [op.obj for op in ops if op.obj is not None and "order" in op.item.changes]
    if not moving:
        return
    top = WorkflowStep.objects.aggregate(top=Max("order"))["top"] or 0
    for offset, step in enumerate(moving, start=1):
        WorkflowStep.objects.filter(pk=step.pk).update(order=top + offset)


def _code_aside(ops: list[_Op]) -> None:
    """Saved questions that change classification step aside first, for the same reason."""
    moving = [op.obj for op in ops if op.obj is not None and "code" in op.item.changes]
    for offset, question in enumerate(moving, start=1):
        Question.objects.filter(pk=question.pk).update(code=f"~{question.pk}.{offset}")


def _save(op: _Op, by: Any, values: dict[str, Any]) -> tuple[Any, Change | None]:
    """Create or change op's row as planned, with its history row."""
    if op.obj is None:
        op.obj = op.model(**values)
        op.obj.save()
        return op.obj, record_change(op.obj, by=by, action=Change.Action.CREATED)
    if op.item.status != Status.CHANGED:
        return op.obj, None
    fields = [name for name in op.item.changes if name in values]
    if not fields and "group" not in op.item.changes:
        return op.obj, None
    before = getattr(op.obj, "_ciclo_before", None) or snapshot(op.obj)
    for name in fields:
        setattr(op.obj, name, values[name])
    op.obj.save(update_fields=fields)  # a service type adds its group (parent) itself
    return op.obj, record_change(op.obj, by=by, action=Change.Action.CHANGED, before=before)


def _set_members(cr: ResponsibilityCenter, op: _Op, change: Change | None, by: Any) -> None:
    cr.members.set(get_user_model().objects.filter(username__in=op.members or []))
    # A snapshot holds no many-to-many field: the members join the CR's history row, or get one.
    if change is None:
        change = record_change(cr, by=by, action=Change.Action.CHANGED, extra={"members": op.item.changes["members"]})
    else:
        change.changes["members"] = op.item.changes["members"]
        change.save(update_fields=["changes"])


# ---- the operations --------------------------------------------------------------------------------


def _paths(bundle: Bundle) -> Bundle:
    """Give each item of a bundle its path, as a file's would be ("workflows[0].steps[2]")."""
    for section in ("responsibility_centers", "workflows", "cycles", "service_types"):
        for index, item in enumerate(getattr(bundle, section)):
            item.path = join(section, index)
            for child_key in ("steps", "questions"):
                for child_index, child in enumerate(getattr(item, child_key, ())):
                    child.path = join(join(item.path, child_key), child_index)
                    for option_index, option in enumerate(getattr(child, "options", ())):
                        option.path = join(join(child.path, "options"), option_index)
    return bundle


def plan_bundle(bundle: Bundle | None, errors: Sequence[Problem] = (), *, whole: bool = False) -> Plan:
    """What saving `bundle` would do, and every problem that stops it. Writes nothing."""
    return Planner(bundle, list(errors), whole=whole).plan()


def apply_bundle(bundle: Bundle | None, by: Any, errors: Sequence[Problem] = (), *, whole: bool = False) -> Plan:
    """Save `bundle` in one transaction, recording each change as `by`; refused whole when invalid.

    Raises ConfigurationInvalid (nothing written) when any rule is broken.
    """
    try:
        with transaction.atomic():
            planner = Planner(bundle, list(errors), lock=True, whole=whole)
            plan = planner.plan()
            if not plan.is_valid:
                raise ConfigurationInvalid(plan)
            plan.rows = planner.apply(by)
    except IntegrityError:
        # Someone saved a row with one of the same codes between reading and writing.
        raise _refused(
            Rule.CONCURRENT, _("The configuration was changed meanwhile; nothing was saved. Try again.")
        ) from None
    plan.applied = True
    return plan


def import_bundle(bundle: Bundle | None, by: Any, errors: Sequence[Problem] = ()) -> Plan:
    """A definitions file: its items over the saved configuration; what it leaves out is kept."""
    return apply_bundle(bundle, by, errors)


ItemT = TypeVar("ItemT", bound=Item)


def _one(item: ItemT, saved: models.Model | None) -> ItemT:
    item.path = ""
    if saved is None:
        item._new = True
    else:
        item._row = saved.pk
    for key in ("steps", "questions"):
        for index, child in enumerate(getattr(item, key, ())):
            child.path = join(key, index)
            for option_index, option in enumerate(getattr(child, "options", ())):
                option.path = join(join(child.path, "options"), option_index)
    return item


def _single(section: str, item: Item, saved: models.Model | None) -> Bundle:
    sections: dict[str, Any] = {"responsibility_centers": [], "workflows": [], "cycles": [], "service_types": []}
    sections[section] = [_one(item, saved)]
    return Bundle.model_construct(**sections)


def _check_one(section: str, item: Item, saved: models.Model | None) -> list[Problem]:
    return plan_bundle(_single(section, item, saved), whole=True).errors


def _save_one(section: str, kind: str, item: Any, by: Any, saved: models.Model | None) -> Any:
    plan = apply_bundle(_single(section, item, saved), by, whole=True)
    return plan.rows[f"{kind}:{item.code}"]


def check_cr(item: CrItem, saved: ResponsibilityCenter | None = None) -> list[Problem]:
    return _check_one("responsibility_centers", item, saved)


def save_cr(item: CrItem, by: Any, saved: ResponsibilityCenter | None = None) -> ResponsibilityCenter:
    """Create (saved None) or change a CR; its members only when the item lists them."""
    return _save_one("responsibility_centers", "cr", item, by, saved)  # type: ignore[no-any-return]


def check_workflow_item(item: WorkflowItem, saved: Workflow | None = None) -> list[Problem]:
    return _check_one("workflows", item, saved)


def save_workflow(item: WorkflowItem, by: Any, saved: Workflow | None = None) -> Workflow:
    """Create or replace a workflow with exactly the item's steps and options."""
    return _save_one("workflows", "workflow", item, by, saved)  # type: ignore[no-any-return]


def check_cycle(item: CycleItem, saved: ServiceCycle | None = None) -> list[Problem]:
    return _check_one("cycles", item, saved)


def save_cycle(item: CycleItem, by: Any, saved: ServiceCycle | None = None) -> ServiceCycle:
    """Create or replace a cycle with exactly the item's questions and options."""
    return _save_one("cycles", "cycle", item, by, saved)  # type: ignore[no-any-return]


def check_service_type_item(item: ServiceTypeItem, saved: ServiceType | None = None) -> list[Problem]:
    return _check_one("service_types", item, saved)


def save_service_type(item: ServiceTypeItem, by: Any, saved: ServiceType | None = None) -> ServiceType:
    """Create or change a service type; the groups of the others follow."""
    return _save_one("service_types", "type", item, by, saved)  # type: ignore[no-any-return]


# ---- administrative statuses (ciclo.collections) ------------------------------------------------------


def check_administrative_status(item: AdministrativeStatusItem, saved: Any = None) -> list[Problem]:
    """The rules an administrative status must keep, `saved` the row it changes (None: a new one)."""
    from ciclo.collections.models import AdministrativeStatus

    problems: list[Problem] = []
    others = AdministrativeStatus.objects.all() if saved is None else AdministrativeStatus.objects.exclude(pk=saved.pk)
    if others.filter(code=item.code).exists():
        problems.append(
            Problem(
                Rule.DUPLICATE,
                _("Another administrative status has the classification %(code)s.") % {"code": item.code},
                "code",
            )
        )
    if saved is not None and saved.kind != item.kind:
        if item.kind == "synthetic" and saved.receivables.exists():
            problems.append(
                Problem(
                    Rule.USED_TYPE_KIND,
                    _("Receivables carry this status: it stays analytical (deactivate it instead)."),
                    "kind",
                )
            )
        if item.kind == "analytical" and saved.children.exists():
            problems.append(
                Problem(
                    Rule.ORPHANED_TYPES,
                    _("Statuses sit under this group: it stays synthetic while they do."),
                    "kind",
                )
            )
    if saved is not None and saved.code != item.code and saved.kind == "synthetic" and saved.children.exists():
        problems.append(
            Problem(Rule.ORPHANED_TYPES, _("Statuses sit under this group: its classification cannot change."), "code")
        )
    return problems


def save_administrative_status(item: AdministrativeStatusItem, by: Any, saved: Any = None) -> Any:
    """Create (saved None) or change an administrative status, with its history row; the tree's groups follow."""
    from ciclo.collections.models import AdministrativeStatus

    with transaction.atomic():
        if saved is not None:
            saved = AdministrativeStatus.objects.select_for_update().get(pk=saved.pk)
        problems = check_administrative_status(item, saved)
        if problems:
            raise ConfigurationInvalid(Plan(items=[], errors=problems))
        status = saved or AdministrativeStatus()
        before = snapshot(status) if saved is not None else None
        status.code = item.code
        for name, value in item.values().items():
            setattr(status, name, value)
        try:
            with transaction.atomic():
                status.save()
        except IntegrityError:  # the same code saved meanwhile
            raise _refused(
                Rule.DUPLICATE,
                _("Another administrative status has the classification %(code)s.") % {"code": item.code},
                "code",
            ) from None
        record_change(status, by=by, action=Change.Action.CHANGED if saved else Change.Action.CREATED, before=before)
        for other in AdministrativeStatus.objects.exclude(pk=status.pk):
            if other.group() != other.parent:  # a new or moved group takes its statuses
                other.save(update_fields=["parent"])
    return status


# ---- CRM options, deactivating, deleting -------------------------------------------------------------


CRM_FIELDS = (
    "use_cycle_in_followup",
    "collection_synthetic_type",
    "collection_analytical_type",
    "collection_delegate_user",
    "automatic_note_user",
    "collection_days_overdue",
    "collection_grouping",
    "email_debtor_on_collection",
    "access_control_user_company",
)


def collections_exist(options: CrmOptions | None = None) -> bool:
    """Whether a collection ticket exists with the saved analytical collection type (the types are then locked)."""
    from ciclo.tickets.models import Ticket

    saved = CrmOptions.objects.filter(pk=1).values_list("collection_analytical_type_id", flat=True).first()
    return saved is not None and Ticket.objects.filter(service_type_id=saved).exists()


def check_crm_options(values: Mapping[str, Any]) -> list[Problem]:
    """The rules of the CRM options as `values` (field → value; model instances for references) would leave them."""
    problems: list[Problem] = []
    saved = CrmOptions.current()
    locked = [
        name
        for name in ("collection_synthetic_type", "collection_analytical_type")
        if name in values and getattr(values[name], "pk", None) != getattr(saved, f"{name}_id")
    ]
    if locked and collections_exist():
        for name in locked:
            problems.append(
                Problem(
                    Rule.COLLECTION_LOCKED,
                    _(
                        "The collection types are locked: collection tickets already exist. "
                        "Keep the current type (you may deactivate it or edit its workflow and cycle instead)."
                    ),
                    name,
                )
            )
    group = values.get("collection_synthetic_type", saved.collection_synthetic_type)
    analytical = values.get("collection_analytical_type", saved.collection_analytical_type)
    if group is not None and group.kind != ServiceType.Kind.SYNTHETIC:
        problems.append(
            Problem(Rule.INVALID, _("Choose a synthetic type (a group) here."), "collection_synthetic_type")
        )
    if analytical is not None and analytical.kind != ServiceType.Kind.ANALYTICAL:
        problems.append(
            Problem(Rule.INVALID, _("Choose an analytical type (used on tickets) here."), "collection_analytical_type")
        )
    if group is not None and analytical is not None and not is_under(group.code, analytical.code):
        problems.append(
            Problem(
                Rule.COLLECTION_UNDER,
                _("The analytical collection type must sit under the synthetic one (%(group)s).") % {"group": group},
                "collection_analytical_type",
            )
        )
    return problems


def save_crm_options(values: Mapping[str, Any], by: Any) -> CrmOptions:
    """Change the CRM options given in `values` (the others keep theirs), with one history row."""
    unknown = sorted(set(values) - set(CRM_FIELDS))
    if unknown:
        raise ValueError(f"not CRM options: {unknown}")
    with transaction.atomic():
        options = CrmOptions.objects.select_for_update().filter(pk=1).first() or CrmOptions.current()
        problems = check_crm_options(values)
        if problems:
            raise ConfigurationInvalid(Plan(items=[], errors=problems))
        before = snapshot(options)
        for name, value in values.items():
            setattr(options, name, value)
        options.save()
        record_change(options, by=by, action=Change.Action.CHANGED, before=before)
    return options


def set_active(obj: models.Model, active: bool, by: Any) -> bool:
    """Deactivate (or activate) a definition, with its history row; False when it already was."""
    with transaction.atomic():
        return _set_active(obj, active, by=by)


def delete(obj: models.Model, by: Any) -> None:
    """Delete a definition nothing uses, with its history row; ConfigurationInvalid (IN_USE) otherwise."""
    uses = protected_uses(obj)
    if uses:
        raise _refused(
            Rule.IN_USE,
            _("“%(object)s” is in use and cannot be deleted (%(uses)s): deactivate it instead.")
            % {"object": obj, "uses": ", ".join(uses)},
        )
    try:
        with transaction.atomic():
            record_deletion(obj, by=by)
            obj.delete()
    except (models.ProtectedError, models.RestrictedError):  # used meanwhile
        raise _refused(
            Rule.IN_USE, _("“%(object)s” is in use and cannot be deleted: deactivate it instead.") % {"object": obj}
        ) from None

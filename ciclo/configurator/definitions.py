"""Definitions as files: the whole configuration travels as one bundle between installations.

The bundle (``ciclo_definitions: 1``), in JSON or YAML::

    ciclo_definitions: 1
    responsibility_centers: [{code, description, closes_process, active, members?}]
    workflows: [{code, description, active, steps: [{order, kind, active, …}]}]
        kind cr:       cr (a CR's code), next_order
        kind decision: question, options: [{label, target_order}]
        kind workflow: target_workflow (a workflow's code), target_order
    cycles: [{code, description, active, questions: [{code, cr, text, help_text, answer_type, required,
              min_value, max_value, active, options: [{label, checked_by_default, asks_complement, active}]}]}]
    service_types: [{code, description, kind, category, priority, days_to_next_contact, colour,
                     active_from, workflow, cycle, active}]

Items refer to each other by code (a CR's, question's or type's classification, a
workflow's or cycle's code), never by database id. A reference may name an item
of the file or one already saved. Every section is optional; a missing optional
key means its default, because the file describes each item whole — except
``members`` (usernames): absent, a CR's members are left as they are (users differ
between installations, so the export leaves them out); present, they become
exactly those users. A step carries only the keys of its kind; ``options`` belong
to decisions and to the two multiple-choice answer types; ``min_value`` and
``max_value`` only to numbers and money.

The export writes every key (a step only those of its kind), keys sorted, lists in
the configuration's own order — CRs, questions and types by classification,
workflows and cycles by code, steps by order, options by position — so two
exports of the same configuration are the same text, and diff cleanly.

Matching: how an item of the file finds the saved row it describes
    CR by code · workflow by code · step by (workflow, order) · decision option by
    (step, label) compared without case, then the remaining ones by position (the
    admin's rule, ``forms.plan_options``) · cycle by code · question by (cycle, code) ·
    option by (question, label) compared without case · service type by code.
    Codes, orders and option labels are keys: a changed key is a new item, and the
    old one stays. An option's position is its place in the file's list; saved
    positions are rewritten (1, 2, 3…) only when the file changes the options' order
    or adds one, so options the admin left at position 0 round-trip unchanged.

What an import never does
    - Delete. A saved item the file does not mention is left as it is and listed
      as "not in file, kept"; to retire it, give it ``active: false`` in the file
      (a decision's option has no such flag: it stays, and still routes, until it
      is removed in the admin). The one change a kept item may get is its group: a
      saved service type moves under a synthetic type the file adds above it.
    - Change what history depends on: the answer type of a question that has
      answers, the kind of a step that tickets have stood at or passed, the kind
      of a service type that tickets use.
    - Write anything when one error is found. The configuration that would result
      (the file over the saved rows) is checked whole first: the file's shape
      (types, required and unknown keys), its references, then the configurator's
      rules (``validation.check_workflow``, ``check_service_type``); saved
      workflows and types the file does not mention are checked again, and an
      error the file would cause in them is reported too (with the path ""). Each
      error carries its path in the file (``workflows[1].steps[3].cr``; indexes
      count from 0); a rule's message, which names its step, goes on that step
      (``workflows[1].steps[3]``). The rules of a workflow, cycle or type whose own
      values or references are wrong wait until those are fixed: run on a guess,
      they would only add noise.

Importing a bundle that matches the configuration changes nothing and writes no
history; every item created or changed writes a ``history.Change`` row with the
importing user.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ciclo.configurator.classification import is_under, sort_key
from ciclo.configurator.forms import plan_options
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
from ciclo.configurator.specs import step_spec
from ciclo.configurator.validation import (
    NUMERIC_TYPES,
    OptionSpec,
    QuestionRule,
    QuestionSpec,
    StepSpec,
    TypeSpec,
    WorkflowSpec,
    check_question,
    check_service_type,
    check_workflow,
)
from ciclo.history.models import Change, record_change, snapshot

FORMAT_VERSION = 1
VERSION_KEY = "ciclo_definitions"
FORMATS = ("json", "yaml")

Kind = WorkflowStep.Kind
# What a step of each kind carries besides order, kind and active.
STEP_KEYS: dict[str, tuple[str, ...]] = {
    Kind.CR.value: ("cr", "next_order"),
    Kind.DECISION.value: ("question", "options"),
    Kind.WORKFLOW.value: ("target_workflow", "target_order"),
}


# ---- results -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """One error, with where it is in the file ("" for a saved item the file does not mention)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class Status(models.TextChoices):
    """What an import does to an item."""

    CREATED = "created", gettext_lazy("created")
    CHANGED = "changed", gettext_lazy("changed")
    UNCHANGED = "unchanged", gettext_lazy("unchanged")
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
        return {
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "status": self.status,
            "changes": self.changes,
        }


@dataclasses.dataclass
class Plan:
    """What importing a bundle would do: each item's fate, or every error that stops it."""

    items: list[PlanItem]
    errors: list[Problem]
    applied: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(Status.values, 0)
        for item in self.items:
            counts[item.status] += 1
        return counts

    def error_fields(self) -> dict[str, list[str]]:
        """The errors by path, as the API shows them ("__all__" for those outside the file)."""
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
            "errors": [{"path": p.path, "message": p.message} for p in self.errors],
        }


class DefinitionsInvalid(Exception):
    """The bundle was refused: nothing was written. `plan.errors` says why."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("; ".join(str(p) for p in plan.errors[:5]))
        self.plan = plan


class BundleSyntaxError(ValueError):
    """The text is not JSON or YAML (or repeats a key); the message says where."""


# ---- the items, as plain definitions (from the file or from the saved rows) ---------------------


def _number(value: Decimal | None) -> int | float | str | None:
    """A decimal as the file writes it: a whole number, a float when exact, else text."""
    if value is None:
        return None
    value = value.normalize()
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


def _plain(value: Any) -> Any:
    """A value as JSON holds it (for plans and history)."""
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclasses.dataclass
class CrDef:
    code: str
    description: str = ""
    closes_process: bool = False
    active: bool = True
    members: list[str] | None = None  # usernames; None: not managed by the file
    path: str = ""
    broken: bool = False

    def values(self) -> dict[str, Any]:
        return {"description": self.description, "closes_process": self.closes_process, "active": self.active}

    def to_dict(self) -> dict[str, Any]:
        data = {"code": self.code, **self.values()}
        if self.members is not None:
            data["members"] = sorted(self.members)
        return data


@dataclasses.dataclass
class DecisionOptionDef:
    label: str
    target_order: int
    path: str = ""


@dataclasses.dataclass
class StepDef:
    order: int
    kind: str
    active: bool = True
    cr: str | None = None
    next_order: int | None = None
    question: str = ""
    options: list[DecisionOptionDef] = dataclasses.field(default_factory=list)
    target_workflow: str | None = None
    target_order: int | None = None
    path: str = ""
    broken: bool = False
    # Saved options the file does not mention (label, target): they stay, and route too.
    kept_options: list[tuple[str, int]] = dataclasses.field(default_factory=list, repr=False)

    def values(self, *, every: bool = False) -> dict[str, Any]:
        """kind, active and the fields of its kind (all fields with `every`: what a new row gets)."""
        fields = ("cr", "next_order", "question", "target_workflow", "target_order")
        own = STEP_KEYS.get(self.kind, ())
        chosen = fields if every else [f for f in fields if f in own]
        blank: dict[str, Any] = {"question": ""}
        return {
            "kind": self.kind,
            "active": self.active,
            **{f: getattr(self, f) if f in own else blank.get(f) for f in chosen},
        }

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"order": self.order, "kind": self.kind, "active": self.active}
        for key in STEP_KEYS.get(self.kind, ()):
            if key == "options":
                data["options"] = [{"label": o.label, "target_order": o.target_order} for o in self.options]
            else:
                data[key] = getattr(self, key)
        return data

    def spec(self, closes: Callable[[str | None], bool]) -> StepSpec:
        return StepSpec(
            order=self.order,
            kind=self.kind,
            cr=self.cr if self.kind == Kind.CR else None,
            closes=self.kind == Kind.CR and closes(self.cr),
            next_order=self.next_order if self.kind == Kind.CR else None,
            question=self.question if self.kind == Kind.DECISION else "",
            options=tuple((o.label, o.target_order) for o in self.options) if self.kind == Kind.DECISION else (),
            target_workflow=self.target_workflow if self.kind == Kind.WORKFLOW else None,
            target_order=self.target_order if self.kind == Kind.WORKFLOW else None,
        )


@dataclasses.dataclass
class WorkflowDef:
    code: str
    description: str = ""
    active: bool = True
    steps: list[StepDef] = dataclasses.field(default_factory=list)
    path: str = ""
    broken: bool = False

    def values(self) -> dict[str, Any]:
        return {"description": self.description, "active": self.active}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.values(), "steps": [s.to_dict() for s in self.steps]}


@dataclasses.dataclass
class OptionDef:
    label: str
    checked_by_default: bool = False
    asks_complement: bool = False
    active: bool = True
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "checked_by_default": self.checked_by_default,
            "asks_complement": self.asks_complement,
            "active": self.active,
        }


@dataclasses.dataclass
class QuestionDef:
    code: str
    cr: str = ""
    text: str = ""
    help_text: str = ""
    answer_type: str = AnswerType.SHORT_TEXT.value
    required: bool = False
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    active: bool = True
    options: list[OptionDef] = dataclasses.field(default_factory=list)
    path: str = ""
    broken: bool = False
    # Saved options the file does not mention: they stay, and count for the rules.
    kept_options: list[Option] = dataclasses.field(default_factory=list, repr=False)

    @property
    def is_choice(self) -> bool:
        return self.answer_type in AnswerType.choice_types()

    def spec(self) -> QuestionSpec:
        """The question as the rules read it: the file's options, then the saved ones it keeps."""
        options = [OptionSpec(o.label, o.checked_by_default, o.active) for o in self.options]
        options += [OptionSpec(o.label, o.checked_by_default, o.active) for o in self.kept_options]
        return QuestionSpec(self.answer_type, self.min_value, self.max_value, tuple(options))

    def values(self, *, every: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cr": self.cr,
            "text": self.text,
            "help_text": self.help_text,
            "answer_type": self.answer_type,
            "required": self.required,
            "active": self.active,
        }
        if every or self.answer_type in NUMERIC_TYPES:
            numeric = self.answer_type in NUMERIC_TYPES
            data["min_value"] = self.min_value if numeric else None
            data["max_value"] = self.max_value if numeric else None
        return data

    def to_dict(self) -> dict[str, Any]:
        numeric = self.answer_type in NUMERIC_TYPES
        data = {
            "code": self.code,
            **self.values(),
            "min_value": _number(self.min_value) if numeric else None,
            "max_value": _number(self.max_value) if numeric else None,
        }
        if self.is_choice:
            data["options"] = [o.to_dict() for o in self.options]
        return data


@dataclasses.dataclass
class CycleDef:
    code: str
    description: str = ""
    active: bool = True
    questions: list[QuestionDef] = dataclasses.field(default_factory=list)
    path: str = ""
    broken: bool = False

    def values(self) -> dict[str, Any]:
        return {"description": self.description, "active": self.active}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **self.values(), "questions": [q.to_dict() for q in self.questions]}


@dataclasses.dataclass
class TypeDef:
    code: str
    description: str = ""
    kind: str = ServiceType.Kind.ANALYTICAL.value
    category: str = ServiceType.Category.SERVICE.value
    priority: int = 3
    days_to_next_contact: int = 1
    colour: str = "#0d6efd"
    active_from: dt.date | None = None
    workflow: str | None = None
    cycle: str | None = None
    active: bool = True
    path: str = ""
    broken: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "kind": self.kind,
            "category": self.category,
            "priority": self.priority,
            "days_to_next_contact": self.days_to_next_contact,
            "colour": self.colour,
            "active_from": self.active_from,
            "workflow": self.workflow,
            "cycle": self.cycle,
            "active": self.active,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, **{k: _plain(v) for k, v in self.values().items()}}


@dataclasses.dataclass
class Bundle:
    crs: list[CrDef] = dataclasses.field(default_factory=list)
    workflows: list[WorkflowDef] = dataclasses.field(default_factory=list)
    cycles: list[CycleDef] = dataclasses.field(default_factory=list)
    types: list[TypeDef] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            VERSION_KEY: FORMAT_VERSION,
            "responsibility_centers": [c.to_dict() for c in self.crs],
            "workflows": [w.to_dict() for w in self.workflows],
            "cycles": [c.to_dict() for c in self.cycles],
            "service_types": [t.to_dict() for t in self.types],
        }


# ---- the saved configuration --------------------------------------------------------------------


def _step_def(step: WorkflowStep) -> StepDef:
    kind = step.kind
    return StepDef(
        order=step.order,
        kind=kind,
        active=step.active,
        cr=_code(step.cr) if kind == Kind.CR else None,
        next_order=step.next_order if kind == Kind.CR else None,
        question=step.question if kind == Kind.DECISION else "",
        options=(
            [DecisionOptionDef(o.label, o.target_order) for o in step.options.all()] if kind == Kind.DECISION else []
        ),
        target_workflow=_code(step.target_workflow) if kind == Kind.WORKFLOW else None,
        target_order=step.target_order if kind == Kind.WORKFLOW else None,
    )


def _question_def(question: Question) -> QuestionDef:
    return QuestionDef(
        code=question.code,
        cr=question.cr.code,
        text=question.text,
        help_text=question.help_text,
        answer_type=question.answer_type,
        required=question.required,
        min_value=question.min_value,
        max_value=question.max_value,
        active=question.active,
        options=(
            [OptionDef(o.label, o.checked_by_default, o.asks_complement, o.active) for o in question.options.all()]
            if question.is_choice
            else []
        ),
    )


def _type_def(service_type: ServiceType) -> TypeDef:
    return TypeDef(
        code=service_type.code,
        description=service_type.description,
        kind=service_type.kind,
        category=service_type.category,
        priority=service_type.priority,
        days_to_next_contact=service_type.days_to_next_contact,
        colour=service_type.colour,
        active_from=service_type.active_from,
        workflow=_code(service_type.workflow),
        cycle=_code(service_type.cycle),
        active=service_type.active,
    )


def _code(obj: Any) -> str | None:
    """The code of a related definition, or None (the relation is empty)."""
    return None if obj is None else str(obj.code)


def _by_code(item: Any) -> str:
    return str(item.code)


def _by_classification(item: Any) -> tuple[str, str]:
    return sort_key(item.code), item.code


class _Saved:
    """The saved configuration, read in a fixed number of queries, keyed as the file keys it."""

    def __init__(self, *, lock: bool = False) -> None:
        def rows(qs: models.QuerySet[Any]) -> list[Any]:
            # Importing rewrites the configuration as a whole: hold its rows until the import commits.
            return list(qs.select_for_update(of=("self",)) if lock else qs)

        # Sorted here, not by the database: the export's order must not depend on its collation.
        self.crs: dict[str, ResponsibilityCenter] = {
            c.code: c for c in sorted(rows(ResponsibilityCenter.objects.all()), key=_by_classification)
        }
        self.workflows: dict[str, Workflow] = {w.code: w for w in sorted(rows(Workflow.objects.all()), key=_by_code)}
        self.steps: dict[str, dict[int, WorkflowStep]] = {code: {} for code in self.workflows}
        steps = WorkflowStep.objects.select_related("workflow", "cr", "target_workflow").prefetch_related("options")
        for step in sorted(rows(steps), key=lambda s: s.order):
            self.steps[step.workflow.code][step.order] = step
        self.cycles: dict[str, ServiceCycle] = {
            c.code: c for c in sorted(rows(ServiceCycle.objects.all()), key=_by_code)
        }
        self.questions: dict[str, dict[str, Question]] = {code: {} for code in self.cycles}
        questions = Question.objects.select_related("cycle", "cr").prefetch_related("options")
        for question in sorted(rows(questions), key=_by_classification):
            self.questions[question.cycle.code][question.code] = question
        types = ServiceType.objects.select_related("workflow", "cycle", "parent")
        self.types: dict[str, ServiceType] = {t.code: t for t in sorted(rows(types), key=_by_classification)}

    def members(self, code: str) -> list[str]:
        return sorted(self.crs[code].members.values_list("username", flat=True))

    def bundle(self) -> Bundle:
        return Bundle(
            crs=[CrDef(c.code, c.description, c.closes_process, c.active) for c in self.crs.values()],
            workflows=[
                WorkflowDef(w.code, w.description, w.active, [_step_def(s) for s in self.steps[w.code].values()])
                for w in self.workflows.values()
            ],
            cycles=[
                CycleDef(c.code, c.description, c.active, [_question_def(q) for q in self.questions[c.code].values()])
                for c in self.cycles.values()
            ],
            types=[_type_def(t) for t in self.types.values()],
        )


def export_bundle() -> dict[str, Any]:
    """The whole configuration as a bundle (plain data: dump it with `dump`)."""
    return _Saved().bundle().to_dict()


def canonical(data: Any) -> dict[str, Any]:
    """A bundle as the export writes it: defaults filled in, items in the export's order.

    The export of a configuration made by importing `data` into an empty database
    equals `canonical(data)`. Raises DefinitionsInvalid when `data` is not well formed.
    """
    reader = _Reader()
    bundle = reader.bundle(data)
    if bundle is None or reader.errors:
        raise DefinitionsInvalid(Plan(items=[], errors=reader.errors))
    for workflow in bundle.workflows:
        workflow.steps.sort(key=lambda s: s.order)
    for cycle in bundle.cycles:
        cycle.questions.sort(key=_by_classification)
    bundle.crs.sort(key=_by_classification)
    bundle.workflows.sort(key=_by_code)
    bundle.cycles.sort(key=_by_code)
    bundle.types.sort(key=_by_classification)
    return bundle.to_dict()


# ---- text: JSON and YAML ------------------------------------------------------------------------


# No value of a bundle needs more digits than this; Python itself refuses to read an integer
# of more than 4,300 (sys.get_int_max_str_digits), so the loaders never try.
MAX_DIGITS = 100


@dataclasses.dataclass(frozen=True)
class LongNumber:
    """A number of more than MAX_DIGITS digits, kept as written for the reader to refuse with its path."""

    text: str

    @property
    def digits(self) -> int:
        return sum(c.isalnum() for c in re.sub(r"^[-+]?0[xob]", "", self.text.lower()))

    def __str__(self) -> str:
        return f"{self.text[:12]}…"


def _json_int(text: str) -> int | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else int(text)


def _json_float(text: str) -> float | LongNumber:
    return LongNumber(text) if len(text) > MAX_DIGITS else float(text)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _StrictYamlLoader(yaml.SafeLoader):
    """YAML without repeated keys (the second would silently win) and without aliases.

    Dates stay text, as in JSON: the reader checks them (a day that does not exist,
    2026-02-30, is an error on its path, not a failure of the loader); numbers too
    long to be any value of a bundle become LongNumber.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_yaml_int(self, node: Any) -> Any:
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            return LongNumber(str(text))
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: Any) -> Any:
        text = self.construct_scalar(node)
        if len(text) > MAX_DIGITS:
            return LongNumber(str(text))
        return super().construct_yaml_float(node)

    def construct_yaml_text(self, node: Any) -> Any:
        return self.construct_scalar(node)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, _("aliases (*name) are not allowed in a definitions file"), event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, (str, int)) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, _("the key “%(key)s” appears twice") % {"key": key}, key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictYamlLoader.add_constructor("tag:yaml.org,2002:int", _StrictYamlLoader.construct_yaml_int)
_StrictYamlLoader.add_constructor("tag:yaml.org,2002:float", _StrictYamlLoader.construct_yaml_float)
_StrictYamlLoader.add_constructor(_TIMESTAMP, _StrictYamlLoader.construct_yaml_text)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def guess_format(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return None


def parse(text: str, fmt: str | None = None) -> Any:
    """The data of a bundle's text; `fmt` None: JSON when it starts with "{", else YAML."""
    if fmt is None:
        fmt = "json" if text.lstrip().startswith("{") else "yaml"
    if fmt == "json":

        def no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            data: dict[str, Any] = {}
            for key, value in pairs:
                if key in data:
                    raise BundleSyntaxError(_("not valid JSON: the key “%(key)s” appears twice.") % {"key": key})
                data[key] = value
            return data

        def refuse(constant: str) -> Any:
            raise BundleSyntaxError(
                _("not valid JSON: %(constant)s is not a number JSON allows.") % {"constant": constant}
            )

        try:
            return json.loads(
                text, object_pairs_hook=no_repeats, parse_constant=refuse, parse_int=_json_int, parse_float=_json_float
            )
        except json.JSONDecodeError as exc:
            raise BundleSyntaxError(
                _("not valid JSON: line %(line)s, column %(column)s: %(problem)s.")
                % {"line": exc.lineno, "column": exc.colno, "problem": exc.msg}
            ) from None
        except RecursionError:
            raise BundleSyntaxError(_("not valid JSON: it nests too deep.")) from None
    try:
        return yaml.load(text, Loader=_StrictYamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark, problem = exc.problem_mark, exc.problem or exc.context or ""
        if mark is not None:
            problem = _("line %(line)s, column %(column)s: %(problem)s") % {
                "line": mark.line + 1,
                "column": mark.column + 1,
                "problem": problem,
            }
        raise BundleSyntaxError(_("not valid YAML: %(problem)s.") % {"problem": problem}) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise BundleSyntaxError(_("not valid YAML: %(problem)s.") % {"problem": exc}) from None


def dump(data: dict[str, Any], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=True, default_flow_style=False, width=120)


# ---- reading a bundle: shape and values, each error with its path --------------------------------


class _Bad(Exception):
    pass


_INVALID: Any = object()


@dataclasses.dataclass(frozen=True)
class _Key:
    kind: str  # text | code | int | bool | number | date | list
    field: Any = None  # the model field whose rules the value must pass
    required: bool = False
    default: Any = None  # a tuple stands for a new list
    null: bool = False  # null (an empty YAML value) is allowed
    choices: tuple[str, ...] = ()

    def initial(self) -> Any:
        return list(self.default) if isinstance(self.default, tuple) else self.default


def _f(model: type[models.Model], name: str) -> Any:
    return model._meta.get_field(name)


_CR_CODE = _f(ResponsibilityCenter, "code")
_WF_CODE = _f(Workflow, "code")
_CYCLE_CODE = _f(ServiceCycle, "code")
_LIST = _Key("list", default=())


def _bool(default: bool) -> _Key:
    return _Key("bool", default=default)


_KEYS_CR = {
    "code": _Key("code", _CR_CODE, required=True),
    "description": _Key("text", _f(ResponsibilityCenter, "description"), required=True),
    "closes_process": _bool(False),
    "active": _bool(True),
    "members": _Key("list", null=True),
}
_KEYS_WORKFLOW = {
    "code": _Key("code", _WF_CODE, required=True),
    "description": _Key("text", _f(Workflow, "description"), required=True),
    "active": _bool(True),
    "steps": _LIST,
}
_KEYS_STEP = {
    "order": _Key("int", _f(WorkflowStep, "order"), required=True),
    "kind": _Key("text", required=True, choices=tuple(Kind.values)),
    "active": _bool(True),
    "cr": _Key("code", _CR_CODE, null=True),
    "next_order": _Key("int", _f(WorkflowStep, "next_order"), null=True),
    "question": _Key("text", _f(WorkflowStep, "question"), default=""),
    "options": _LIST,
    "target_workflow": _Key("code", _WF_CODE, null=True),
    "target_order": _Key("int", _f(WorkflowStep, "target_order"), null=True),
}
_KEYS_DECISION_OPTION = {
    "label": _Key("text", _f(DecisionOption, "label"), required=True),
    "target_order": _Key("int", _f(DecisionOption, "target_order"), required=True),
}
_KEYS_CYCLE = {
    "code": _Key("code", _CYCLE_CODE, required=True),
    "description": _Key("text", _f(ServiceCycle, "description"), required=True),
    "active": _bool(True),
    "questions": _LIST,
}
_KEYS_QUESTION = {
    "code": _Key("code", _f(Question, "code"), required=True),
    "cr": _Key("code", _CR_CODE, required=True),
    "text": _Key("text", _f(Question, "text"), required=True),
    "help_text": _Key("text", _f(Question, "help_text"), default=""),
    "answer_type": _Key("text", required=True, choices=tuple(AnswerType.values)),
    "required": _bool(False),
    "min_value": _Key("number", _f(Question, "min_value"), null=True),
    "max_value": _Key("number", _f(Question, "max_value"), null=True),
    "active": _bool(True),
    "options": _LIST,
}
_KEYS_OPTION = {
    "label": _Key("text", _f(Option, "label"), required=True),
    "checked_by_default": _bool(False),
    "asks_complement": _bool(False),
    "active": _bool(True),
}
_KEYS_TYPE = {
    "code": _Key("code", _f(ServiceType, "code"), required=True),
    "description": _Key("text", _f(ServiceType, "description"), required=True),
    "kind": _Key("text", default=ServiceType.Kind.ANALYTICAL.value, choices=tuple(ServiceType.Kind.values)),
    "category": _Key("text", default=ServiceType.Category.SERVICE.value, choices=tuple(ServiceType.Category.values)),
    "priority": _Key("int", _f(ServiceType, "priority"), default=3),
    "days_to_next_contact": _Key("int", _f(ServiceType, "days_to_next_contact"), default=1),
    "colour": _Key("text", _f(ServiceType, "colour"), default="#0d6efd"),
    "active_from": _Key("date", _f(ServiceType, "active_from"), null=True),
    "workflow": _Key("code", _WF_CODE, null=True),
    "cycle": _Key("code", _CYCLE_CODE, null=True),
    "active": _bool(True),
}
_SECTIONS = ("responsibility_centers", "workflows", "cycles", "service_types")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Reader:
    def __init__(self) -> None:
        self.errors: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(Problem(path, message))

    def value(self, key: _Key, raw: Any, path: str) -> Any:
        try:
            return self._value(key, raw)
        except _Bad as exc:
            self.error(path, str(exc))
            return _INVALID

    def _value(self, key: _Key, raw: Any) -> Any:
        field = key.field
        if raw is None:
            if key.kind == "list" or key.null:
                return key.initial()
            if key.kind == "text" and key.default == "":
                return ""
            raise _Bad(_("A value is needed here (it is empty)."))
        if isinstance(raw, LongNumber):
            raise _Bad(
                _("This number has %(count)s digits: a number in a definitions file has at most %(limit)s.")
                % {"count": raw.digits, "limit": MAX_DIGITS}
            )
        if key.kind == "text":
            if not isinstance(raw, str):
                raise _Bad(_("Write text here."))
            if key.required and not raw.strip():
                raise _Bad(_("This must not be empty."))
            if key.choices and raw not in key.choices:
                raise _Bad(
                    _("“%(value)s” is not one of: %(choices)s.") % {"value": raw, "choices": ", ".join(key.choices)}
                )
        elif key.kind == "code":
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                raise _Bad(_("Write a code here."))
            if isinstance(raw, float):
                # YAML reads 1.10 as the number 1.1: the code cannot be told from it.
                raise _Bad(_('Put the code in quotes, such as "1.10": written bare, it reads as a number.'))
            raw = str(raw)
        elif key.kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise _Bad(_("Write a whole number here."))
        elif key.kind == "bool":
            if not isinstance(raw, bool):
                raise _Bad(_("Write true or false here."))
            return raw
        elif key.kind == "number":
            raw = self._decimal(raw)
        elif key.kind == "date":
            if isinstance(raw, str):
                try:
                    raw = dt.date.fromisoformat(raw)
                except ValueError:
                    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                        raise _Bad(
                            _("There is no day %(value)s in the calendar: write a date that exists, as YYYY-MM-DD.")
                            % {"value": raw}
                        ) from None
                    raise _Bad(_("Write a date as YYYY-MM-DD.")) from None
            if isinstance(raw, dt.datetime) or not isinstance(raw, dt.date):
                raise _Bad(_("Write a date as YYYY-MM-DD."))
        elif key.kind == "list":
            if not isinstance(raw, list):
                raise _Bad(_("Write a list here."))
            return raw
        if isinstance(raw, str) and "\x00" in raw:
            raise _Bad(_("The text has a NUL character."))
        if field is not None:
            try:
                raw = field.clean(raw, None)
            except ValidationError as exc:
                raise _Bad(" ".join(exc.messages)) from None
        return raw

    def _decimal(self, raw: Any) -> Decimal:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
            raise _Bad(_("Write a number here."))
        if isinstance(raw, float):
            if not math.isfinite(raw):
                raise _Bad(_("Write a number here."))
            raw = repr(raw)
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise _Bad(_("Write a number here.")) from None
        if not number.is_finite():
            raise _Bad(_("Write a number here."))
        return number

    def mapping(self, raw: Any, path: str, keys: dict[str, _Key]) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.error(path, _("Write a mapping (key: value pairs) here."))
            return None
        for name in sorted(str(k) for k in raw if k not in keys):
            self.error(_join(path, name), _("Unknown key."))
        values: dict[str, Any] = {}
        for name, key in keys.items():
            if name in raw:
                values[name] = self.value(key, raw[name], _join(path, name))
            elif key.required:
                self.error(_join(path, name), _("This key is required."))
                values[name] = _INVALID
            else:
                values[name] = key.initial()
        return values

    def items(self, raw: Any, path: str, keys: dict[str, _Key]) -> Iterable[tuple[str, dict[str, Any]]]:
        """Each mapping of a list with its path; what is not a mapping is an error."""
        for index, item in enumerate(raw or []):
            item_path = _join(path, index)
            values = self.mapping(item, item_path, keys)
            if values is not None:
                yield item_path, values

    def bundle(self, data: Any) -> Bundle | None:
        if data is None:
            self.error("", _("The file is empty."))
            return None
        if not isinstance(data, dict):
            self.error("", _("A definitions file is a mapping with the key “%(key)s”.") % {"key": VERSION_KEY})
            return None
        version = data.get(VERSION_KEY)
        if VERSION_KEY not in data:
            self.error(VERSION_KEY, _("This key is required: it says which version of the format the file uses (1)."))
        elif isinstance(version, bool) or version != FORMAT_VERSION:
            self.error(
                VERSION_KEY,
                _("Version %(version)s is not supported: this Ciclo reads version %(supported)s.")
                % {"version": version, "supported": FORMAT_VERSION},
            )
            return None
        for name in sorted(str(k) for k in data if k not in (VERSION_KEY, *_SECTIONS)):
            self.error(name, _("Unknown key."))
        sections: dict[str, list[Any]] = {}
        for name in _SECTIONS:
            raw = data.get(name)
            if raw is not None and not isinstance(raw, list):
                self.error(name, _("Write a list here."))
                raw = None
            sections[name] = raw or []
        return Bundle(
            crs=[
                self.cr(p, v)
                for p, v in self.items(sections["responsibility_centers"], "responsibility_centers", _KEYS_CR)
            ],
            workflows=[self.workflow(p, v) for p, v in self.items(sections["workflows"], "workflows", _KEYS_WORKFLOW)],
            cycles=[self.cycle(p, v) for p, v in self.items(sections["cycles"], "cycles", _KEYS_CYCLE)],
            types=[
                self.service_type(p, v) for p, v in self.items(sections["service_types"], "service_types", _KEYS_TYPE)
            ],
        )

    @staticmethod
    def _broken(values: dict[str, Any]) -> bool:
        return any(v is _INVALID for v in values.values())

    @staticmethod
    def _clean(values: dict[str, Any], defaults: Any) -> dict[str, Any]:
        """Invalid values replaced by the defaults, so the rest can still be checked."""
        return {k: (getattr(defaults, k) if v is _INVALID else v) for k, v in values.items() if hasattr(defaults, k)}

    def cr(self, path: str, values: dict[str, Any]) -> CrDef:
        members = values.pop("members")
        broken = self._broken(values)
        item = CrDef(**self._clean(values, CrDef("")), path=path, broken=broken)
        if members is not None and members is not _INVALID:
            names: list[str] = []
            for index, name in enumerate(members):
                if not isinstance(name, str) or not name.strip():
                    self.error(_join(_join(path, "members"), index), _("Write a username here."))
                    item.broken = True
                else:
                    names.append(name)
            item.members = names
        elif members is _INVALID:
            item.broken = True
        return item

    def workflow(self, path: str, values: dict[str, Any]) -> WorkflowDef:
        steps_raw = values.pop("steps")
        item = WorkflowDef(**self._clean(values, WorkflowDef("")), path=path, broken=self._broken(values))
        if steps_raw is _INVALID:
            item.broken = True
            return item
        for step_path, step_values in self.items(steps_raw, _join(path, "steps"), _KEYS_STEP):
            item.steps.append(self.step(step_path, step_values))
        if len(item.steps) != len(steps_raw or []) or any(s.broken for s in item.steps):
            item.broken = True
        return item

    def step(self, path: str, values: dict[str, Any]) -> StepDef:
        options_raw = values.pop("options")
        step = StepDef(**self._clean(values, StepDef(order=0, kind="")), path=path, broken=self._broken(values))
        if options_raw is _INVALID:
            step.broken = True
            options_raw = []
        for option_path, option_values in self.items(options_raw, _join(path, "options"), _KEYS_DECISION_OPTION):
            if self._broken(option_values):
                step.broken = True
            else:
                step.options.append(DecisionOptionDef(**option_values, path=option_path))
        if len(step.options) != len(options_raw):
            step.broken = True
        own = STEP_KEYS.get(step.kind)
        if own is None:
            return step
        # A step carries only what its kind uses.
        misplaced = {
            "cr": _("Only a CR step has a responsibility center."),
            "next_order": _("Only a CR step has a next order."),
            "question": _("Only a decision step has a question."),
            "options": _("Only a decision step has options."),
            "target_workflow": _("Only a jump step has a target workflow."),
            "target_order": _("Only a jump step has a target order."),
        }
        for key, message in misplaced.items():
            value = options_raw if key == "options" else getattr(step, key)
            if key not in own and value not in (None, "", []):
                self.error(_join(path, key), message)
                step.broken = True
        return step

    def cycle(self, path: str, values: dict[str, Any]) -> CycleDef:
        questions_raw = values.pop("questions")
        item = CycleDef(**self._clean(values, CycleDef("")), path=path, broken=self._broken(values))
        if questions_raw is _INVALID:
            item.broken = True
            return item
        for question_path, question_values in self.items(questions_raw, _join(path, "questions"), _KEYS_QUESTION):
            item.questions.append(self.question(question_path, question_values))
        if len(item.questions) != len(questions_raw or []):
            item.broken = True
        return item

    def question(self, path: str, values: dict[str, Any]) -> QuestionDef:
        options_raw = values.pop("options")
        question = QuestionDef(**self._clean(values, QuestionDef("")), path=path, broken=self._broken(values))
        if options_raw is _INVALID:
            question.broken = True
            options_raw = []
        for option_path, option_values in self.items(options_raw, _join(path, "options"), _KEYS_OPTION):
            if self._broken(option_values):
                question.broken = True
            else:
                question.options.append(OptionDef(**option_values, path=option_path))
        if len(question.options) != len(options_raw):
            question.broken = True
        if values["answer_type"] is _INVALID:
            return question
        # The question's own shape here; its options' labels and states once the keys and saved rows are known.
        shape = {QuestionRule.LIMITS_TYPE, QuestionRule.LIMITS_ORDER, QuestionRule.OPTIONS_TYPE}
        for problem in check_question(question.spec()):
            if problem.rule in shape:
                self.error(_join(path, problem.field), problem.message)
                question.broken = True
        return question

    def service_type(self, path: str, values: dict[str, Any]) -> TypeDef:
        return TypeDef(**self._clean(values, TypeDef("")), path=path, broken=self._broken(values))


# ---- planning: match, compare, check the result whole ---------------------------------------------


@dataclasses.dataclass
class _Op:
    """One row to create or change when the plan is applied."""

    item: PlanItem
    model: type[models.Model]
    obj: Any  # the saved row; None until created
    values: dict[str, Any]  # the file's values; references by code, the owner by its _Op
    owner: _Op | None = None
    members: list[str] | None = None


def _diff(saved: dict[str, Any], wanted: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [_plain(saved.get(k)), _plain(v)] for k, v in wanted.items() if saved.get(k) != v}


def _first_number(message: str) -> int | None:
    """The step order a rule's message begins with ("Step 15: …"), to place the message in the file.

    The rules (validation.check_workflow) name the step in their text; a message without
    a number of the file's steps stays on the workflow's path.
    """
    match = re.search(r"(?<![\w.])\d+(?![\w.])", message)
    return int(match.group()) if match else None


def _positions(saved: list[Any], matched: list[Any | None]) -> list[int]:
    """The position each of the file's options gets: its place in the file.

    Saved positions are left as they are (even all 0, as the admin may leave them)
    while the file lists the saved options in their saved order and adds none;
    otherwise the file's order is written: 1, 2, 3…
    """
    rank = {row.pk: index for index, row in enumerate(saved, start=1)}
    rewrite = any(row is None or rank[row.pk] != index for index, row in enumerate(matched, start=1))
    return [index if rewrite or row is None else row.position for index, row in enumerate(matched, start=1)]


class _Importer:
    def __init__(self, data: Any, *, lock: bool = False) -> None:
        self.reader = _Reader()
        self.file = self.reader.bundle(data)
        self.saved = _Saved(lock=lock)
        self.errors = self.reader.errors
        self.items: list[PlanItem] = []
        self.ops: dict[type[models.Model], list[_Op]] = {}

    def plan(self) -> Plan:
        if self.file is not None:
            self._check_keys()
            self._check_references()
            self._match()
            self._check_rules()
        return Plan(items=self.items, errors=self.errors)

    def error(self, path: str, message: str) -> None:
        self.errors.append(Problem(path, message))

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

    # -- keys and references -------------------------------------------------------------------

    def _check_keys(self) -> None:
        assert self.file is not None

        def unique(items: Iterable[Any], key: Callable[[Any], Any], field: str, message: str) -> None:
            seen: set[Any] = set()
            for item in items:
                value = key(item)
                if value in seen:
                    self.error(_join(item.path, field), message % {"value": value})
                    item.broken = True
                seen.add(value)

        unique(self.file.crs, lambda c: c.code, "code", _("Another CR of the file has the code “%(value)s”."))
        unique(
            self.file.workflows, lambda w: w.code, "code", _("Another workflow of the file has the code “%(value)s”.")
        )
        unique(self.file.cycles, lambda c: c.code, "code", _("Another cycle of the file has the code “%(value)s”."))
        unique(
            self.file.types, lambda t: t.code, "code", _("Another service type of the file has the code “%(value)s”.")
        )
        for workflow in self.file.workflows:
            unique(
                workflow.steps, lambda s: s.order, "order", _("Another step of this workflow has the order %(value)s.")
            )
            if any(s.broken for s in workflow.steps):
                workflow.broken = True
        for cycle in self.file.cycles:
            unique(
                cycle.questions, lambda q: q.code, "code", _("Another question of this cycle has the code “%(value)s”.")
            )
            for question in cycle.questions:
                for problem in check_question(question.spec()):
                    if problem.rule == QuestionRule.REPEATED_LABEL and problem.option is not None:
                        self.error(_join(question.options[problem.option].path, "label"), problem.message)
                        question.broken = True
            if any(q.broken for q in cycle.questions):
                cycle.broken = True

    def _check_references(self) -> None:
        assert self.file is not None
        crs = {c.code for c in self.file.crs} | set(self.saved.crs)
        cycles = {c.code for c in self.file.cycles} | set(self.saved.cycles)

        def no_cr(code: str) -> str:
            return _("There is no CR “%(code)s”, in the file or saved.") % {"code": code}

        for workflow in self.file.workflows:
            for step in workflow.steps:
                if step.kind == Kind.CR and step.cr and step.cr not in crs:
                    self.error(_join(step.path, "cr"), no_cr(step.cr))
                    step.broken = workflow.broken = True
        for cycle in self.file.cycles:
            for question in cycle.questions:
                if question.cr and question.cr not in crs:
                    self.error(_join(question.path, "cr"), no_cr(question.cr))
                    question.broken = cycle.broken = True
        for service_type in self.file.types:
            if service_type.cycle and service_type.cycle not in cycles:
                self.error(
                    _join(service_type.path, "cycle"),
                    _("There is no cycle “%(code)s”, in the file or saved.") % {"code": service_type.cycle},
                )
                service_type.broken = True
        wanted = {name for c in self.file.crs for name in (c.members or [])}
        if wanted:
            found = set(get_user_model().objects.filter(username__in=wanted).values_list("username", flat=True))
            for cr in self.file.crs:
                for index, name in enumerate(cr.members or []):
                    if name not in found:
                        self.error(
                            _join(_join(cr.path, "members"), index),
                            _("There is no user “%(username)s” here.") % {"username": name},
                        )
                        cr.broken = True

    # -- matching and comparing ----------------------------------------------------------------

    def _match(self) -> None:
        assert self.file is not None
        saved = self.saved
        for cr in self.file.crs:
            self._match_cr(cr)
        crs_in_file = {c.code for c in self.file.crs}
        for cr_row in saved.crs.values():
            if cr_row.code not in crs_in_file:
                name = _cr_name(cr_row.code, cr_row.description)
                self._kept("responsibility_center", name, name, 0)
        for workflow in self.file.workflows:
            self._match_workflow(workflow)
        workflows_in_file = {w.code for w in self.file.workflows}
        for code in saved.workflows:
            if code not in workflows_in_file:
                name = _("workflow %(code)s") % {"code": code}
                self._kept("workflow", name, name, 0)
        for cycle in self.file.cycles:
            self._match_cycle(cycle)
        cycles_in_file = {c.code for c in self.file.cycles}
        for code in saved.cycles:
            if code not in cycles_in_file:
                name = _("cycle %(code)s") % {"code": code}
                self._kept("cycle", name, name, 0)
        self.synthetic_after = self._synthetic_after()
        for service_type in self.file.types:
            self._match_type(service_type)
        types_in_file = {t.code for t in self.file.types}
        for type_row in saved.types.values():
            if type_row.code not in types_in_file:
                self._match_saved_type(type_row)

    def _match_cr(self, cr: CrDef) -> None:
        if cr.broken:
            return
        row = self.saved.crs.get(cr.code)
        wanted = cr.values()
        saved = (
            {"description": row.description, "closes_process": row.closes_process, "active": row.active} if row else {}
        )
        changes = _diff(saved, wanted)
        if cr.members is not None:
            before = self.saved.members(cr.code) if row else []
            if sorted(set(cr.members)) != before:
                changes["members"] = [before, sorted(set(cr.members))]
        name = _cr_name(cr.code, cr.description)
        item = PlanItem("responsibility_center", name, name, 0, cr.path, self._status(row, changes), changes)
        self._add(item, _Op(item, ResponsibilityCenter, row, {"code": cr.code, **wanted}, members=cr.members))

    def _match_workflow(self, workflow: WorkflowDef) -> None:
        if workflow.broken:
            return
        row = self.saved.workflows.get(workflow.code)
        wanted = workflow.values()
        changes = _diff({"description": row.description, "active": row.active} if row else {}, wanted)
        name = _("workflow %(code)s") % {"code": workflow.code}
        item = PlanItem("workflow", name, name, 0, workflow.path, self._status(row, changes), changes)
        op = _Op(item, Workflow, row, {"code": workflow.code, **wanted})
        self._add(item, op)
        saved_steps = self.saved.steps.get(workflow.code, {})
        for step in workflow.steps:
            self._match_step(step, saved_steps.get(step.order), op)
        in_file = {s.order for s in workflow.steps}
        for order in sorted(set(saved_steps) - in_file):
            label = _("step %(order)s") % {"order": order}
            self._kept("step", f"{name} / {label}", label, 1)

    def _match_step(self, step: StepDef, row: WorkflowStep | None, owner: _Op) -> None:
        label = _("step %(order)s") % {"order": step.order}
        name = f"{owner.item.name} / {label}"
        if row is None:
            changes = _diff({}, step.values(every=True))
        elif row.kind == step.kind:
            changes = _diff(_step_def(row).values(), step.values())
        else:
            # A new kind: the fields of the old one are emptied.
            changes = _diff(_raw_step_values(row), step.values(every=True))
            if _step_used(row):
                self.error(
                    _join(step.path, "kind"),
                    _(
                        "Step %(order)s of workflow “%(workflow)s” has been used by tickets: its kind cannot "
                        "change from “%(old)s” to “%(new)s”. Add a new step instead."
                    )
                    % {"order": step.order, "workflow": owner.values["code"], "old": row.kind, "new": step.kind},
                )
        item = PlanItem("step", name, label, 1, step.path, self._status(row, changes), changes)
        op = _Op(item, WorkflowStep, row, {"order": step.order, **step.values(every=True)}, owner=owner)
        self._add(item, op)
        if step.kind != Kind.DECISION:
            return
        # The saved options of a saved decision are matched as the admin matches them.
        existing = list(row.options.all()) if row is not None and row.kind == Kind.DECISION else []
        matched = plan_options(existing, [(o.label, o.target_order) for o in step.options])
        step.kept_options = [(o.label, o.target_order) for o in matched.remove]
        rows = [option_row for option_row, _label, _target in matched.keep]
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
        for option_row in matched.remove:
            text = _("option “%(label)s”") % {"label": option_row.label}
            self._kept("decision_option", f"{name} / {text}", text, 2)

    def _match_cycle(self, cycle: CycleDef) -> None:
        if cycle.broken:
            return
        row = self.saved.cycles.get(cycle.code)
        wanted = cycle.values()
        changes = _diff({"description": row.description, "active": row.active} if row else {}, wanted)
        name = _("cycle %(code)s") % {"code": cycle.code}
        item = PlanItem("cycle", name, name, 0, cycle.path, self._status(row, changes), changes)
        op = _Op(item, ServiceCycle, row, {"code": cycle.code, **wanted})
        self._add(item, op)
        saved_questions = self.saved.questions.get(cycle.code, {})
        for question in cycle.questions:
            self._match_question(question, saved_questions.get(question.code), op)
        in_file = {q.code for q in cycle.questions}
        for code in sorted(set(saved_questions) - in_file, key=sort_key):
            label = _("question %(code)s") % {"code": code}
            self._kept("question", f"{name} / {label}", label, 1)

    def _match_question(self, question: QuestionDef, row: Question | None, owner: _Op) -> None:
        label = _("question %(code)s") % {"code": question.code}
        name = f"{owner.item.name} / {label}"
        if row is None:
            changes = _diff({}, question.values(every=True))
        elif row.answer_type == question.answer_type:
            changes = _diff(_question_def(row).values(), question.values())
        else:
            saved = {**_question_def(row).values(), "min_value": row.min_value, "max_value": row.max_value}
            changes = _diff(saved, question.values(every=True))
            if row.answers.exists():
                self.error(
                    _join(question.path, "answer_type"),
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
        item = PlanItem("question", name, label, 1, question.path, self._status(row, changes), changes)
        op = _Op(item, Question, row, {"code": question.code, **question.values(every=True)}, owner=owner)
        self._add(item, op)
        if not question.is_choice:
            return
        existing = list(row.options.all()) if row is not None else []
        by_label = {o.label.strip().casefold(): o for o in reversed(existing)}
        rows = [by_label.pop(o.label.strip().casefold(), None) for o in question.options]
        question.kept_options = [o for o in existing if o.label.strip().casefold() in by_label]
        for option, option_row, position in zip(question.options, rows, _positions(existing, rows), strict=True):
            wanted = {"position": position, **option.to_dict()}
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
        for option_row in question.kept_options:
            text = _("option “%(label)s”") % {"label": option_row.label}
            self._kept("option", f"{name} / {text}", text, 2)

    # Service types: a type's group (parent) follows from the synthetic types the import leaves.

    def _synthetic_after(self) -> set[str]:
        assert self.file is not None
        kinds = {code: row.kind for code, row in self.saved.types.items()}
        kinds.update({t.code: t.kind for t in self.file.types if not t.broken})
        return {code for code, kind in kinds.items() if kind == ServiceType.Kind.SYNTHETIC}

    def _group_change(self, code: str, row: ServiceType) -> list[str | None] | None:
        candidates = [s for s in self.synthetic_after if s != code and is_under(s, code)]
        group = max(candidates, key=lambda s: len(s.split(".")), default=None)
        saved = _code(row.parent)
        return None if group == saved else [saved, group]

    def _match_type(self, service_type: TypeDef) -> None:
        if service_type.broken:
            return
        row = self.saved.types.get(service_type.code)
        wanted = service_type.values()
        changes = _diff(_type_def(row).values() if row else {}, wanted)
        if row is not None:
            group = self._group_change(service_type.code, row)
            if group is not None:
                changes["group"] = group
            if row.kind != service_type.kind:
                self._check_type_kind(service_type, row)
        name = _type_name(service_type.code, service_type.description)
        item = PlanItem("service_type", name, name, 0, service_type.path, self._status(row, changes), changes)
        self._add(item, _Op(item, ServiceType, row, {"code": service_type.code, **wanted}))

    def _match_saved_type(self, row: ServiceType) -> None:
        """A saved type the file does not mention: kept, but its group follows the file's groups."""
        name = _type_name(row.code, row.description)
        group = self._group_change(row.code, row)
        if group is None:
            self._kept("service_type", name, name, 0)
            return
        item = PlanItem("service_type", name, name, 0, "", Status.CHANGED, {"group": group})
        self._add(item, _Op(item, ServiceType, row, {}))

    def _check_type_kind(self, service_type: TypeDef, row: ServiceType) -> None:
        from ciclo.tickets.models import Ticket

        path = _join(service_type.path, "kind")
        names = {"code": row.code, "old": row.kind, "new": service_type.kind}
        if Ticket.objects.filter(service_type=row).exists():
            self.error(
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
                path,
                _("Service type %(code)s is a collection type of the CRM options: its kind cannot change.") % names,
            )

    # -- the configurator's rules, on the configuration the import would leave ------------------

    def _check_rules(self) -> None:
        assert self.file is not None
        saved = self.saved
        file_crs = {c.code: c for c in self.file.crs}

        def closes_after(code: str | None) -> bool:
            if code in file_crs:
                return file_crs[code].closes_process
            row = saved.crs.get(code or "")
            return bool(row and row.closes_process)

        def closes_before(code: str | None) -> bool:
            row = saved.crs.get(code or "")
            return bool(row and row.closes_process)

        def saved_step(row: WorkflowStep, closes: Callable[[str | None], bool]) -> StepSpec:
            return dataclasses.replace(step_spec(row), closes=closes(_code(row.cr)))

        # The workflows after the import: the file's steps over the saved ones.
        after: dict[str, WorkflowSpec] = {}
        for workflow in self.file.workflows:
            steps: list[StepSpec] = []
            for step in workflow.steps:
                spec = step.spec(closes_after)
                if step.kept_options and spec.kind == Kind.DECISION:
                    spec = dataclasses.replace(spec, options=(*spec.options, *step.kept_options))
                steps.append(spec)
            orders_in_file = {s.order for s in workflow.steps}
            steps += [
                saved_step(r, closes_after)
                for o, r in saved.steps.get(workflow.code, {}).items()
                if o not in orders_in_file
            ]
            after[workflow.code] = WorkflowSpec(code=workflow.code, steps=steps)
        for code in saved.workflows:
            if code not in after:
                after[code] = WorkflowSpec(code, [saved_step(r, closes_after) for r in saved.steps[code].values()])
        before = {
            code: WorkflowSpec(code, [saved_step(r, closes_before) for r in steps.values()])
            for code, steps in saved.steps.items()
        }
        lookup_after, lookup_before = after.get, before.get

        file_workflows = {w.code: w for w in self.file.workflows}
        for workflow in self.file.workflows:
            if workflow.broken:
                continue
            paths = {s.order: s.path for s in workflow.steps}
            for message in check_workflow(after[workflow.code], lookup_after):
                order = _first_number(message)
                self.error(paths.get(order, workflow.path) if order is not None else workflow.path, message)
        for code in saved.workflows:
            if code in file_workflows:
                continue
            was = set(check_workflow(before[code], lookup_before))
            for message in check_workflow(after[code], lookup_after):
                if message not in was:
                    self.error(
                        "",
                        _("Saved workflow “%(workflow)s”, not in the file, would break: %(error)s")
                        % {"workflow": code, "error": message},
                    )

        # Choice questions, with the options the import would leave.
        for cycle in self.file.cycles:
            for question in cycle.questions:
                if question.broken:
                    continue
                for problem in check_question(question.spec()):
                    if problem.rule in {QuestionRule.NO_ACTIVE_OPTION, QuestionRule.MANY_DEFAULTS}:
                        self.error(_join(question.path, problem.field), problem.message)

        # Service types, with the cycles' CRs the import would leave.
        file_cycles = {c.code: c for c in self.file.cycles}

        def cycle_crs_before(code: str | None) -> frozenset[str]:
            return frozenset(q.cr.code for q in saved.questions.get(code or "", {}).values() if q.active)

        def cycle_crs_after(code: str | None) -> frozenset[str]:
            cycle = file_cycles.get(code or "")
            if cycle is None:
                return cycle_crs_before(code)
            codes_in_file = {q.code for q in cycle.questions}
            kept = {
                q.cr.code for c, q in saved.questions.get(cycle.code, {}).items() if q.active and c not in codes_in_file
            }
            return frozenset({q.cr for q in cycle.questions if q.active} | kept)

        synthetic_before = {c for c, t in saved.types.items() if t.kind == ServiceType.Kind.SYNTHETIC}
        broken = {w.code for w in self.file.workflows if w.broken} | {c.code for c in self.file.cycles if c.broken}
        for service_type in self.file.types:
            if service_type.broken or {service_type.workflow, service_type.cycle} & broken:
                continue
            type_spec = TypeSpec(
                service_type.code, service_type.kind, service_type.workflow, cycle_crs_after(service_type.cycle)
            )
            for message in check_service_type(type_spec, self.synthetic_after - {service_type.code}, lookup_after):
                self.error(service_type.path, message)
        types_in_file = {t.code for t in self.file.types}
        for code, type_row in saved.types.items():
            workflow_code, cycle_code = _code(type_row.workflow), _code(type_row.cycle)
            if code in types_in_file or {workflow_code, cycle_code} & broken:
                continue
            type_errors_before = check_service_type(
                TypeSpec(code, type_row.kind, workflow_code, cycle_crs_before(cycle_code)),
                synthetic_before - {code},
                lookup_before,
            )
            now = check_service_type(
                TypeSpec(code, type_row.kind, workflow_code, cycle_crs_after(cycle_code)),
                self.synthetic_after - {code},
                lookup_after,
            )
            for message in now:
                if message not in type_errors_before:
                    self.error(
                        "",
                        _("Saved service type %(code)s, not in the file, would break: %(error)s")
                        % {"code": code, "error": message},
                    )

    # -- applying ------------------------------------------------------------------------------

    def apply(self, by: Any) -> None:
        crs = dict(self.saved.crs)
        workflows = dict(self.saved.workflows)
        cycles = dict(self.saved.cycles)
        for op in self.ops.get(ResponsibilityCenter, []):
            cr, change = _save(op, by, op.values)
            crs[cr.code] = cr
            if "members" in op.item.changes:
                _set_members(cr, op, change, by)
        for op in self.ops.get(Workflow, []):
            workflow, _change = _save(op, by, op.values)
            workflows[workflow.code] = workflow
        for op in self.ops.get(WorkflowStep, []):
            assert op.owner is not None
            values = {
                **op.values,
                "workflow": op.owner.obj,
                "cr": crs[op.values["cr"]] if op.values["cr"] else None,
                "target_workflow": workflows[op.values["target_workflow"]] if op.values["target_workflow"] else None,
            }
            _save(op, by, values)
        for op in self.ops.get(DecisionOption, []):
            assert op.owner is not None
            _save(op, by, {**op.values, "step": op.owner.obj})
        for op in self.ops.get(ServiceCycle, []):
            cycle, _change = _save(op, by, op.values)
            cycles[cycle.code] = cycle
        for op in self.ops.get(Question, []):
            assert op.owner is not None
            _save(op, by, {**op.values, "cycle": op.owner.obj, "cr": crs[op.values["cr"]]})
        for op in self.ops.get(Option, []):
            assert op.owner is not None
            _save(op, by, {**op.values, "question": op.owner.obj})
        # Groups first: a type finds its group among the saved types when it is saved.
        for op in sorted(self.ops.get(ServiceType, []), key=lambda o: sort_key(o.values.get("code") or o.obj.code)):
            values = dict(op.values)
            if values:
                values["workflow"] = workflows[values["workflow"]] if values["workflow"] else None
                values["cycle"] = cycles[values["cycle"]] if values["cycle"] else None
            _save(op, by, values)


def _cr_name(code: str, description: str) -> str:
    return _("CR %(code)s “%(description)s”") % {"code": code, "description": description}


def _type_name(code: str, description: str) -> str:
    return _("service type %(code)s “%(description)s”") % {"code": code, "description": description}


def _raw_step_values(row: WorkflowStep) -> dict[str, Any]:
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
    """Tickets stand at the step, or moved through it: its history depends on its kind."""
    from ciclo.tickets.models import MoveDecision, PhaseMove, Ticket

    return (
        Ticket.objects.filter(step=row).exists()
        or PhaseMove.objects.filter(models.Q(from_step=row) | models.Q(to_step=row)).exists()
        or MoveDecision.objects.filter(step=row).exists()
    )


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
    before = snapshot(op.obj)
    for name in fields:
        setattr(op.obj, name, values[name])
    op.obj.save(update_fields=fields)  # a service type adds its group (parent) itself
    action = Change.Action.CHANGED
    if before.get("active") is True and getattr(op.obj, "active", None) is False:
        action = Change.Action.DEACTIVATED
    return op.obj, record_change(op.obj, by=by, action=action, before=before)


def _set_members(cr: ResponsibilityCenter, op: _Op, change: Change | None, by: Any) -> None:
    cr.members.set(get_user_model().objects.filter(username__in=op.members or []))
    # A snapshot holds no many-to-many field: the members join the CR's history row, or get one.
    if change is None:
        change = record_change(cr, by=by, action=Change.Action.CHANGED)
    if change is not None:
        change.changes["members"] = op.item.changes["members"]
        change.save(update_fields=["changes"])


# ---- the operations -----------------------------------------------------------------------------


def plan_import(data: Any) -> Plan:
    """What importing `data` (a parsed bundle) would do, and every error that stops it. Writes nothing."""
    return _Importer(data).plan()


def apply_import(data: Any, by: Any) -> Plan:
    """Import `data` in one transaction, recording each change as `by`; refused whole when invalid.

    Raises DefinitionsInvalid (nothing written) when the bundle has any error.
    """
    try:
        with transaction.atomic():
            importer = _Importer(data, lock=True)
            plan = importer.plan()
            if not plan.is_valid:
                raise DefinitionsInvalid(plan)
            importer.apply(by)
    except IntegrityError:
        # Someone saved a row with one of the file's codes between reading and writing.
        raise DefinitionsInvalid(
            Plan(
                items=[],
                errors=[
                    Problem("", _("The configuration was changed while importing; nothing was imported. Try again."))
                ],
            )
        ) from None
    plan.applied = True
    return plan

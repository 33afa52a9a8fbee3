"""The configuration's shape, written once: each item as a definitions bundle holds it.

A CR, a workflow with its steps and decision options, a cycle with its questions and
options, a service type. The import reads a file into these items, the export writes
them, the API's configuration endpoints take them as their request bodies, and
`configurator.changes` saves them, checking every rule. Items refer to each other by
code (a CR's, question's or type's classification, a workflow's or cycle's code), never
by database id; an option may carry its id (the API's way to keep an option while
renaming it), which a file never does.

Besides its fields, an item remembers where it came from (`path`: where it is in the
file or the request, for the messages) and whether its own values were refused
(`broken`: its rules are then not run on a guess). Neither is part of its shape.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ciclo.configurator.models import AnswerType, ServiceType, WorkflowStep
from ciclo.fields import (
    BodyId,
    BodySmallInt,
    Code,
    Day,
    Flag,
    Limit,
    Percent,
    Priority,
    StepOrder,
    Username,
    _named,
    bounded,
)

if TYPE_CHECKING:
    StepKind = WorkflowStep.Kind
    AnswerTypeName = AnswerType
    ServiceTypeKind = ServiceType.Kind
    ServiceTypeCategory = ServiceType.Category
else:
    StepKind = _named("StepKind", WorkflowStep.Kind, "A workflow step's kind: a CR, a decision or a jump.")
    AnswerTypeName = _named("AnswerType", AnswerType, "A question's answer type: what its value is.")
    ServiceTypeKind = _named(
        "ServiceTypeKind", ServiceType.Kind, "Synthetic (a group) or analytical (used on tickets)."
    )
    ServiceTypeCategory = _named("ServiceTypeCategory", ServiceType.Category, "What a service type is for.")

Kind = WorkflowStep.Kind
# What a step of each kind carries besides order, kind and active.
STEP_KEYS: dict[str, tuple[str, ...]] = {
    Kind.CR.value: ("cr", "next_order"),
    Kind.DECISION.value: ("question", "options"),
    Kind.WORKFLOW.value: ("target_workflow", "target_order"),
}
NUMERIC_TYPES = frozenset({AnswerType.NUMBER.value, AnswerType.MONEY.value})


class Item(BaseModel):
    """One item of the configuration. Unknown fields are refused; it is never read from attributes."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    _path: str = PrivateAttr("")
    _broken: bool = PrivateAttr(False)
    _row: int | None = PrivateAttr(None)  # the saved row this item changes (its primary key)
    _new: bool = PrivateAttr(False)  # the item must be new: refused when its code is taken

    @property
    def path(self) -> str:
        return self._path

    @path.setter
    def path(self, value: str) -> None:
        self._path = value

    @property
    def broken(self) -> bool:
        return self._broken

    @broken.setter
    def broken(self, value: bool) -> None:
        self._broken = value

    def dict(self, **kw: Any) -> dict[str, Any]:  # type: ignore[override]
        return self.model_dump(**kw)


class CrItem(Item):
    code: Code = Field(description="The CR's classification.")
    description: bounded(200, 1)  # type: ignore[valid-type]
    closes_process: Flag = False
    active: Flag = True
    default_success: Percent | None = Field(
        default=None, description="The success % a sales ticket takes on entering this phase; null: none."
    )
    stale_after_days: BodySmallInt | None = Field(
        default=None, description="Business days in this phase after which a sales ticket is stale; null: never."
    )
    members: list[Username] | None = Field(
        default=None,
        max_length=1000,
        description="Usernames; empty: any agent works this CR. Omitted: the members are left as they are.",
    )

    def values(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "closes_process": self.closes_process,
            "active": self.active,
            "default_success": self.default_success,
            "stale_after_days": self.stale_after_days,
        }


class DecisionOptionItem(Item):
    id: BodyId | None = Field(
        default=None, description="Keep this saved option (renaming it); else matched by label, then by position."
    )
    label: bounded(200, 1)  # type: ignore[valid-type]
    target_order: StepOrder = Field(description="The order of the step it leads to.")


class StepItem(Item):
    order: StepOrder
    kind: StepKind = StepKind.CR
    cr: Code | None = Field(default=None, description="The CR's classification (kind cr).")
    next_order: StepOrder | None = None
    question: bounded(300) = ""  # type: ignore[valid-type]
    options: list[DecisionOptionItem] = Field(default_factory=list, max_length=100)
    target_workflow: Code | None = Field(default=None, description="The target workflow's code (kind workflow).")
    target_order: StepOrder | None = None
    active: Flag = True

    def own(self) -> tuple[str, ...]:
        return STEP_KEYS.get(self.kind, ())

    def values(self, *, every: bool = False) -> dict[str, Any]:
        """kind, active and the fields of its kind (all fields with `every`: what a new row gets)."""
        fields = ("cr", "next_order", "question", "target_workflow", "target_order")
        own = self.own()
        chosen = fields if every else [f for f in fields if f in own]
        blank: dict[str, Any] = {"question": ""}
        return {
            "kind": self.kind,
            "active": self.active,
            **{f: (getattr(self, f) if f in own else blank.get(f)) for f in chosen},
        }


class WorkflowItem(Item):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    active: Flag = True
    steps: list[StepItem] = Field(default_factory=list, max_length=500)

    def values(self) -> dict[str, Any]:
        return {"description": self.description, "active": self.active}


class OptionItem(Item):
    id: BodyId | None = Field(
        default=None, description="Keep this saved option (renaming it); else matched by label, then by position."
    )
    label: bounded(200, 1)  # type: ignore[valid-type]
    checked_by_default: Flag = Field(
        default=False, description="A suggestion to offer pre-selected: it is an answer only once someone saves it."
    )
    asks_complement: Flag = False
    active: Flag = True

    def values(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "checked_by_default": self.checked_by_default,
            "asks_complement": self.asks_complement,
            "active": self.active,
        }


class QuestionItem(Item):
    code: Code = Field(description="The question's classification.")
    cr: Code = Field(description="The classification of the CR the question is asked in.")
    text: bounded(300, 1)  # type: ignore[valid-type]
    help_text: bounded(300) = ""  # type: ignore[valid-type]
    answer_type: AnswerTypeName
    required: Flag = False
    min_value: Limit | None = None
    max_value: Limit | None = None
    active: Flag = True
    options: list[OptionItem] = Field(default_factory=list, max_length=200)

    @property
    def is_choice(self) -> bool:
        return self.answer_type in AnswerType.choice_types()

    def values(self, *, every: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cr": self.cr,
            "text": self.text,
            "help_text": self.help_text,
            "answer_type": self.answer_type,
            "required": self.required,
            "active": self.active,
        }
        numeric = self.answer_type in NUMERIC_TYPES
        if every or numeric:
            data["min_value"] = self.min_value if numeric else None
            data["max_value"] = self.max_value if numeric else None
        return data


class CycleItem(Item):
    code: Code
    description: bounded(200, 1)  # type: ignore[valid-type]
    active: Flag = True
    questions: list[QuestionItem] = Field(default_factory=list, max_length=1000)

    def values(self) -> dict[str, Any]:
        return {"description": self.description, "active": self.active}


class ServiceTypeItem(Item):
    code: Code = Field(description="The type's classification (1, 1.1, …).")
    description: bounded(200, 1)  # type: ignore[valid-type]
    kind: ServiceTypeKind = ServiceTypeKind.ANALYTICAL
    category: ServiceTypeCategory = ServiceTypeCategory.SERVICE
    sales: Flag = Field(
        default=False, description="A sales type: its tickets (and those of the types under it) are sales contacts."
    )
    priority: Priority = 3
    days_to_next_contact: BodySmallInt = 1
    colour: bounded(7) = "#0d6efd"  # type: ignore[valid-type]
    active_from: Day | None = None
    workflow: Code | None = Field(default=None, description="The workflow's code.")
    cycle: Code | None = Field(default=None, description="The service cycle's code.")
    active: Flag = True

    def values(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "kind": self.kind,
            "category": self.category,
            "sales": self.sales,
            "priority": self.priority,
            "days_to_next_contact": self.days_to_next_contact,
            "colour": self.colour,
            "active_from": self.active_from,
            "workflow": self.workflow,
            "cycle": self.cycle,
            "active": self.active,
        }


class AdministrativeStatusItem(Item):
    """An administrative status of receivables (ciclo.collections): a node of its tree."""

    code: Code = Field(description="The status's classification (1, 1.1, …).")
    description: bounded(200, 1)  # type: ignore[valid-type]
    kind: Literal["synthetic", "analytical"] = "analytical"
    enters_collection: Flag = Field(default=True, description="Receivables with this status are collected.")
    active: Flag = True

    def values(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "kind": self.kind,
            "enters_collection": self.enters_collection,
            "active": self.active,
        }


class Bundle(Item):
    """A whole configuration, or the part of it a change is about."""

    responsibility_centers: list[CrItem] = Field(default_factory=list)
    workflows: list[WorkflowItem] = Field(default_factory=list)
    cycles: list[CycleItem] = Field(default_factory=list)
    service_types: list[ServiceTypeItem] = Field(default_factory=list)


def plain(value: Any) -> Any:
    """A value as JSON holds it (in a file, a plan, a history row): decimals as text, dates ISO."""
    from ciclo.fields import decimal_text

    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value

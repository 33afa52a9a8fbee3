"""Admin forms of the Configurator.

A page builds the item it edits (`configurator.items`) from its form and its inline
rows, over the saved item for what the page does not post, and asks
`configurator.changes` — the one home of the configuration's rules — what is wrong
with it. Each problem is shown on the row and field it is about (else above the
rows, or at the top of the form), with its rule as the error's code; the admin then
saves the item through the same module (`configurator/admin.py`).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from ciclo.configurator import changes
from ciclo.configurator.items import (
    CrItem,
    CycleItem,
    DecisionOptionItem,
    Item,
    OptionItem,
    QuestionItem,
    ServiceTypeItem,
    StepItem,
    WorkflowItem,
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
from ciclo.configurator.validation import Problem, Rule

Kind = WorkflowStep.Kind

# The page's form, on the object it shares with the page's inline rows: how they find it.
PAGE_FORM = "_ciclo_page_form"


# Problems on the page


def refusal(problem: Problem) -> ValidationError:
    """A problem as a form error: its message, its rule as the error's code."""
    return ValidationError(problem.message, code=problem.rule.value)


def split_path(path: str) -> list[str | int]:
    """A problem's path as its parts: "steps[2].options[1].label" → ["steps", 2, "options", 1, "label"]."""
    return [int(index) if index else name for index, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)]


def field_of(form: forms.BaseForm, parts: list[str | int]) -> str | None:
    """The form's field a path (relative to the form's item) begins with; None: the form as a whole."""
    name = parts[0] if parts and isinstance(parts[0], str) else None
    return name if name in form.fields else None


def _no_check() -> None:
    pass


# The configuration's check of an item over the saved row it changes (changes.check_cr…).
Check = Callable[[Any, Any], list[Problem]]


class ItemForm(forms.ModelForm):
    """A form that holds a whole item (a CR, a service type): checked by `configurator.changes`
    (`check_with`) once every field is valid on its own; `item` is then what the admin saves."""

    item_class: ClassVar[type[Item]]
    check_with: ClassVar[Check]
    item: Item | None = None

    def saved(self) -> Any:
        """The saved row the form changes; None on an add page."""
        return self.instance if self.instance.pk is not None else None

    def build_item(self) -> Item:
        """The item from the form's fields: a related definition by its code, users by username."""
        opts = self._meta.model._meta  # type: ignore[union-attr]
        values: dict[str, Any] = {}
        for name in self.item_class.model_fields:
            if name not in self.fields:
                continue
            value, field = self.cleaned_data.get(name), opts.get_field(name)
            if field.many_to_many:
                value = sorted(user.get_username() for user in value or ())
            elif field.is_relation:
                value = value.code if value is not None else None
            elif isinstance(field, models.BooleanField):
                value = bool(value)
            values[name] = value
        return self.item_class.model_construct(**values)

    def _post_clean(self) -> None:
        # After the model's own validation: a code another row holds is said once, by it.
        super()._post_clean()  # type: ignore[misc]
        self.item = None
        if self.errors:
            return
        item = self.build_item()
        problems = type(self).check_with(item, self.saved())
        for problem in problems:
            self.add_error(field_of(self, split_path(problem.path)), refusal(problem))
        if not problems:
            self.item = item


class PageForm(forms.ModelForm):
    """The form of a page whose item its inline rows complete (a workflow and its steps…): the
    rows' formset checks the item whole, and finds this form through the object they share."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        setattr(self.instance, PAGE_FORM, self)


class ItemFormSet(BaseInlineFormSet, abc.ABC):
    """The rows of an item's list (a workflow's steps, a cycle's questions, a question's options).

    Once the page's form and every row are valid, clean() builds the item with them and
    checks it whole (`check_with`); `item` is then what the admin saves.
    """

    check_with: ClassVar[Check]
    rows_key = ""  # the item's list these rows are: "steps", "questions", "options"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item: Item | None = None
        self.refused = False
        self.rows_path = ""  # where the rows' owner sits in the item ("questions[3]" on a question's page)

    def deleting(self, form: forms.BaseForm) -> bool:
        return bool(self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]

    def kept_forms(self) -> list[Any]:
        """The rows that will exist after saving: not deleted, and not blank extra rows."""
        return [
            form
            for form in self.forms
            if not self.deleting(form) and not (form.instance._state.adding and not form.has_changed())
        ]

    def add_fields(self, form: forms.BaseForm, index: int | None) -> None:
        super().add_fields(form, index)
        # The admin's inline form refuses a protected deletion on its own, before the item is
        # checked, in words about "protected related objects": the item's rule (in use) says it.
        form.hand_clean_DELETE = _no_check  # type: ignore[attr-defined]

    def page_form(self) -> forms.ModelForm | None:
        """The page's form, when it is valid (else the item is not checked: its errors show first)."""
        form = getattr(self.instance, PAGE_FORM, None)
        return form if form is not None and form.is_valid() else None

    @abc.abstractmethod
    def build(self, page: forms.ModelForm, rows: list[Any]) -> tuple[Item, list[Any]]:
        """The item, and the rows in the order of its list."""

    def saved_item(self) -> Any:
        """The saved row the item changes (the page's object); None on an add page."""
        return self.instance if self.instance.pk is not None else None

    def place(
        self, problem: Problem, page: forms.ModelForm, rows: list[Any]
    ) -> tuple[forms.BaseForm | None, str | None]:
        """The form (a row, or the page's; None: the rows as a whole) and field a problem is about."""
        parts = split_path(problem.path)
        prefix = split_path(self.rows_path)
        if parts[: len(prefix)] != prefix:
            return None, None
        rest = parts[len(prefix) :]
        if len(rest) >= 2 and rest[0] == self.rows_key and isinstance(rest[1], int) and rest[1] < len(rows):
            row = rows[rest[1]]
            return row, field_of(row, rest[2:])
        if rest and rest[0] != self.rows_key and field_of(page, rest):
            return page, field_of(page, rest)
        return None, None

    def clean(self) -> None:
        self.item, self.refused = None, False
        super().clean()
        page = self.page_form()
        if page is None or any(self.errors):
            return
        item, rows = self.build(page, self.kept_forms())
        problems = type(self).check_with(item, self.saved_item())
        outside: list[ValidationError] = []
        for problem in problems:
            form, field = self.place(problem, page, rows)
            if form is None:
                outside.append(refusal(problem))
            else:
                form.add_error(field, refusal(problem))
        self.refused = bool(problems)
        if outside:
            raise ValidationError(outside)
        if not problems:
            self.item = item

    def is_valid(self) -> bool:
        # A problem shown on the page's own form must stop the save as well.
        return super().is_valid() and not self.refused


# Workflow steps and their decision options


def parse_options(text: str) -> list[tuple[str, int]]:
    """ "Label = order" lines into (label, order) pairs; blank lines are skipped."""
    options: list[tuple[str, int]] = []
    errors: list[ValidationError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        label, sep, target = line.rpartition("=")
        label, target = label.strip(), target.strip()
        if not sep or not label or not target.isdigit():
            errors.append(
                ValidationError(
                    _("Line %(line)s, “%(text)s”: write “Label = order”, for example “Yes = 20”."),
                    code="option_line",
                    params={"line": number, "text": line},
                )
            )
        elif len(label) > 200:
            errors.append(
                ValidationError(
                    _("Line %(line)s: an option has at most 200 characters."),
                    code="option_long",
                    params={"line": number},
                )
            )
        else:
            options.append((label, int(target)))
    if errors:
        raise ValidationError(errors)
    return options


def format_options(options: Iterable[tuple[str, int]]) -> str:
    return "\n".join(f"{label} = {target}" for label, target in options)


class WorkflowForm(PageForm):
    class Meta:
        model = Workflow
        fields = ["code", "description", "active"]


class WorkflowStepForm(forms.ModelForm):
    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 22}),
        help_text=_("Decisions only: one option per line, “Label = order”, e.g. “Yes = 20”."),
    )

    class Meta:
        model = WorkflowStep
        fields = [
            "order",
            "kind",
            "cr",
            "next_order",
            "question",
            "options",
            "target_workflow",
            "target_order",
            "active",
        ]
        widgets = {
            "order": forms.NumberInput(attrs={"class": "vIntegerField"}),
            "next_order": forms.NumberInput(attrs={"class": "vIntegerField"}),
            "target_order": forms.NumberInput(attrs={"class": "vIntegerField"}),
            "question": forms.TextInput(attrs={"size": 24}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parsed_options: list[tuple[str, int]] = []
        if self.instance.pk is not None:
            self.initial["options"] = format_options((o.label, o.target_order) for o in self.saved_options())

    def saved_options(self) -> list[DecisionOption]:
        return list(self.instance.options.all()) if self.instance.pk is not None else []

    def clean_options(self) -> str:
        self.parsed_options = parse_options(self.cleaned_data.get("options") or "")
        return format_options(self.parsed_options)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        kind = cleaned.get("kind")
        if kind is None:
            return cleaned
        # A step keeps only what its kind uses (a CR a decision does not use must not block deleting that CR).
        if kind != Kind.DECISION:
            cleaned["question"] = ""
            if self.parsed_options:
                self.add_error(
                    "options",
                    ValidationError(
                        _("Only a decision has options: empty this box or make the step a decision."),
                        code=Rule.STEP_SHAPE.value,
                    ),
                )
        if kind != Kind.CR:
            cleaned["cr"] = None
            cleaned["next_order"] = None
        if kind != Kind.WORKFLOW:
            cleaned["target_workflow"] = None
            cleaned["target_order"] = None
        return cleaned

    def step_item(self, own: Workflow, own_code: str) -> StepItem:
        """The step as the workflow's item holds it; its options keep the ids of the saved ones they are."""
        data = self.cleaned_data
        kind = data["kind"]
        cr, target = data.get("cr"), data.get("target_workflow")
        if target is None:
            target_code = None
        else:
            target_code = own_code if own.pk is not None and target.pk == own.pk else target.code
        lines = self.parsed_options if kind == Kind.DECISION else []
        rows, _left = changes.match_options(self.saved_options(), [(None, label) for label, _target in lines])
        item = StepItem.model_construct(
            order=data["order"],
            kind=kind,
            cr=cr.code if cr is not None else None,
            next_order=data.get("next_order"),
            question=data.get("question") or "",
            options=[
                DecisionOptionItem.model_construct(id=row.pk if row else None, label=label, target_order=order)
                for (label, order), row in zip(lines, rows, strict=True)
            ],
            target_workflow=target_code,
            target_order=data.get("target_order"),
            active=bool(data.get("active")),
        )
        item._row = self.instance.pk
        return item


class WorkflowStepFormSet(ItemFormSet):
    """The steps of one workflow: the workflow is checked as a whole route before anything is saved."""

    rows_key = "steps"
    check_with = staticmethod(changes.check_workflow_item)

    def build(self, page: forms.ModelForm, rows: list[Any]) -> tuple[Item, list[Any]]:
        data = page.cleaned_data
        item = WorkflowItem.model_construct(
            code=data["code"],
            description=data["description"],
            active=bool(data.get("active")),
            steps=[form.step_item(self.instance, data["code"]) for form in rows],
        )
        return item, rows

    def place(
        self, problem: Problem, page: forms.ModelForm, rows: list[Any]
    ) -> tuple[forms.BaseForm | None, str | None]:
        # A problem of the route names its step by order.
        if problem.order is not None:
            row = next((form for form in rows if form.cleaned_data.get("order") == problem.order), None)
            if row is not None:
                return row, field_of(row, split_path(problem.path)[2:])
        return super().place(problem, page, rows)


# Responsibility centers


class ResponsibilityCenterForm(ItemForm):
    class Meta:
        model = ResponsibilityCenter
        fields = ["code", "description", "closes_process", "active", "default_success", "stale_after_days", "members"]

    item_class = CrItem
    check_with = staticmethod(changes.check_cr)


# Service cycles and questions


class CycleForm(PageForm):
    class Meta:
        model = ServiceCycle
        fields = ["code", "description", "active"]


class CycleQuestionForm(forms.ModelForm):
    """A question as the cycle's inline shows it: its help text, limits and options stay as saved."""

    class Meta:
        model = Question
        fields = ["code", "text", "cr", "answer_type", "required", "active"]

    def question_item(self, saved: QuestionItem | None) -> QuestionItem:
        data = self.cleaned_data
        values = {
            "code": data["code"],
            "text": data["text"],
            "cr": data["cr"].code,
            "answer_type": data["answer_type"],
            "required": bool(data.get("required")),
            "active": bool(data.get("active")),
        }
        if saved is not None:
            return saved.model_copy(update=values)
        return QuestionItem.model_construct(**values, help_text="", min_value=None, max_value=None, options=[])


class QuestionInlineFormSet(ItemFormSet):
    """A cycle's questions: the cycle is checked whole with them (and with the types that use it)."""

    rows_key = "questions"
    check_with = staticmethod(changes.check_cycle)

    def build(self, page: forms.ModelForm, rows: list[Any]) -> tuple[Item, list[Any]]:
        data = page.cleaned_data
        values = {"code": data["code"], "description": data["description"], "active": bool(data.get("active"))}
        if self.instance.pk is None:
            return CycleItem.model_construct(**values, questions=[form.question_item(None) for form in rows]), rows
        base = changes.cycle_item(self.instance)
        saved = {question._row: question for question in base.questions}
        questions = [form.question_item(saved.get(form.instance.pk)) for form in rows]
        return base.model_copy(update={**values, "questions": questions}), rows


class QuestionForm(PageForm):
    class Meta:
        model = Question
        fields = [
            "cycle",
            "cr",
            "code",
            "text",
            "help_text",
            "answer_type",
            "required",
            "min_value",
            "max_value",
            "active",
        ]


class OptionForm(forms.ModelForm):
    class Meta:
        model = Option
        fields = ["label", "position", "checked_by_default", "asks_complement", "active"]
        widgets = {"position": forms.NumberInput(attrs={"class": "vIntegerField"})}

    def option_item(self) -> OptionItem:
        data = self.cleaned_data
        return OptionItem.model_construct(
            id=self.instance.pk,
            label=data["label"],
            checked_by_default=bool(data.get("checked_by_default")),
            asks_complement=bool(data.get("asks_complement")),
            active=bool(data.get("active")),
        )


class OptionInlineFormSet(ItemFormSet):
    """A question's options, on the question's page: its cycle is checked with that question replaced."""

    rows_key = "options"
    check_with = staticmethod(changes.check_cycle)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cycle: ServiceCycle | None = None
        self.question_code = ""

    def build(self, page: forms.ModelForm, rows: list[Any]) -> tuple[Item, list[Any]]:
        data = page.cleaned_data
        question = self.instance
        # A question stays in its cycle: the field is offered only on the add page.
        self.cycle = cycle = data.get("cycle") or question.cycle
        base = changes.cycle_item(cycle)
        ordered = [
            form
            for _index, form in sorted(
                enumerate(rows), key=lambda pair: (pair[1].cleaned_data.get("position") or 0, pair[0])
            )
        ]
        values = {
            "code": data["code"],
            "cr": data["cr"].code,
            "text": data["text"],
            "help_text": data.get("help_text") or "",
            "answer_type": data["answer_type"],
            "required": bool(data.get("required")),
            "min_value": data.get("min_value"),
            "max_value": data.get("max_value"),
            "active": bool(data.get("active")),
            "options": [form.option_item() for form in ordered],
        }
        questions = list(base.questions)
        index = next((i for i, q in enumerate(questions) if question.pk is not None and q._row == question.pk), None)
        if index is None:
            questions.append(QuestionItem.model_construct(**values))
            index = len(questions) - 1
        else:
            questions[index] = questions[index].model_copy(update=values)
        self.rows_path = f"questions[{index}]"
        self.question_code = data["code"]
        return base.model_copy(update={"questions": questions}), ordered

    def saved_item(self) -> Any:
        return self.cycle  # the question's page saves its cycle


# Service types


class ServiceTypeForm(ItemForm):
    class Meta:
        model = ServiceType
        fields = [
            "code",
            "description",
            "kind",
            "category",
            "sales",
            "priority",
            "days_to_next_contact",
            "colour",
            "active_from",
            "active",
            "workflow",
            "cycle",
        ]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}

    item_class = ServiceTypeItem
    check_with = staticmethod(changes.check_service_type_item)


# CRM options


class CrmOptionsForm(forms.ModelForm):
    class Meta:
        model = CrmOptions
        fields = list(changes.CRM_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model()._default_manager.order_by("username")
        for name in ("collection_delegate_user", "automatic_note_user"):
            if name in self.fields:
                current = getattr(self.instance, f"{name}_id", None)
                field = self.fields[name]
                field.queryset = users.filter(models.Q(is_active=True) | models.Q(pk=current))  # type: ignore[attr-defined]

    def values(self) -> dict[str, Any]:
        """The options as the form would leave them (what `changes.save_crm_options` takes)."""
        return {name: self.cleaned_data[name] for name in changes.CRM_FIELDS if name in self.cleaned_data}

    def clean(self) -> dict[str, Any]:
        super().clean()
        if not self.errors:
            for problem in changes.check_crm_options(self.values()):
                self.add_error(field_of(self, split_path(problem.path)), refusal(problem))
        return self.cleaned_data

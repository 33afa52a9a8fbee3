"""Admin forms of the Configurator.

Each form checks the rules of what it edits on the posted, still unsaved values
(the same rules, in `validation.py`, that the definitions import and the saved
rows go through), so a bad configuration is refused with messages, never saved.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib.admin.utils import NestedObjects
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, router
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ciclo.configurator.classification import is_under
from ciclo.configurator.models import (
    CrmOptions,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.configurator.specs import cycle_crs, db_lookup, workflow_spec
from ciclo.configurator.validation import (
    OptionSpec,
    QuestionRule,
    QuestionSpec,
    StepSpec,
    WorkflowSpec,
    check_question,
    check_workflow,
    crs_of_workflow,
)

Kind = WorkflowStep.Kind


# In use: what protects an object from deletion


def protected_uses(obj: models.Model) -> list[str]:
    """What keeps obj from being deleted (tickets, answers…), as "kind (count)"; empty when free."""
    collector = NestedObjects(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    counts = Counter(str(p._meta.verbose_name_plural) for p in collector.protected)
    return [f"{name} ({count})" for name, count in sorted(counts.items())]


class ProtectedInlineFormSet(BaseInlineFormSet):
    """An inline formset that refuses to delete what is in use, and checks its rows as a whole."""

    def deleting(self, form: forms.BaseForm) -> bool:
        return bool(self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]

    def kept_forms(self) -> list[forms.ModelForm]:
        """The rows that will exist after saving: not deleted, and not blank extra rows."""
        return [
            form
            for form in self.forms
            if not self.deleting(form) and not (form.instance._state.adding and not form.has_changed())
        ]

    def deleted_forms_in_use(self) -> list[str]:
        errors: list[str] = []
        if not self.can_delete:
            return errors
        for form in self.forms:
            if self.deleting(form) and form.instance.pk is not None:
                uses = protected_uses(form.instance)
                if uses:
                    errors.append(self.in_use_message(form, uses))
        return errors

    def in_use_message(self, form: forms.ModelForm, uses: list[str]) -> str:
        obj = form.instance
        name = type(obj)._default_manager.filter(pk=obj.pk).first() or obj
        if any(f.name == "active" for f in obj._meta.concrete_fields):
            text = gettext("“%(object)s” is in use and cannot be deleted (%(uses)s): deactivate it instead.")
        else:
            text = gettext("“%(object)s” is in use and cannot be deleted (%(uses)s).")
        return text % {"object": name, "uses": ", ".join(uses)}

    def rule_errors(self) -> list[str]:
        """The whole set's rules; runs only when every row is valid on its own."""
        return []

    def clean(self) -> None:
        # Before the model formset's own checks: they would refuse the deletion too,
        # with a message about "protected related objects" a user cannot act on.
        in_use = self.deleted_forms_in_use()
        if in_use:
            raise ValidationError(in_use)
        super().clean()
        if not any(self.errors):
            errors = self.rule_errors()
            if errors:
                raise ValidationError(errors)


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


@dataclasses.dataclass
class OptionPlan:
    """How the posted option lines map onto a step's saved options."""

    keep: list[tuple[DecisionOption | None, str, int]]  # in order; None: a new option
    remove: list[DecisionOption]


def plan_options(existing: list[DecisionOption], wanted: list[tuple[str, int]]) -> OptionPlan:
    """Match lines to saved options: same text first, then by position; the rest are new or removed.

    Matching by text first keeps an option's row (and the tickets' decisions that
    point to it) when lines are only reordered or one above it is removed.
    """
    unmatched = list(existing)
    slots: list[DecisionOption | None] = [None] * len(wanted)
    for index, (label, _target) in enumerate(wanted):
        for option in unmatched:
            if option.label.strip().casefold() == label.casefold():
                slots[index] = option
                unmatched.remove(option)
                break
    for index in range(len(wanted)):
        if slots[index] is None and unmatched:
            slots[index] = unmatched.pop(0)
    keep = [(slots[i], label, target) for i, (label, target) in enumerate(wanted)]
    return OptionPlan(keep=keep, remove=unmatched)


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
        self.option_plan: OptionPlan | None = None
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
                self.add_error("options", _("Only a decision has options: empty this box or make the step a decision."))
        if kind != Kind.CR:
            cleaned["cr"] = None
            cleaned["next_order"] = None
        if kind != Kind.WORKFLOW:
            cleaned["target_workflow"] = None
            cleaned["target_order"] = None
        if "options" in self.errors:
            return cleaned
        wanted = self.parsed_options if kind == Kind.DECISION else []
        plan = plan_options(self.saved_options(), wanted)
        if plan.remove:
            from ciclo.tickets.models import MoveDecision

            used_ids = set(
                MoveDecision.objects.filter(option__in=plan.remove).values_list("option_id", flat=True).distinct()
            )
            used = [o.label for o in plan.remove if o.pk in used_ids]
            if used:
                self.add_error(
                    "options",
                    ValidationError(
                        _(
                            "Option “%(options)s” was chosen on tickets and cannot be removed: keep its line "
                            "(you may change the order it goes to)."
                        ),
                        code="option_in_use",
                        params={"options": "”, “".join(used)},
                    ),
                )
                return cleaned
        self.option_plan = plan
        return cleaned

    def save(self, commit: bool = True) -> WorkflowStep:
        step = super().save(commit=commit)
        if commit:
            self.save_options()
        else:
            save_m2m = self.save_m2m

            def save_m2m_and_options() -> None:
                save_m2m()
                self.save_options()

            self.save_m2m = save_m2m_and_options  # type: ignore[method-assign]
        return step

    def save_options(self) -> None:
        plan = self.option_plan
        if plan is None:
            return
        if plan.remove:
            DecisionOption.objects.filter(pk__in=[o.pk for o in plan.remove]).delete()
        for position, (option, label, target) in enumerate(plan.keep, start=1):
            if option is None:
                DecisionOption.objects.create(step=self.instance, label=label, target_order=target, position=position)
            elif (option.label, option.target_order, option.position) != (label, target, position):
                option.label, option.target_order, option.position = label, target, position
                option.save(update_fields=["label", "target_order", "position"])
        self.option_plan = None


class WorkflowStepFormSet(ProtectedInlineFormSet):
    """The steps of one workflow, checked as a whole route before anything is saved."""

    def in_use_message(self, form: forms.ModelForm, uses: list[str]) -> str:
        order = form.initial.get("order", form.instance.order)
        return gettext("Step %(order)s is used by tickets (%(uses)s): deactivate it instead.") % {
            "order": order,
            "uses": ", ".join(uses),
        }

    def posted_spec(self) -> WorkflowSpec:
        own = self.instance
        steps: list[StepSpec] = []
        for form in self.kept_forms():
            data = form.cleaned_data
            cr = data.get("cr")
            target = data.get("target_workflow")
            if target is None:
                target_code = None
            else:
                target_code = own.code if own.pk is not None and target.pk == own.pk else target.code
            steps.append(
                StepSpec(
                    order=data["order"],
                    kind=data["kind"],
                    cr=cr.code if cr is not None else None,
                    closes=bool(cr is not None and cr.closes_process),
                    next_order=data.get("next_order"),
                    question=data.get("question") or "",
                    options=tuple(getattr(form, "parsed_options", ())) if data["kind"] == Kind.DECISION else (),
                    target_workflow=target_code,
                    target_order=data.get("target_order"),
                )
            )
        return WorkflowSpec(code=own.code or "", steps=steps)

    def rule_errors(self) -> list[str]:
        own = self.instance
        spec = self.posted_spec()
        own_codes = {spec.code}
        if own.pk is not None:
            own_codes |= set(Workflow.objects.filter(pk=own.pk).values_list("code", flat=True))

        def lookup(code: str) -> WorkflowSpec | None:
            return spec if code in own_codes else db_lookup(code)

        errors = check_workflow(spec, lookup)
        if errors or own.pk is None:
            return errors
        # Workflows that jump into this one must still be valid with the new steps.
        others = Workflow.objects.filter(steps__target_workflow=own).exclude(pk=own.pk).distinct()
        for other in others:
            other_spec = workflow_spec(other)
            before = set(check_workflow(other_spec, db_lookup))
            for error in check_workflow(other_spec, lookup):
                if error not in before:
                    errors.append(
                        gettext("Workflow “%(workflow)s”, which jumps into this one: %(error)s")
                        % {"workflow": other, "error": error}
                    )
        # The service types of this workflow: their cycle's CRs must still be on the route.
        passed = crs_of_workflow(spec, lookup)
        for service_type in ServiceType.objects.filter(workflow=own).exclude(cycle=None).order_by("code_key"):
            missing = sorted(cycle_crs(service_type.cycle_id) - passed)
            if missing:
                errors.append(
                    gettext(
                        "Service type “%(type)s” asks questions in CRs this workflow would no longer pass: %(crs)s."
                    )
                    % {"type": service_type, "crs": ", ".join(missing)}
                )
        return errors


# Responsibility centers


class ResponsibilityCenterForm(forms.ModelForm):
    class Meta:
        model = ResponsibilityCenter
        fields = ["code", "description", "closes_process", "active", "members"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk is not None and "closes_process" in self.changed_data:
            errors = workflows_broken_by(self.instance.pk, bool(cleaned.get("closes_process")))
            if errors:
                self.add_error("closes_process", errors)
        return cleaned


def workflows_broken_by(cr_pk: int, closes: bool) -> list[str]:
    """The new workflow problems that changing a CR's "closes the process" would cause."""
    code = ResponsibilityCenter.objects.filter(pk=cr_pk).values_list("code", flat=True).first()
    cache: dict[str, WorkflowSpec | None] = {}

    def patched(workflow_code: str) -> WorkflowSpec | None:
        if workflow_code not in cache:
            spec = db_lookup(workflow_code)
            if spec is not None:
                spec = WorkflowSpec(
                    code=spec.code,
                    steps=[
                        dataclasses.replace(s, closes=closes) if s.kind == Kind.CR and s.cr == code else s
                        for s in spec.steps
                    ],
                )
            cache[workflow_code] = spec
        return cache[workflow_code]

    errors: list[str] = []
    for workflow in Workflow.objects.filter(steps__isnull=False).distinct():
        before = set(check_workflow(workflow_spec(workflow), db_lookup))
        after = patched(workflow.code)
        assert after is not None
        for error in check_workflow(after, patched):
            if error not in before:
                errors.append(gettext("Workflow “%(workflow)s”: %(error)s") % {"workflow": workflow, "error": error})
    return errors


# Service cycles and questions


def types_missing_crs(cycle_id: int | None, crs: set[str]) -> list[str]:
    """Service types of the cycle whose workflow never passes one of these CRs, as messages."""
    if cycle_id is None:
        return []
    errors: list[str] = []
    types = ServiceType.objects.filter(cycle_id=cycle_id).exclude(workflow=None).select_related("workflow")
    for service_type in types.order_by("code_key"):
        assert service_type.workflow is not None
        workflow = db_lookup(service_type.workflow.code)
        passed = crs_of_workflow(workflow, db_lookup) if workflow is not None else set()
        missing = sorted(crs - passed)
        if missing:
            errors.append(
                gettext(
                    "Service type “%(type)s” uses this cycle, but its workflow “%(workflow)s” never passes "
                    "these CRs: %(crs)s. Add them to the workflow or ask the questions in another CR."
                )
                % {"type": service_type, "workflow": service_type.workflow, "crs": ", ".join(missing)}
            )
    return errors


class QuestionInlineFormSet(ProtectedInlineFormSet):
    """A cycle's questions: their CRs must lie on the workflows of the types that use the cycle."""

    def rule_errors(self) -> list[str]:
        crs = {
            form.cleaned_data["cr"].code
            for form in self.kept_forms()
            if form.cleaned_data.get("cr") is not None and form.cleaned_data.get("active")
        }
        return types_missing_crs(self.instance.pk, crs)


class QuestionForm(forms.ModelForm):
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

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        answer_type = cleaned.get("answer_type")
        if answer_type:
            # The limits are this form's; the options' rules are checked by the options inline.
            spec = QuestionSpec(answer_type, cleaned.get("min_value"), cleaned.get("max_value"))
            for problem in check_question(spec):
                if problem.field in {"min_value", "max_value"} and problem.field in self.fields:
                    self.add_error(problem.field, problem.message)
        cycle, cr = cleaned.get("cycle"), cleaned.get("cr")
        if cycle is not None and cr is not None:
            crs = (
                set(cycle_crs(cycle.pk))
                if self.instance.pk is None
                else set(
                    Question.objects.filter(cycle=cycle, active=True)
                    .exclude(pk=self.instance.pk)
                    .values_list("cr__code", flat=True)
                )
            )
            if cleaned.get("active"):
                crs.add(cr.code)
            for error in types_missing_crs(cycle.pk, crs):
                self.add_error("cr", error)
        return cleaned


class CycleQuestionForm(forms.ModelForm):
    """A question as the cycle's inline shows it (no options there): its answer type is checked
    against the options it already has, which this page does not post."""

    # Rules the saved options can break when only the type changes; a question with no
    # options yet gets them on its own page (NO_ACTIVE_OPTION is left to that page).
    RULES = (QuestionRule.OPTIONS_TYPE, QuestionRule.MANY_DEFAULTS)

    class Meta:
        model = Question
        fields = ["code", "text", "cr", "answer_type", "required", "active"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        answer_type = cleaned.get("answer_type")
        if self.instance.pk is None or not answer_type or answer_type == self.instance.answer_type:
            return cleaned
        options = tuple(
            OptionSpec(label=label, checked_by_default=default, active=active)
            for label, default, active in self.instance.options.values_list("label", "checked_by_default", "active")
        )
        spec = QuestionSpec(answer_type, self.instance.min_value, self.instance.max_value, options)
        for problem in check_question(spec):
            if problem.rule in self.RULES:
                self.add_error("answer_type", problem.message)
        return cleaned


class OptionInlineFormSet(ProtectedInlineFormSet):
    """A question's options, checked with the posted question by `check_question`."""

    def rule_errors(self) -> list[str]:
        question = self.instance
        if not question.answer_type:
            return []
        options = tuple(
            OptionSpec(
                label=str(data.get("label", "")),
                checked_by_default=bool(data.get("checked_by_default")),
                active=bool(data.get("active")),
            )
            for data in (form.cleaned_data for form in self.kept_forms())
        )
        spec = QuestionSpec(question.answer_type, question.min_value, question.max_value, options)
        # The limits are reported by the question's own form.
        return [problem.message for problem in check_question(spec) if problem.field == "options"]


class OptionForm(forms.ModelForm):
    class Meta:
        model = Option
        fields = ["label", "position", "checked_by_default", "asks_complement", "active"]
        widgets = {"position": forms.NumberInput(attrs={"class": "vIntegerField"})}


# Service types


class ServiceTypeForm(forms.ModelForm):
    class Meta:
        model = ServiceType
        fields = [
            "code",
            "description",
            "kind",
            "category",
            "priority",
            "days_to_next_contact",
            "colour",
            "active_from",
            "active",
            "workflow",
            "cycle",
        ]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"})}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        service_type = self.instance
        code, kind = cleaned.get("code"), cleaned.get("kind")
        if service_type.pk is None or code is None or kind is None:
            return cleaned
        if {"code", "kind"} & set(self.changed_data):
            groups = list(
                ServiceType.objects.filter(kind=ServiceType.Kind.SYNTHETIC)
                .exclude(pk=service_type.pk)
                .values_list("code", flat=True)
            )
            if kind == ServiceType.Kind.SYNTHETIC:
                groups.append(code)
            orphans = [
                str(child)
                for child in ServiceType.objects.filter(parent=service_type, kind=ServiceType.Kind.ANALYTICAL)
                if not any(is_under(group, child.code) for group in groups)
            ]
            if orphans:
                self.add_error(
                    "code",
                    ValidationError(
                        _("These types would be left outside any group: %(types)s. Change their classification first."),
                        code="orphans",
                        params={"types": "; ".join(orphans)},
                    ),
                )
        return cleaned


# CRM options


def collections_exist(options: CrmOptions) -> bool:
    """Whether a collection ticket exists with the saved analytical collection type (the types are then locked)."""
    from ciclo.tickets.models import Ticket

    saved = CrmOptions.objects.filter(pk=options.pk).values_list("collection_analytical_type_id", flat=True).first()
    return saved is not None and Ticket.objects.filter(service_type_id=saved).exists()


class CrmOptionsForm(forms.ModelForm):
    class Meta:
        model = CrmOptions
        fields = [
            "use_cycle_in_followup",
            "collection_synthetic_type",
            "collection_analytical_type",
            "collection_delegate_user",
            "automatic_note_user",
            "collection_days_overdue",
            "collection_grouping",
            "email_debtor_on_collection",
            "access_control_user_company",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model()._default_manager.order_by("username")
        for name in ("collection_delegate_user", "automatic_note_user"):
            if name in self.fields:
                current = getattr(self.instance, f"{name}_id", None)
                field = self.fields[name]
                field.queryset = users.filter(models.Q(is_active=True) | models.Q(pk=current))  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        changed = [
            name for name in ("collection_synthetic_type", "collection_analytical_type") if name in self.changed_data
        ]
        if changed and self.instance.pk is not None and collections_exist(self.instance):
            for name in changed:
                self.add_error(
                    name,
                    _(
                        "The collection types are locked: collection tickets already exist. "
                        "Keep the current type (you may deactivate it or edit its workflow and cycle instead)."
                    ),
                )
        group, analytical = cleaned.get("collection_synthetic_type"), cleaned.get("collection_analytical_type")
        if group is not None and analytical is not None and not is_under(group.code, analytical.code):
            self.add_error(
                "collection_analytical_type",
                ValidationError(
                    _("The analytical collection type must sit under the synthetic one (%(group)s)."),
                    code="collection_under",
                    params={"group": group},
                ),
            )
        return cleaned

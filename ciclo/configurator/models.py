"""The configuration that tickets run through: CRs, workflows, cycles, service types."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ciclo.accounts.roles import is_supervisor, role_of
from ciclo.configurator.classification import is_under, sort_key, validate_code


class ClassifiedModel(models.Model):
    """A model ordered by a classification code."""

    code = models.CharField(_("classification"), max_length=40, validators=[validate_code])
    code_key = models.CharField(max_length=80, editable=False, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        self.code_key = sort_key(self.code)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "code" in update_fields:  # type: ignore[operator]
            kwargs["update_fields"] = {*update_fields, "code_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ResponsibilityCenterQuerySet(models.QuerySet["ResponsibilityCenter"]):
    def active(self) -> ResponsibilityCenterQuerySet:
        return self.filter(active=True)

    def workable_by(self, user: Any) -> ResponsibilityCenterQuerySet:
        """The CRs whose tickets `user` may work: every CR for a supervisor (or an administrator); for an
        agent, the CRs without members and those they are a member of; none for a user without a Ciclo role."""
        if role_of(user) is None:
            return self.none()
        if is_supervisor(user):
            return self.all()
        members = ResponsibilityCenter.members.through.objects.filter(responsibilitycenter_id=OuterRef("pk"))
        return self.filter(~Exists(members) | Exists(members.filter(user_id=user.pk)))


class ResponsibilityCenter(ClassifiedModel):
    """A phase of a ticket (Centro de Responsabilidade)."""

    description = models.CharField(_("description"), max_length=200)
    closes_process = models.BooleanField(
        _("closes the process"), default=False, help_text=_("A ticket that reaches this CR is closed.")
    )
    active = models.BooleanField(_("active"), default=True)
    default_success = models.PositiveSmallIntegerField(
        _("default success (%)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("The success chance a sales ticket takes on entering this phase, unless set by hand."),
    )
    stale_after_days = models.PositiveSmallIntegerField(
        _("days to go stale"),
        null=True,
        blank=True,
        help_text=_("Business days in this phase after which a sales ticket is flagged as stale. Blank: never."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="responsibility_centers",
        verbose_name=_("members"),
        help_text=_("With members, only they (and supervisors) work tickets in this CR. Without, any agent does."),
    )

    objects = ResponsibilityCenterQuerySet.as_manager()

    class Meta:
        ordering = ["code_key"]
        verbose_name = _("responsibility center")
        verbose_name_plural = _("responsibility centers")
        constraints = [
            models.UniqueConstraint(
                fields=["code"], name="cr_code_unique", violation_error_message=_("Another CR has this classification.")
            ),
            models.CheckConstraint(
                condition=Q(default_success__isnull=True) | Q(default_success__gte=0, default_success__lte=100),
                name="cr_default_success_percent",
                violation_error_message=_("The default success is a percentage from 0 to 100."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.description}"


class NamedDefinition(models.Model):
    """A definition other definitions and files refer to by a short code (workflows, cycles)."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", _("Use letters, digits, dots, dashes and underscores only."))],
        help_text=_("A short unique name other definitions and files refer to."),
    )
    description = models.CharField(_("description"), max_length=200)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.description


class Workflow(NamedDefinition):
    """The route a ticket follows: steps ordered by their order number."""

    class Meta:
        ordering = ["code"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def first_step(self) -> WorkflowStep | None:
        return self.steps.order_by("order").first()


class WorkflowStepQuerySet(models.QuerySet["WorkflowStep"]):
    def with_route(self) -> WorkflowStepQuerySet:
        """With what following a route reads of each step: its CR, the workflow it jumps to, and a
        decision's options in order (two queries for a whole workflow)."""
        return self.select_related("cr", "target_workflow").prefetch_related(
            Prefetch("options", queryset=DecisionOption.objects.order_by("position", "id"))
        )


class WorkflowStep(models.Model):
    class Kind(models.TextChoices):
        CR = "cr", _("Responsibility center")
        DECISION = "decision", _("Decision")
        WORKFLOW = "workflow", _("Jump to workflow")

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="steps", verbose_name=_("workflow"))
    order = models.PositiveIntegerField(
        _("order"), help_text=_("Steps are numbered in fives (0, 5, 10…) so others can be inserted.")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CR)
    cr = models.ForeignKey(
        ResponsibilityCenter,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="steps",
        verbose_name=_("responsibility center"),
    )
    next_order = models.PositiveIntegerField(
        _("next order"), null=True, blank=True, help_text=_("Where a CR step goes next; empty only on a closing CR.")
    )
    question = models.CharField(_("decision question"), max_length=300, blank=True)
    target_workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entered_by",
        verbose_name=_("target workflow"),
    )
    target_order = models.PositiveIntegerField(_("target order"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = WorkflowStepQuerySet.as_manager()

    class Meta:
        ordering = ["workflow", "order"]
        verbose_name = _("workflow step")
        verbose_name_plural = _("workflow steps")
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "order"],
                name="step_order_unique",
                violation_error_message=_("This workflow already has a step with this order."),
            )
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.CR and self.cr_id:
            return f"{self.order} · {self.cr}"
        if self.kind == self.Kind.DECISION:
            return f"{self.order} · {self.question}"
        return f"{self.order} · → {self.target_workflow} @ {self.target_order}"


class DecisionOption(models.Model):
    step = models.ForeignKey(WorkflowStep, on_delete=models.CASCADE, related_name="options", verbose_name=_("step"))
    label = models.CharField(_("option"), max_length=200)
    target_order = models.PositiveIntegerField(_("go to order"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("decision option")
        verbose_name_plural = _("decision options")

    def __str__(self) -> str:
        return f"{self.label} → {self.target_order}"


class ServiceCycle(NamedDefinition):
    """Per CR, the scripted questions to ask (Ciclo de atendimento)."""

    class Meta:
        ordering = ["code"]
        verbose_name = _("service cycle")
        verbose_name_plural = _("service cycles")


class AnswerType(models.TextChoices):
    SHORT_TEXT = "short_text", _("Alphanumeric (up to 100 characters)")
    LONG_TEXT = "long_text", _("Memo (long text)")
    NUMBER = "number", _("Numeric")
    MONEY = "money", _("Money (R$)")
    DATE = "date", _("Date")
    TIME = "time", _("Time (HH:MM)")
    SINGLE_CHOICE = "single_choice", _("Multiple choice (one option)")
    MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice (several options)")

    @classmethod
    def choice_types(cls) -> set[str]:
        return {cls.SINGLE_CHOICE.value, cls.MULTIPLE_CHOICE.value}


class QuestionQuerySet(models.QuerySet["Question"]):
    def active(self) -> QuestionQuerySet:
        return self.filter(active=True)

    def with_options(self) -> QuestionQuerySet:
        """With what answering reads of each question: its CR and its options in order (two queries)."""
        return self.select_related("cr").prefetch_related(
            Prefetch("options", queryset=Option.objects.order_by("position", "id"))
        )

    def of_service_type(self, service_type_id: int) -> QuestionQuerySet:
        """The questions of the cycle of this service type (none when it has no cycle)."""
        return self.filter(cycle__service_types=service_type_id)

    def required_in(self, cr_id: int) -> QuestionQuerySet:
        """The questions that block moving on from this CR until they are answered: required and active."""
        return self.filter(cr_id=cr_id, required=True, active=True)


class Question(ClassifiedModel):
    cycle = models.ForeignKey(
        ServiceCycle, on_delete=models.CASCADE, related_name="questions", verbose_name=_("service cycle")
    )
    cr = models.ForeignKey(
        ResponsibilityCenter,
        on_delete=models.PROTECT,
        related_name="questions",
        verbose_name=_("responsibility center"),
        help_text=_("The phase in which this question is asked."),
    )
    text = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    answer_type = models.CharField(_("answer type"), max_length=20, choices=AnswerType.choices)
    required = models.BooleanField(
        _("required"), default=False, help_text=_("Blocks moving on from its CR until it is answered.")
    )
    min_value = models.DecimalField(_("minimum"), max_digits=18, decimal_places=4, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=18, decimal_places=4, null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["cycle", "code_key"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "code"],
                name="question_code_unique",
                violation_error_message=_("This cycle already has a question with this classification."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.text}"

    @property
    def is_choice(self) -> bool:
        return self.answer_type in AnswerType.choice_types()


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options", verbose_name=_("question"))
    label = models.CharField(_("option"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)
    checked_by_default = models.BooleanField(_("checked by default"), default=False)
    asks_complement = models.BooleanField(
        _("asks for a complement"), default=False, help_text=_("Choosing it opens a free-text complement.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("option")
        verbose_name_plural = _("options")

    def __str__(self) -> str:
        return self.label


class Priority(models.IntegerChoices):
    """The meaning of a service type's (and so a ticket's) priority: 1 is the most urgent."""

    HIGHEST = 1, _("highest")
    HIGH = 2, _("high")
    NORMAL = 3, _("normal")
    LOW = 4, _("low")
    LOWEST = 5, _("lowest")

    @classmethod
    def describe(cls, value: int | None) -> str:
        """The number with its meaning ("1 – highest"); a number off the scale as it is."""
        if value is None:
            return ""
        label = dict(cls.choices).get(value)
        return f"{value} – {label}" if label else str(value)


class ServiceTypeQuerySet(models.QuerySet["ServiceType"]):
    def openable(self, on: dt.date | None = None) -> ServiceTypeQuerySet:
        """The types a new ticket can be opened with on the day `on` (today by default): analytical,
        active and already in force, with a workflow. ServiceType.opening_refusal says the same of one type."""
        on = on or timezone.localdate()
        return self.filter(kind=ServiceType.Kind.ANALYTICAL, active=True, workflow__isnull=False).filter(
            Q(active_from__isnull=True) | Q(active_from__lte=on)
        )

    def sales_types(self) -> ServiceTypeQuerySet:
        """Every sales type: marked as one, or under a group (at any depth) that is (one query to find them)."""
        return self.filter(pk__in=sales_type_ids())


def sales_type_ids() -> set[int]:
    """The ids of the types that are sales types, the flag inherited down the parent chain."""
    rows = {pk: (parent_id, sales) for pk, parent_id, sales in ServiceType.objects.values_list("pk", "parent", "sales")}
    found: dict[int, bool] = {}
    for pk in rows:
        chain: list[int] = []
        current: int | None = pk
        result = False
        while current is not None and current in rows and current not in chain:
            if current in found:
                result = found[current]
                break
            chain.append(current)
            parent_id, sales = rows[current]
            if sales:
                result = True
                break
            current = parent_id
        for walked in chain:
            found[walked] = result
    return {pk for pk, sales in found.items() if sales}


class ServiceType(ClassifiedModel):
    """Binds a workflow and a cycle. Synthetic types group; analytical types are used on tickets."""

    class Kind(models.TextChoices):
        SYNTHETIC = "synthetic", _("Synthetic (group)")
        ANALYTICAL = "analytical", _("Analytical (used on tickets)")

    class Category(models.TextChoices):
        SERVICE = "service", _("Service")
        SALES = "sales", _("Sales")
        COLLECTION = "collection", _("Collection")

    description = models.CharField(_("description"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ANALYTICAL)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices, default=Category.SERVICE)
    sales = models.BooleanField(
        _("sales type"),
        default=False,
        help_text=_("Its tickets are sales contacts (sales follow-up). The types under a sales group are too."),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("group"),
        editable=False,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (highest) to 5."),
    )
    days_to_next_contact = models.PositiveSmallIntegerField(
        _("days to the next contact"), default=1, help_text=_("The default next-contact date of a new ticket.")
    )
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#0d6efd",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour such as #1a2b3c."))],
    )
    active_from = models.DateField(_("active from"), null=True, blank=True)
    workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_types",
        verbose_name=_("workflow"),
    )
    cycle = models.ForeignKey(
        ServiceCycle,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_types",
        verbose_name=_("service cycle"),
    )
    active = models.BooleanField(_("active"), default=True)

    objects = ServiceTypeQuerySet.as_manager()

    class Meta:
        ordering = ["code_key"]
        verbose_name = _("service type")
        verbose_name_plural = _("service types")
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                name="service_type_code_unique",
                violation_error_message=_("Another service type has this classification."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.description}"

    @property
    def is_analytical(self) -> bool:
        return self.kind == self.Kind.ANALYTICAL

    def is_sales_type(self) -> bool:
        """Marked as a sales type, or under a group (at any depth) that is."""
        if self.sales:
            return True
        seen = {self.pk}
        parent_id = self.parent_id
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            row = ServiceType.objects.filter(pk=parent_id).values_list("parent", "sales").first()
            if row is None:
                return False
            if row[1]:
                return True
            parent_id = row[0]
        return False

    def opening_refusal(self, on: dt.date | None = None) -> str:
        """Why a ticket cannot be opened with this type on the day `on` ("" when it can): the rule of
        ServiceType.objects.openable(), for one type already read."""
        on = on or timezone.localdate()
        if not self.is_analytical:
            return str(_("Tickets are opened with an analytical type, not a group (synthetic)."))
        if not self.active or (self.active_from is not None and self.active_from > on):
            return str(_("The service type “%(type)s” is not active.") % {"type": self})
        if self.workflow_id is None:
            return str(_("The service type “%(type)s” has no workflow.") % {"type": self})
        return ""

    def group(self) -> ServiceType | None:
        """The synthetic type with the longest classification that prefixes this one."""

        candidates = [
            t
            for t in ServiceType.objects.filter(kind=ServiceType.Kind.SYNTHETIC).exclude(pk=self.pk)
            if is_under(t.code, self.code)
        ]
        return max(candidates, key=lambda t: len(t.code.split(".")), default=None)

    def save(self, *args: object, **kwargs: object) -> None:
        # The rules a type must satisfy are checked by configurator.changes, before anything is saved.
        self.parent = self.group()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "parent"}  # type: ignore[misc]
        super().save(*args, **kwargs)


class CrmOptions(models.Model):
    """The CRM's options: one row."""

    class CollectionGrouping(models.TextChoices):
        PERSON = "person", _("One collection per person")
        PERSON_COMPANY = "person_company", _("One collection per person and company")

    use_cycle_in_followup = models.BooleanField(
        _("use the service cycle in the contact (sales follow-up)"), default=True
    )
    collection_synthetic_type = models.ForeignKey(
        ServiceType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("synthetic collection type"),
        limit_choices_to={"kind": ServiceType.Kind.SYNTHETIC},
    )
    collection_analytical_type = models.ForeignKey(
        ServiceType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("analytical collection type"),
        limit_choices_to={"kind": ServiceType.Kind.ANALYTICAL},
    )
    collection_delegate_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("delegate collections to"),
        help_text=_("Blank: collections are not delegated."),
    )
    automatic_note_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user who signs automatic notes"),
        help_text=_("Blank: the acting user."),
    )
    collection_days_overdue = models.PositiveSmallIntegerField(_("days overdue before collection"), default=5)
    collection_grouping = models.CharField(
        _("collection grouping"), max_length=16, choices=CollectionGrouping.choices, default=CollectionGrouping.PERSON
    )
    access_control_user_company = models.BooleanField(_("access control user × company"), default=False)
    email_debtor_on_collection = models.BooleanField(_("e-mail the debtor when a collection is opened"), default=False)

    class Meta:
        verbose_name = _("CRM options")
        verbose_name_plural = _("CRM options")

    def __str__(self) -> str:
        return str(_("CRM options"))

    @classmethod
    def current(cls) -> CrmOptions:
        options, _created = cls.objects.get_or_create(pk=1)
        return options

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

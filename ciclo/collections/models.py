"""Receivables from the ERP, their payments, and the collections (tickets) they are gathered into.

A receivable sits in at most one open collection at a time: a CollectionItem with no `released_at`
(a partial unique constraint). The update (ciclo.collections.update) adds and releases items; every
run of it is a CollectionRun.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ciclo.configurator.models import ClassifiedModel
from ciclo.people.models import Company, Person

ZERO = Decimal("0.00")


class AdministrativeStatus(ClassifiedModel):
    """A configurable tree (synthetic groups, analytical statuses) an ERP puts on a receivable.

    A receivable whose status does not enter collection is never collected; one without a status is.
    Changed only through ciclo.configurator.changes.
    """

    class Kind(models.TextChoices):
        SYNTHETIC = "synthetic", _("Synthetic (group)")
        ANALYTICAL = "analytical", _("Analytical (used on receivables)")

    description = models.CharField(_("description"), max_length=200)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ANALYTICAL)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("group"),
        editable=False,
    )
    enters_collection = models.BooleanField(
        _("enters collection"), default=True, help_text=_("Receivables with this status are collected.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code_key"]
        verbose_name = _("administrative status")
        verbose_name_plural = _("administrative statuses")
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                name="administrative_status_code_unique",
                violation_error_message=_("Another administrative status has this classification."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.description}"

    def group(self) -> AdministrativeStatus | None:
        """The synthetic status with the longest classification that prefixes this one."""
        from ciclo.configurator.classification import is_under

        candidates = [
            s
            for s in AdministrativeStatus.objects.filter(kind=self.Kind.SYNTHETIC).exclude(pk=self.pk)
            if is_under(s.code, self.code)
        ]
        return max(candidates, key=lambda s: len(s.code.split(".")), default=None)

    def save(self, *args: object, **kwargs: object) -> None:
        self.parent = self.group()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "parent"}  # type: ignore[misc]
        super().save(*args, **kwargs)


class CollectionKind(models.Model):
    """How a receivable is held: "normal" is collected, "descontado" (sold to a bank) never is."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    collected = models.BooleanField(
        _("collected"), default=True, help_text=_("Overdue receivables of this kind are collected.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("collection kind")
        verbose_name_plural = _("collection kinds")

    def __str__(self) -> str:
        return self.name


class Receivable(models.Model):
    """One instalment of a document the ERP says a person owes one of the companies."""

    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="receivables", verbose_name=_("company")
    )
    document = models.CharField(_("document"), max_length=40)
    instalment = models.CharField(_("instalment"), max_length=10)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="receivables", verbose_name=_("debtor"))
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, validators=[MinValueValidator(ZERO)])
    open_balance = models.DecimalField(
        _("open balance"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(ZERO)],
        help_text=_("What is still owed, as the ERP says: 0 is paid."),
    )
    kind = models.ForeignKey(
        CollectionKind, on_delete=models.PROTECT, related_name="receivables", verbose_name=_("collection kind")
    )
    administrative_status = models.ForeignKey(
        AdministrativeStatus,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receivables",
        verbose_name=_("administrative status"),
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("receivable")
        verbose_name_plural = _("receivables")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "document", "instalment"],
                name="receivable_company_document_instalment",
                violation_error_message=_("This company already has a receivable with this document and instalment."),
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="receivable_amount_not_negative"),
            models.CheckConstraint(condition=Q(open_balance__gte=0), name="receivable_open_balance_not_negative"),
        ]
        indexes = [
            # What the update reads: the receivables due by a day. Not partial: the ORM binds the 0 of
            # "open_balance > 0" as a parameter, and SQLite then cannot use an index with that condition.
            models.Index(fields=["due_date", "open_balance", "person", "company"], name="receivable_due_open"),
            models.Index(fields=["person", "due_date"], name="receivable_person_due"),
        ]

    def __str__(self) -> str:
        return f"{self.document}/{self.instalment}"

    @property
    def is_paid(self) -> bool:
        return self.open_balance <= ZERO

    def days_overdue(self, on: dt.date | None = None) -> int:
        """Calendar days past the due date on `on` (today); 0 when not yet due."""
        on = on or timezone.localdate()
        return max(0, (on - self.due_date).days)


class Payment(models.Model):
    """A payment of (part of) a receivable, as detail the ERP sends; the ERP's open balance stays the truth."""

    class Source(models.TextChoices):
        API = "api", _("API")
        IMPORT = "import", _("Import")
        ERP = "erp", _("ERP")

    receivable = models.ForeignKey(
        Receivable, on_delete=models.CASCADE, related_name="payments", verbose_name=_("receivable")
    )
    paid_on = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=6, choices=Source.choices, default=Source.ERP)

    class Meta:
        ordering = ["paid_on", "id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.paid_on} {self.amount}"


class CollectionRun(models.Model):
    """One run of the collections update: who or what started it, when, what it did."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("By hand")
        COMMAND = "command", _("Command")
        SCHEDULE = "schedule", _("Schedule")
        API = "api", _("API")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    trigger = models.CharField(_("started from"), max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(
        _("task"), max_length=64, blank=True, db_index=True, help_text=_("The task that ran it, when a task did.")
    )
    done = models.PositiveIntegerField(_("debtors done"), default=0)
    total = models.PositiveIntegerField(_("debtors to do"), null=True, blank=True, help_text=_("Empty: not known yet."))

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("collections update")
        verbose_name_plural = _("collections updates")

    def __str__(self) -> str:
        return f"{timezone.localtime(self.started_at):%Y-%m-%d %H:%M} · {self.get_status_display()}"

    @property
    def percent(self) -> int | None:
        """How far the run is through its debtors, or None when it does not know how many there are."""
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))


class QueuedUpdate(models.Model):
    """The collections update last asked for from the web or the API (one row): while its task is queued or
    running, asking again follows it instead of queueing another (ciclo.collections.tasks.start_update)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("queued by"),
    )
    dry_run = models.BooleanField(_("dry run"), default=False)

    class Meta:
        verbose_name = _("queued collections update")
        verbose_name_plural = _("queued collections updates")

    def __str__(self) -> str:
        return self.task_id or "-"


class CollectionItem(models.Model):
    """A receivable in a collection (a ticket of the analytical collection type), from added to released."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="collection_items", verbose_name=_("collection")
    )
    receivable = models.ForeignKey(
        Receivable, on_delete=models.PROTECT, related_name="collection_items", verbose_name=_("receivable")
    )
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    run = models.ForeignKey(
        CollectionRun, null=True, blank=True, on_delete=models.PROTECT, related_name="items", verbose_name=_("run")
    )

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("receivable in a collection")
        verbose_name_plural = _("receivables in collections")
        constraints = [
            models.UniqueConstraint(
                fields=["receivable"],
                condition=Q(released_at__isnull=True),
                name="collection_item_one_open_per_receivable",
                violation_error_message=_("This receivable is already in an open collection."),
            )
        ]
        indexes = [models.Index(fields=["ticket", "released_at"], name="collection_item_ticket")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} · {self.receivable_id}"


class CollectionPreference(models.Model):
    """What a person asked of collections: no collection e-mails."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="collection_preference", verbose_name=_("person")
    )
    no_collection_emails = models.BooleanField(
        _("no collection e-mails"), default=False, help_text=_("The collections update sends this person no e-mail.")
    )

    class Meta:
        verbose_name = _("collection preference")
        verbose_name_plural = _("collection preferences")

    def __str__(self) -> str:
        return str(self.person)


class UpdateLock(models.Model):
    """One row, locked by each collections update for its whole transaction: two runs at once are one."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    class Meta:
        verbose_name = _("collections update lock")
        verbose_name_plural = _("collections update locks")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

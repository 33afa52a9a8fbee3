"""Sales contacts: what a ticket of a sales type carries beyond the ticket (Bimer's contact), and the
lists a company configures for them (environments, lost reasons, days off).

Change a SalesContact only through ciclo.sales.contacts and the ticket engine, which keep history and rules.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ciclo.people.models import Company, Person
from ciclo.tickets.models import Ticket


class ListEntryQuerySet(models.QuerySet):
    def active(self) -> ListEntryQuerySet:
        return self.filter(active=True)


class ListEntry(models.Model):
    """An entry of a short list a company configures: offered while active, kept once used."""

    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    objects = ListEntryQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Environment(ListEntry):
    """An *ambiente*: e.g. the software the prospect uses today."""

    class Meta(ListEntry.Meta):
        verbose_name = _("environment")
        verbose_name_plural = _("environments")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="environment_name_unique",
                violation_error_message=_("Another environment has this name."),
            )
        ]


class LostReason(ListEntry):
    """Why a sale was lost."""

    class Meta(ListEntry.Meta):
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="lost_reason_name_unique",
                violation_error_message=_("Another lost reason has this name."),
            )
        ]


class DayOff(models.Model):
    """A day no one works, beyond Brazil's national holidays: of one company, or of every company."""

    date = models.DateField(_("date"))
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="days_off",
        verbose_name=_("company"),
        help_text=_("Blank: a day off in every company."),
    )
    description = models.CharField(_("description"), max_length=200)

    class Meta:
        ordering = ["date", "company"]
        verbose_name = _("day off")
        verbose_name_plural = _("days off")
        constraints = [
            models.UniqueConstraint(
                fields=["date", "company"],
                condition=Q(company__isnull=False),
                name="dayoff_date_company_unique",
                violation_error_message=_("This company already has this day off."),
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=Q(company__isnull=True),
                name="dayoff_date_every_company_unique",
                violation_error_message=_("This day is already off in every company."),
            ),
        ]

    def __str__(self) -> str:
        where = self.company.name if self.company is not None else _("every company")
        return f"{self.date:%d/%m/%Y} · {self.description} ({where})"


class Outcome(models.TextChoices):
    OPEN = "", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class SalesContact(models.Model):
    """What a ticket of a sales type carries: one row per such ticket, made when it is opened."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="sales", verbose_name=_("ticket")
    )
    contact_date = models.DateField(_("contact date"))
    referral = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_sales",
        verbose_name=_("referral person"),
    )
    environment = models.ForeignKey(
        Environment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("environment"),
    )
    success = models.PositiveSmallIntegerField(_("success (%)"), null=True, blank=True)
    success_by_hand = models.BooleanField(
        _("success set by hand"), default=False, help_text=_("Off: the success follows the phase's default.")
    )
    expected_value = models.DecimalField(_("expected value"), max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=4, choices=Outcome.choices, default=Outcome.OPEN, blank=True)
    won_value = models.DecimalField(_("won value"), max_digits=14, decimal_places=2, null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("lost reason"),
    )
    outcome_text = models.TextField(_("outcome note"), blank=True)
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("outcome recorded by"),
    )
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("sales contact")
        verbose_name_plural = _("sales contacts")
        constraints = [
            models.CheckConstraint(
                condition=Q(success__isnull=True) | Q(success__gte=0, success__lte=100),
                name="sales_success_percent",
                violation_error_message=_("The success is a percentage from 0 to 100."),
            ),
            models.CheckConstraint(
                condition=Q(expected_value__isnull=True) | Q(expected_value__gte=0),
                name="sales_expected_value_not_negative",
                violation_error_message=_("The expected value cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(won_value__isnull=True) | Q(won_value__gte=0),
                name="sales_won_value_not_negative",
                violation_error_message=_("The won value cannot be negative."),
            ),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="sales_outcome_valid"),
            # Each outcome carries what it needs and nothing of another outcome.
            models.CheckConstraint(
                condition=(
                    Q(outcome=Outcome.OPEN, won_value__isnull=True, lost_reason__isnull=True, outcome_at__isnull=True)
                    | Q(
                        outcome=Outcome.WON, won_value__isnull=False, lost_reason__isnull=True, outcome_at__isnull=False
                    )
                    | Q(
                        outcome=Outcome.LOST,
                        won_value__isnull=True,
                        lost_reason__isnull=False,
                        outcome_at__isnull=False,
                    )
                ),
                name="sales_outcome_consistent",
                violation_error_message=_("A won sale has its value, a lost one its reason, an open one neither."),
            ),
        ]
        indexes = [models.Index(fields=["outcome", "outcome_at"], name="sales_outcome_at")]

    def __str__(self) -> str:
        return str(self.ticket_id)

    @property
    def is_open(self) -> bool:
        return self.outcome == Outcome.OPEN

    @property
    def weighted_value(self) -> Decimal | None:
        """The expected value × the success chance: what the contact adds to the pipeline."""
        if self.expected_value is None or self.success is None:
            return None
        return (self.expected_value * self.success / 100).quantize(Decimal("0.01"))

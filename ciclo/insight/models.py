"""The phase ledger: one row per stay of a ticket in a phase, written with each move (ciclo.insight.ledger)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ciclo.configurator.models import ResponsibilityCenter, Workflow, WorkflowStep
from ciclo.tickets.models import PhaseMove, Ticket


class PhaseStay(models.Model):
    """A ticket's stay in one phase: entered by a move, left by the next one (still there while left_at is
    empty). The time spent is kept when the stay ends, in calendar seconds and in business days."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="stays", verbose_name=_("ticket"))
    cr = models.ForeignKey(ResponsibilityCenter, on_delete=models.PROTECT, related_name="+", verbose_name=_("phase"))
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="+", verbose_name=_("workflow"))
    step = models.ForeignKey(WorkflowStep, on_delete=models.PROTECT, related_name="+", verbose_name=_("step"))
    move = models.OneToOneField(
        PhaseMove, on_delete=models.CASCADE, related_name="stay", verbose_name=_("move that entered")
    )
    entered_at = models.DateTimeField(_("entered at"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("entered by")
    )
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    left_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("left by"),
    )
    seconds = models.PositiveBigIntegerField(_("time spent (seconds)"), null=True, blank=True)
    business_days = models.PositiveIntegerField(_("time spent (business days)"), null=True, blank=True)

    class Meta:
        ordering = ["entered_at", "id"]
        verbose_name = _("phase stay")
        verbose_name_plural = _("phase stays")
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=Q(left_at__isnull=True), name="stay_one_open"),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=models.F("entered_at")), name="stay_left_after"
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "entered_at"], name="stay_ticket_entered"),
            # The phases dashboard: who is in a phase now, and the stays that ended in a period.
            models.Index(fields=["workflow", "cr", "entered_at"], name="stay_wf_cr_entered"),
            models.Index(fields=["workflow", "cr", "left_at"], name="stay_wf_cr_left"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} · {self.cr_id} · {self.entered_at:%Y-%m-%d}"

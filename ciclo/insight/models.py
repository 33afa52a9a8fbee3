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
    # The time the ticket spent in this phase of this workflow before this stay (its earlier stays there).
    before_seconds = models.PositiveBigIntegerField(_("time spent there before (seconds)"), default=0, db_default=0)

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
            # The stale tickets: the oldest stays still open in a phase, in order.
            models.Index(
                fields=["workflow", "cr", "entered_at", "id"],
                condition=Q(left_at__isnull=True),
                name="stay_open_entered",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} · {self.cr_id} · {self.entered_at:%Y-%m-%d}"


# ---- summaries: what the measurements read instead of the raw rows (ciclo.insight.summaries) -------------
#
# Written in the transaction of the change that moves them (the ledger's record_move and record_openings,
# the engine's answer saves) by database-side increments, and written again from the raw rows by
# summaries.rebuild(). Their dimensions are plain integers, not foreign keys: a summary row refers to
# nothing, and 0 stands for "none" where a dimension does not apply.


class PhaseTally(models.Model):
    """Per local day, workflow, phase, service type and company: a count (and a sum of seconds) of one
    kind of fact of the ledger; `bucket` is the duration bucket of the time kinds, 0 for the others."""

    class Kind(models.IntegerChoices):
        ARRIVED = 1, _("stays entered")  # day: the stay's entry
        LEFT = 2, _("stays left")  # day: the stay's end
        LATEST = 3, _("ended stays, each ticket's latest in the phase")  # day: its end; bucket: its seconds
        TOTAL = 4, _("ended stays' ticket totals in the phase")  # day: its end; bucket: the ticket's seconds there
        REACHED = 5, _("tickets that reached the phase")  # day: the ticket's opening; cr 0: entered the workflow
        DECIDED = 6, _("decisions taken")  # day: the ticket's opening; cr: the decision step; bucket: the option

    kind = models.PositiveSmallIntegerField(_("kind"), choices=Kind.choices)
    day = models.DateField(_("day"))
    workflow_id = models.BigIntegerField(_("workflow"))
    cr_id = models.BigIntegerField(_("phase"))
    service_type_id = models.BigIntegerField(_("service type"))
    company_id = models.BigIntegerField(_("company"))
    bucket = models.IntegerField(_("bucket"), default=0)
    n = models.BigIntegerField(_("count"), default=0)
    seconds = models.BigIntegerField(_("seconds"), default=0)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.day} · {self.cr_id}: {self.n}"

    class Meta:
        verbose_name = _("phase tally")
        verbose_name_plural = _("phase tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_id", "kind", "day", "cr_id", "service_type_id", "company_id", "bucket"],
                name="phasetally_key",
            )
        ]
        # The answers' "asked": a phase's tickets over every workflow.
        indexes = [models.Index(fields=["kind", "cr_id", "day"], name="phasetally_kind_cr_day")]


class OpenTally(models.Model):
    """The stays still open, per workflow, phase, service type and company, by an hour (UTC, counted from
    1970): the hour each was entered (kind ENTERED), and the hour its ticket's time in the phase began
    counting, its earlier stays there included (kind STARTED). How many, and the sum of those moments
    (epoch seconds): the time since is each stay's time there now, or its ticket's total there now."""

    class Kind(models.IntegerChoices):
        ENTERED = 1, _("by the hour entered")
        STARTED = 2, _("by the hour the time in the phase began")

    kind = models.PositiveSmallIntegerField(_("kind"), choices=Kind.choices, default=Kind.ENTERED)
    hour = models.BigIntegerField(_("hour (hours since 1970, UTC)"))
    workflow_id = models.BigIntegerField(_("workflow"))
    cr_id = models.BigIntegerField(_("phase"))
    service_type_id = models.BigIntegerField(_("service type"))
    company_id = models.BigIntegerField(_("company"))
    n = models.BigIntegerField(_("count"), default=0)
    moments = models.BigIntegerField(_("sum of the moments"), default=0)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.hour}h · {self.cr_id}: {self.n}"

    class Meta:
        verbose_name = _("open stays tally")
        verbose_name_plural = _("open stays tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "workflow_id", "cr_id", "hour", "service_type_id", "company_id"],
                name="opentally_key",
            )
        ]


class AnswerTally(models.Model):
    """Per local day of the answer, question, service type, company and user who answered: the answers
    given (option 0) with their number bucket or month (yyyymm) and the sum of their numbers, and each
    option chosen (option id) with the complements given."""

    day = models.DateField(_("day"))
    question_id = models.BigIntegerField(_("question"))
    service_type_id = models.BigIntegerField(_("service type"))
    company_id = models.BigIntegerField(_("company"))
    user_id = models.BigIntegerField(_("user"))
    option_id = models.BigIntegerField(_("option"), default=0)
    bucket = models.IntegerField(_("bucket"), default=0)
    n = models.BigIntegerField(_("count"), default=0)
    complements = models.BigIntegerField(_("complements"), default=0)
    total = models.DecimalField(_("sum"), max_digits=38, decimal_places=4, default=0)

    def __str__(self) -> str:
        return f"{self.day} · {self.question_id} · {self.option_id}: {self.n}"

    class Meta:
        verbose_name = _("answers tally")
        verbose_name_plural = _("answers tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["question_id", "day", "option_id", "bucket", "service_type_id", "company_id", "user_id"],
                name="answertally_key",
            )
        ]


class NoteTally(models.Model):
    """Per local day of the note, its author, and its ticket's service type and company: the notes written
    (every kind: contacts, moves, openings, automatic ones)."""

    day = models.DateField(_("day"))
    user_id = models.BigIntegerField(_("author"))
    service_type_id = models.BigIntegerField(_("service type"))
    company_id = models.BigIntegerField(_("company"))
    n = models.BigIntegerField(_("count"), default=0)

    def __str__(self) -> str:
        return f"{self.day} · {self.user_id}: {self.n}"

    class Meta:
        verbose_name = _("notes tally")
        verbose_name_plural = _("notes tallies")
        constraints = [
            models.UniqueConstraint(fields=["day", "user_id", "service_type_id", "company_id"], name="notetally_key")
        ]


class SalesTally(models.Model):
    """The sales contacts, per kind of fact, with their ticket's service type and company: a count and a
    sum of money (`value`)."""

    class Kind(models.IntegerChoices):
        # day: the ticket's opening; workflow: each one the ticket entered; reason: a loss's (0 otherwise);
        # value: a win's value, a loss's expected value
        COHORT = 1, _("contacts by opening day")
        # day: the outcome's; user: who recorded it; won and lost only
        OUTCOME = 2, _("outcomes by day")
        # the open contacts of open tickets by their next contact's user; value: expected value × success (%)
        PIPELINE = 3, _("open pipeline")

    kind = models.PositiveSmallIntegerField(_("kind"), choices=Kind.choices)
    day = models.DateField(_("day"))
    workflow_id = models.BigIntegerField(_("workflow"), default=0)
    service_type_id = models.BigIntegerField(_("service type"))
    company_id = models.BigIntegerField(_("company"))
    user_id = models.BigIntegerField(_("user"), default=0)
    outcome = models.CharField(_("outcome"), max_length=4)
    reason_id = models.BigIntegerField(_("reason of loss"), default=0)
    n = models.BigIntegerField(_("count"), default=0)
    value = models.DecimalField(_("sum"), max_digits=38, decimal_places=4, default=0)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.day} · {self.outcome}: {self.n}"

    class Meta:
        verbose_name = _("sales tally")
        verbose_name_plural = _("sales tallies")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "day",
                    "workflow_id",
                    "service_type_id",
                    "company_id",
                    "user_id",
                    "outcome",
                    "reason_id",
                ],
                name="salestally_key",
            )
        ]

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_LEAD_MINUTES = 15
MAX_LEAD_MINUTES = 1440  # a day ahead: the morning digest covers what is further away


class CalendarSettings(models.Model):
    """What a user chose for their calendar: the secret of their feed's URL and how early they are reminded.

    The token is the whole secret of the feed (calendar applications send no password), kept in
    clear because the profile shows the URL again; the history never keeps it. No token: the
    feed is revoked, its URL answers 404 until the user makes a new one.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="calendar_settings",
        verbose_name=_("user"),
    )
    feed_token = models.CharField(_("feed token"), max_length=64, unique=True, null=True, blank=True, editable=False)
    feed_token_created_at = models.DateTimeField(_("feed URL made at"), null=True, blank=True, editable=False)
    lead_minutes = models.PositiveSmallIntegerField(
        _("reminder lead time (minutes)"),
        default=DEFAULT_LEAD_MINUTES,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LEAD_MINUTES)],
        help_text=_("How many minutes before an appointment Ciclo reminds you of it."),
    )

    history_secret_fields = ("feed_token",)

    class Meta:
        verbose_name = _("calendar settings")
        verbose_name_plural = _("calendar settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(lead_minutes__gte=1, lead_minutes__lte=MAX_LEAD_MINUTES), name="calendar_lead_minutes_range"
            )
        ]

    def __str__(self) -> str:
        return str(self.user)


class Sent(models.Model):
    """The ledger of reminders and digests: one row per thing Ciclo tells someone, whatever runs twice.

    A row is written when the sweep queues the task that sends it, and its unique constraints
    are the guarantee: a reminder once per appointment and sequence (a moved appointment has a
    new sequence, so a new reminder), a digest once per user and day. The task then sends it, or
    drops it when it no longer holds (the appointment moved, was cancelled or has started; the
    digest's day is over). A sent reminder is also the home page's notice until dismissed.
    """

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("appointment reminder")
        DIGEST = "digest", _("morning digest")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        DROPPED = "dropped", _("dropped")

    class Reason(models.TextChoices):
        """Why a queued reminder or digest was not sent."""

        MOVED = "moved", _("the appointment changed since it was queued")
        CANCELLED = "cancelled", _("the appointment was cancelled")
        DONE = "done", _("the appointment was done")
        STARTED = "started", _("the appointment had started")
        DAY_OVER = "day_over", _("its day was over")
        NOTHING_DUE = "nothing_due", _("nothing was due that day")
        INACTIVE = "inactive", _("the user is inactive")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("recipient")
    )
    appointment = models.ForeignKey(
        "agenda.Appointment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders_sent",
        verbose_name=_("appointment"),
    )
    sequence = models.PositiveIntegerField(_("appointment's sequence"), null=True, blank=True)
    day = models.DateField(_("day"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(_("why it was dropped"), max_length=20, choices=Reason.choices, blank=True)
    queued_at = models.DateTimeField(_("queued at"))
    finished_at = models.DateTimeField(_("sent or dropped at"), null=True, blank=True)
    message = models.ForeignKey(
        "mail.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("e-mail")
    )
    dismissed_at = models.DateTimeField(_("notice dismissed at"), null=True, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "sequence", "kind"],
                condition=Q(kind="reminder"),
                name="sent_reminder_once_per_sequence",
            ),
            models.UniqueConstraint(
                fields=["user", "day", "kind"], condition=Q(kind="digest"), name="sent_digest_once_a_day"
            ),
            models.CheckConstraint(
                condition=(Q(kind="reminder", appointment__isnull=False, sequence__isnull=False, day__isnull=True))
                | (Q(kind="digest", appointment__isnull=True, sequence__isnull=True, day__isnull=False)),
                name="sent_kind_fields",
            ),
        ]
        indexes = [
            # The home page's notices: a user's sent reminders not dismissed.
            models.Index(
                fields=["user", "-queued_at"],
                condition=Q(kind="reminder", status="sent", dismissed_at__isnull=True),
                name="sent_notices_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.user} ({self.get_status_display()})"

"""The agenda: each user's appointments (Agendamentos), and every change made to them.

Change them only through ciclo.agenda.appointments, which checks who may, keeps the history,
and keeps a ticket's next contact and its appointment in step.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from ciclo.people.models import Person
from ciclo.tickets.models import Channel, Ticket

# The longest an appointment may last. A range query reads appointments that start at most this
# long before the range: without a bound, the index would be read from a user's first appointment.
MAX_DURATION = dt.timedelta(days=7)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def planned(self) -> AppointmentQuerySet:
        return self.filter(status=Appointment.Status.PLANNED)

    def between(self, start: dt.datetime, end: dt.datetime) -> AppointmentQuerySet:
        """Appointments that overlap [start, end): they start before its end and end after its start."""
        return self.filter(start__gte=start - MAX_DURATION, start__lt=end, end__gt=start)


class Appointment(models.Model):
    """A scheduled contact or meeting on a user's agenda.

    A ticket's next contact keeps one planned appointment (source next_contact) on the agenda of
    its next-contact user; the database refuses a second one. `sequence` is iCalendar's SEQUENCE
    and the version a change must have seen: every change bumps it.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Source(models.TextChoices):
        NEXT_CONTACT = "next_contact", _("Ticket's next contact")
        MANUAL = "manual", _("Made by hand")

    uid = models.UUIDField(_("UID"), unique=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("whose agenda"),
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    title = models.CharField(_("title"), max_length=200)
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("person"),
    )
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("ticket"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.MANUAL)
    sequence = models.PositiveIntegerField(_("sequence"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(source="next_contact", status="planned"),
                name="appointment_one_next_contact_per_ticket",
                violation_error_message=_("This ticket already has its next contact on the agenda."),
            ),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_ends_after_start"),
        ]
        indexes = [
            # The day, week and month views: a user's appointments by start, with their end and status, so
            # that those of the range are found (and a month's counted) from the index alone.
            models.Index(fields=["user", "start", "end", "status", "id"], name="appointment_user_start"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_planned(self) -> bool:
        return self.status == self.Status.PLANNED

    @property
    def is_next_contact(self) -> bool:
        return self.source == self.Source.NEXT_CONTACT


class AppointmentChange(models.Model):
    """Every change of an appointment: who, when, what changed (field: [old, new]), why."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="changes", verbose_name=_("appointment")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    changes = models.JSONField(_("changes"), default=dict, blank=True, help_text=_("Field: [old value, new value]."))
    reason = models.TextField(_("reason"), blank=True)
    sequence = models.PositiveIntegerField(_("sequence"), help_text=_("The appointment's sequence after the change."))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("appointment change")
        verbose_name_plural = _("appointment changes")
        indexes = [models.Index(fields=["appointment", "at"], name="appointment_change_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.appointment_id}"

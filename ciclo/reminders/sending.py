"""Reminders before appointments and the morning digest: which are due, queued once, sent or dropped.

A sweep (a periodic job, ciclo/jobs/schedules.py) finds what is due and writes its row in the
ledger (reminders.Sent) before queuing the task that sends it; the ledger's unique constraints
make a second sweep's insert fail, however many run at once, so each reminder and digest is
queued once. The task checks again when it runs: a reminder whose appointment moved, was
cancelled or done, or has started since it was queued is dropped, not sent (no burst of
reminders for the past after a worker was down); a digest whose day is over is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend

from ciclo.accounts.roles import users_with_role
from ciclo.agenda.models import Appointment
from ciclo.mail.sending import send
from ciclo.reminders.models import DEFAULT_LEAD_MINUTES, CalendarSettings, Sent

logger = logging.getLogger("ciclo.reminders")

Kind, Status, Reason = Sent.Kind, Sent.Status, Sent.Reason


def _enqueue_with(row: Sent, task: Task[[int], str]) -> None:
    """Queue `task` for the ledger row just inserted, in the caller's transaction.

    On the database backend the task's row is written in the same transaction as the ledger's,
    so both are saved or neither; on another backend it is queued once the row is committed, so
    that a worker never looks for a row that is not there yet.
    """
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(row.pk)
    else:
        transaction.on_commit(partial(task.enqueue, row.pk), robust=True)


def _claim(task: Task[[int], str], **fields: Any) -> Sent | None:
    """Insert the ledger row and queue its task; None when the row exists already (another sweep's)."""
    try:
        with transaction.atomic():
            row = Sent.objects.create(**fields)
            _enqueue_with(row, task)
    except IntegrityError:
        return None
    return row


# ---- reminders --------------------------------------------------------------------------------


def due_reminders(*, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The planned appointments whose reminder is due now and not yet queued for their current sequence.

    Due: the appointment starts within its user's lead time from now, and has not started yet.
    """
    now = at or timezone.now()
    longest = max(CalendarSettings.objects.aggregate(m=Max("lead_minutes"))["m"] or 0, DEFAULT_LEAD_MINUTES)
    lead = CalendarSettings.objects.filter(user_id=OuterRef("user_id")).values("lead_minutes")[:1]
    queued = Sent.objects.filter(kind=Kind.REMINDER, appointment_id=OuterRef("pk"), sequence=OuterRef("sequence"))
    candidates = (
        Appointment.objects.filter(
            status=Appointment.Status.PLANNED,
            start__gt=now,
            start__lte=now + dt.timedelta(minutes=longest),
            user__is_active=True,
        )
        .exclude(Exists(queued))
        .annotate(lead=Coalesce(Subquery(lead), DEFAULT_LEAD_MINUTES))
        .order_by("start", "id")
        .values("id", "user_id", "sequence", "start", "lead")
    )
    return [c for c in candidates if c["start"] - dt.timedelta(minutes=c["lead"]) <= now]


def sweep_reminders(task: Task[[int], str], *, at: dt.datetime | None = None) -> int:
    """Queue `task` (send_reminder) for each reminder due now; the number queued by this call."""
    now = at or timezone.now()
    queued = 0
    for due in due_reminders(at=now):
        row = _claim(
            task,
            kind=Kind.REMINDER,
            user_id=due["user_id"],
            appointment_id=due["id"],
            sequence=due["sequence"],
            queued_at=now,
        )
        queued += row is not None
    return queued


def _drop(row: Sent, reason: Sent.Reason, now: dt.datetime) -> str:
    row.status, row.reason, row.finished_at = Status.DROPPED, reason, now
    row.save(update_fields=["status", "reason", "finished_at"])
    logger.info("event=reminder_dropped id=%s kind=%s reason=%s", row.pk, row.kind, reason.value)
    return f"dropped: {reason.value}"


def _why_not(appointment: Appointment, row: Sent, now: dt.datetime) -> Sent.Reason | None:
    """Why the reminder queued as `row` must not go out now; None when it still holds."""
    if appointment.status == Appointment.Status.CANCELLED:
        return Reason.CANCELLED
    if appointment.status == Appointment.Status.DONE:
        return Reason.DONE
    if appointment.sequence != row.sequence:
        return Reason.MOVED
    if appointment.start <= now:
        return Reason.STARTED
    if not appointment.user.is_active or appointment.user_id != row.user_id:
        return Reason.INACTIVE if not appointment.user.is_active else Reason.MOVED
    return None


def site_url(path: str) -> str:
    """The address of `path` for an e-mail (settings.CICLO_SITE_URL before it); empty when the site's is unknown."""
    base = getattr(settings, "CICLO_SITE_URL", "")
    return f"{base}{path}" if base else ""


def send_reminder(sent_id: int, *, at: dt.datetime | None = None) -> str:
    """Send the reminder of ledger row `sent_id` (an e-mail, and the home page's notice), or drop it.

    The row is claimed first (queued → sent, compare-and-swap): a second run of the task, at the
    same time or later, finds it taken and does nothing.
    """
    now = at or timezone.now()
    with transaction.atomic():
        if not Sent.objects.filter(pk=sent_id, status=Status.QUEUED).update(status=Status.SENT, finished_at=now):
            return "already done"
        row = Sent.objects.select_related("appointment", "appointment__user", "appointment__person").get(pk=sent_id)
        appointment = row.appointment
        assert appointment is not None  # a reminder's row names its appointment (a check constraint)
        if (reason := _why_not(appointment, row, now)) is not None:
            return _drop(row, reason, now)
        links = {
            "ticket_url": site_url(reverse("ticket", args=[appointment.ticket_id])) if appointment.ticket_id else "",
            "calendar_url": site_url(reverse("appointment_ics", args=[appointment.pk])),
        }
        messages = send(
            "appointment_reminder",
            [appointment.user],
            {"appointment": appointment, "ticket": appointment.ticket, "minutes_left": _minutes(appointment, now)}
            | links,
            key=f"reminder:{appointment.uid}:{row.sequence}",
        )
        if messages:
            row.message = messages[0]
            row.save(update_fields=["message"])
    logger.info("event=reminder_sent id=%s appointment=%s user=%s", row.pk, appointment.pk, row.user_id)
    return "sent"


def _minutes(appointment: Appointment, now: dt.datetime) -> int:
    return max(1, round((appointment.start - now).total_seconds() / 60))


def notices(user: Any, *, at: dt.datetime | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """The home page's notices: the user's reminders sent and not dismissed whose appointment still holds
    (planned, as it was when reminded, not over yet), soonest first."""
    now = at or timezone.now()
    rows = (
        Sent.objects.filter(
            kind=Kind.REMINDER,
            status=Status.SENT,
            dismissed_at=None,
            user_id=user.pk,
            appointment__status=Appointment.Status.PLANNED,
            appointment__sequence=F("sequence"),
            appointment__end__gt=now,
        )
        .order_by("appointment__start", "id")
        .values(
            "id",
            "appointment_id",
            "appointment__title",
            "appointment__start",
            "appointment__end",
            "appointment__place",
            "appointment__ticket_id",
            "appointment__person__name",
        )[:limit]
    )
    return [
        {
            "id": r["id"],
            "appointment": r["appointment_id"],
            "title": r["appointment__title"],
            "start": r["appointment__start"],
            "end": r["appointment__end"],
            "started": r["appointment__start"] <= now,
            "minutes_left": max(0, round((r["appointment__start"] - now).total_seconds() / 60)),
            "place": r["appointment__place"],
            "person": r["appointment__person__name"] or "",
            "ticket": r["appointment__ticket_id"],
        }
        for r in rows
    ]


def dismiss_notice(user: Any, sent_id: int, *, at: dt.datetime | None = None) -> bool:
    """The user hides the notice `sent_id` from their home page; False when it is not theirs or was hidden."""
    return bool(
        Sent.objects.filter(pk=sent_id, user_id=user.pk, kind=Kind.REMINDER, dismissed_at=None).update(
            dismissed_at=at or timezone.now()
        )
    )


# ---- the morning digest -----------------------------------------------------------------------


def digest_day(period_start: dt.datetime, *, at: dt.datetime | None = None) -> dt.date | None:
    """The day a digest run is for: its period's local day, if that is today; None for a run of an earlier
    day (a catch-up after downtime), whose digest is not for today."""
    now = at or timezone.now()
    day = timezone.localdate(period_start)
    return day if day == timezone.localdate(now) else None


def sweep_digests(task: Task[[int], str], *, day: dt.date, at: dt.datetime | None = None) -> int:
    """Queue `task` (send_digest) for each user with a Ciclo role and an e-mail address, once per day."""
    now = at or timezone.now()
    queued = 0
    for user_id in users_with_role().exclude(email="").order_by("pk").values_list("pk", flat=True):
        row = _claim(task, kind=Kind.DIGEST, user_id=user_id, day=day, queued_at=now)
        queued += row is not None
    return queued


def send_digest(
    sent_id: int, build: Callable[[Any, dt.date], dict[str, Any] | None], *, at: dt.datetime | None = None
) -> str:
    """Send the digest of ledger row `sent_id`, or drop it: its day is over, or nothing is due that day.

    `build(user, day)` gives the e-mail's context (None: nothing due).
    """
    now = at or timezone.now()
    with transaction.atomic():
        if not Sent.objects.filter(pk=sent_id, status=Status.QUEUED).update(status=Status.SENT, finished_at=now):
            return "already done"
        row = Sent.objects.select_related("user").get(pk=sent_id)
        assert row.day is not None  # a digest's row names its day (a check constraint)
        if row.day != timezone.localdate(now):
            return _drop(row, Reason.DAY_OVER, now)
        if not row.user.is_active:
            return _drop(row, Reason.INACTIVE, now)
        context = build(row.user, row.day)
        if context is None:
            return _drop(row, Reason.NOTHING_DUE, now)
        messages = send("followup_digest", [row.user], context, key=f"digest:{row.user_id}:{row.day.isoformat()}")
        if messages:
            row.message = messages[0]
            row.save(update_fields=["message"])
    logger.info("event=digest_sent id=%s user=%s day=%s", row.pk, row.user_id, row.day)
    return "sent"

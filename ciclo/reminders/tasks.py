"""The reminders' tasks: two periodic sweeps (ciclo/jobs/schedules.py) and the tasks they queue.

The work is in ciclo.reminders.sending; each task here only calls it.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_tasks import task

from ciclo.reminders import sending


@task()
def send_reminders() -> str:
    """Queue the reminder of every appointment that starts within its user's lead time (periodic)."""
    queued = sending.sweep_reminders(send_reminder)
    return ngettext("Queued %(count)d reminder.", "Queued %(count)d reminders.", queued) % {"count": queued}


@task()
def send_reminder(sent_id: int) -> str:
    return sending.send_reminder(sent_id)


@task()
def send_digests() -> str:
    """Queue the morning digest of each user for today (periodic, daily); a run for an earlier day queues none."""
    from ciclo.jobs.schedules import job

    now = timezone.now()
    when = job("send_digests").when
    period_start = when.period_start(now, timezone.get_default_timezone()) if when is not None else now
    day = sending.digest_day(period_start, at=now)
    if day is None:
        return gettext("The digest of an earlier day is not sent today: nothing queued.")
    queued = sending.sweep_digests(send_digest, day=day, at=now)
    return ngettext("Queued %(count)d digest.", "Queued %(count)d digests.", queued) % {"count": queued}


@task()
def send_digest(sent_id: int) -> str:
    from ciclo.reminders.digest import digest_context

    return sending.send_digest(sent_id, digest_context)

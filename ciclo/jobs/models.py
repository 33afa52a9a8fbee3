"""What the background processes leave behind: their heartbeats and the runs of periodic jobs."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """One row per `ciclo worker` or `ciclo scheduler` process, beaten while it runs, stamped when it stops."""

    class Kind(models.TextChoices):
        WORKER = "worker", _("Worker")
        SCHEDULER = "scheduler", _("Scheduler")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, unique=True)
    backend = models.CharField(_("task backend"), max_length=10)
    hostname = models.CharField(_("host"), max_length=255)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started at"))
    beat_at = models.DateTimeField(_("last beat at"))
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    tasks_succeeded = models.PositiveIntegerField(_("tasks succeeded"), default=0)
    tasks_failed = models.PositiveIntegerField(_("tasks failed"), default=0)
    current_task = models.CharField(_("running now"), max_length=200, blank=True)
    current_task_since = models.DateTimeField(_("running since"), null=True, blank=True)

    class Meta:
        ordering = ["-beat_at"]
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"


class ScheduledRun(models.Model):
    """One run of a periodic job (ciclo/jobs/schedules.py) for one of its periods.

    The unique (job, period_start) is what makes a period run once: a scheduler enqueues the
    job's task only if its insert of this row won, however many schedulers run at once.
    """

    class Outcome(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=64)
    period_start = models.DateTimeField(_("period start"))
    scheduled_at = models.DateTimeField(_("scheduled at"))
    scheduled_by = models.CharField(_("scheduled by"), max_length=64)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.QUEUED)
    result = models.CharField(_("result"), max_length=500, blank=True, help_text=_("What the run did, or its error."))

    class Meta:
        ordering = ["-period_start", "job"]
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        constraints = [models.UniqueConstraint(fields=["job", "period_start"], name="scheduledrun_once_per_period")]
        indexes = [models.Index(fields=["-period_start"], name="scheduledrun_period_idx")]

    def __str__(self) -> str:
        return f"{self.job} @ {timezone.localtime(self.period_start):%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

"""Runs each periodic job (ciclo/jobs/schedules.py) once per period, however many schedulers run.

For each job whose current period has no run yet, a scheduler inserts ScheduledRun(job, period_start)
and enqueues `run_scheduled_job` only if that insert won: the unique (job, period_start) makes
every other scheduler's insert fail. Only the current period is ever inserted, so after downtime
a job runs once, for its latest period, not once per period it missed.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from types import FrameType
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks_db.backend import DatabaseBackend

from ciclo.jobs import heartbeat, schedules
from ciclo.jobs.models import Heartbeat, ScheduledRun
from ciclo.jobs.tasks import run_scheduled_job
from ciclo.jobs.worker import keep_connections

logger = logging.getLogger("ciclo.jobs")
Outcome = ScheduledRun.Outcome


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def schedule_due(*, by: str, at: datetime | None = None) -> list[ScheduledRun]:
    """Schedule every job whose current period has no run yet; return the runs this call inserted."""
    now = at or timezone.now()
    zone = _zone()
    due = {job.name: (job, when.period_start(now, zone)) for job, when in schedules.scheduled()}
    latest = dict(
        ScheduledRun.objects.filter(job__in=due)
        .values("job")
        .annotate(last=Max("period_start"))
        .values_list("job", "last")
    )
    won = []
    for name, (job, period_start) in due.items():
        # A run for this period or a later one (the schedule was changed since) exists: nothing to do.
        if name in latest and latest[name] >= period_start:
            continue
        if (run := _claim(job, period_start, now=now, by=by)) is not None:
            won.append(run)
    return won


def _claim(job: schedules.Job, period_start: datetime, *, now: datetime, by: str) -> ScheduledRun | None:
    """Insert the run of `job` for `period_start` and enqueue it; None when another scheduler has it."""
    same_database = isinstance(run_scheduled_job.get_backend(), DatabaseBackend)
    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(
                job=job.name, period_start=period_start, scheduled_at=now, scheduled_by=by
            )
            if same_database:
                # One transaction: the run and its task are saved together, or neither is.
                run.task_id = run_scheduled_job.enqueue(run.pk).id
                run.save(update_fields=["task_id"])
    except IntegrityError:
        # Another scheduler inserted this period's run between our look and our insert.
        logger.info("event=period_taken job=%s period_start=%s name=%s", job.name, period_start.isoformat(), by)
        return None
    if not same_database:
        # After the commit, so that a worker never looks for a run that is not there yet.
        try:
            run.task_id = run_scheduled_job.enqueue(run.pk).id
        except Exception as exc:
            # The broker is down: the period is taken, so say why it will not run.
            run.outcome = Outcome.FAILED
            run.finished_at = timezone.now()
            run.result = _short(gettext("Could not be queued: %(error)s") % {"error": _error_text(exc)})
            run.save(update_fields=["outcome", "finished_at", "result"])
            return run
        run.save(update_fields=["task_id"])
    return run


def perform(run_id: int) -> str:
    """Run the job of ScheduledRun `run_id` here and record how it went; what the job returned is its result.

    Idempotent: a run that is not queued any more (a second delivery of its task) is left alone.
    """
    if not ScheduledRun.objects.filter(pk=run_id, outcome=Outcome.QUEUED).update(
        outcome=Outcome.RUNNING, started_at=timezone.now()
    ):
        return gettext("Scheduled run %(id)s was not queued any more: nothing done.") % {"id": run_id}
    run = ScheduledRun.objects.get(pk=run_id)
    try:
        result = str(schedules.job(run.job).task.call())
    except Exception as exc:
        _finish(run, Outcome.FAILED, _error_text(exc))
        raise
    _finish(run, Outcome.SUCCEEDED, result)
    return result


def _finish(run: ScheduledRun, outcome: ScheduledRun.Outcome, result: str) -> None:
    run.outcome = outcome
    run.finished_at = timezone.now()
    run.result = _short(result)
    run.save(update_fields=["outcome", "finished_at", "result"])


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _short(text: str) -> str:
    limit = ScheduledRun._meta.get_field("result").max_length or 500
    return text if len(text) <= limit else text[: limit - 1] + "…"


def seconds_to_next_period(*, at: datetime | None = None) -> float:
    """How long until the next period of any job starts, at most CICLO_SCHEDULER_TICK_SECONDS."""
    now = at or timezone.now()
    zone = _zone()
    wait = float(settings.CICLO_SCHEDULER_TICK_SECONDS)
    for _job, when in schedules.scheduled():
        wait = min(wait, (when.next_start(now, zone) - now).total_seconds())
    return max(wait, 0.0)


class Scheduler:
    """The loop of `ciclo scheduler`: a tick at each period start (and every tick seconds), until SIGTERM/SIGINT."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or heartbeat.process_name("scheduler")
        self.stopping = threading.Event()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("event=scheduler_stopping name=%s signal=%s", self.name, signal.Signals(signum).name)
        self.stopping.set()

    def tick(self) -> list[ScheduledRun]:
        won = schedule_due(by=self.name)
        heartbeat.beat(self.name)
        for run in won:
            logger.info(
                "event=scheduled job=%s period_start=%s run=%s task_id=%s outcome=%s",
                run.job,
                run.period_start.isoformat(),
                run.pk,
                run.task_id or "-",
                run.outcome,
            )
        return won

    def run(self, *, once: bool = False) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        keep_connections()
        heartbeat.start(Heartbeat.Kind.SCHEDULER, self.name)
        jobs = ", ".join(f"{job.name}={when}" for job, when in schedules.scheduled()) or "-"
        logger.info("event=scheduler_started name=%s jobs=%r", self.name, jobs)
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    self.tick()
                except DatabaseError as exc:
                    # The database is away (a restart, a failover): the next tick tries again.
                    logger.warning("event=scheduler_tick_failed name=%s error=%s", self.name, _error_text(exc))
                if once:
                    break
                # Just past the next period's start, so that it is due when we look.
                self.stopping.wait(seconds_to_next_period() + 0.01)
        finally:
            heartbeat.stop(self.name)
            logger.info("event=scheduler_stopped name=%s", self.name)

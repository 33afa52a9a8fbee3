"""`ciclo worker`: runs queued tasks on whichever backend the settings name, and logs one line per task.

- database backend: django-tasks-db's worker loop (what `db_worker` runs); each task is claimed
  under a row lock (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite: an exclusive
  transaction), so several workers on several machines run each task once;
- redis backend: an RQ worker (what `rqworker` runs), in one process: tasks run in the worker
  itself, as on the database backend, instead of in a forked child.

Either way the process keeps a Heartbeat row beaten from a thread of its own, and stops cleanly on
SIGTERM or SIGINT: it finishes the task it is running, takes no other, and exits (a second signal
stops it at once). Every process that runs tasks logs, on the "ciclo.tasks" logger, one line per
task: its name, id, queue, outcome and duration.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.db import close_old_connections, connections
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResult, TaskResultStatus, task_backends
from django_tasks.signals import task_finished, task_started
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker as DatabaseWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from ciclo.jobs import heartbeat
from ciclo.jobs.models import Heartbeat

task_log = logging.getLogger("ciclo.tasks")
logger = logging.getLogger("ciclo.jobs")


@dataclass
class Tally:
    """What this process has run: its heartbeat's counters and the task in hand."""

    worker: str = "-"
    succeeded: int = 0
    failed: int = 0
    current: str = ""
    since: datetime | None = None
    clocks: dict[str, float] = field(default_factory=dict)

    def heartbeat_fields(self) -> dict[str, Any]:
        return {
            "tasks_succeeded": self.succeeded,
            "tasks_failed": self.failed,
            "current_task": self.current,
            "current_task_since": self.since,
        }


tally = Tally()


def logfmt(**fields: object) -> str:
    """key=value pairs, a value quoted when it holds a space, a quote or an equals sign."""
    parts = []
    for key, value in fields.items():
        text = "-" if value is None or value == "" else str(value)
        if any(c in text for c in ' "='):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


@receiver(task_started, dispatch_uid="ciclo-task-started")
def _task_started(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    tally.clocks[task_result.id] = perf_counter()
    tally.current = task_result.task.name
    tally.since = timezone.now()


@receiver(task_finished, dispatch_uid="ciclo-task-finished")
def _task_finished(sender: type, task_result: TaskResult, **kwargs: Any) -> None:
    began = tally.clocks.pop(task_result.id, None)
    if began is not None:
        duration_ms: float | None = (perf_counter() - began) * 1000
    elif task_result.started_at and task_result.finished_at:
        duration_ms = (task_result.finished_at - task_result.started_at).total_seconds() * 1000
    else:
        duration_ms = None
    failed = task_result.status == TaskResultStatus.FAILED
    if failed:
        tally.failed += 1
    else:
        tally.succeeded += 1
    tally.current, tally.since = "", None
    error = task_result.errors[-1].exception_class_path if failed and task_result.errors else None
    task_log.info(
        logfmt(
            event="task",
            name=task_result.task.name,
            id=task_result.id,
            queue=task_result.task.queue_name,
            backend=settings.CICLO_TASKS_BACKEND,
            worker=tally.worker,
            outcome=task_result.status,
            duration_ms=None if duration_ms is None else f"{duration_ms:.1f}",
            **({"error": error} if failed else {}),
        )
    )


class _DatabaseWorker(DatabaseWorker):
    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            super().shutdown(signum, frame)  # the second signal: stop now
            return
        # The library's first signal exits at once when no task is running, which can fall between
        # claiming a task and running it (the task would stay "running" for ever): finish the loop instead.
        logger.info(logfmt(event="worker_stopping", name=self.worker_id, signal=signal.Signals(signum).name))
        self.running = False


def _run_database(*, name: str, queues: list[str], batch: bool, max_tasks: int | None, interval: float) -> None:
    worker = _DatabaseWorker(
        queue_names=queues,
        interval=interval,
        batch=batch,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=not batch,
        max_tasks=max_tasks,
        worker_id=name,
        excluded_queue_names=[],
    )
    worker.configure_signals()
    worker.run()


# How long a Redis worker waits for a task before it looks whether it was asked to stop.
RQ_POLL_SECONDS = 1


def _run_redis(*, name: str, queues: list[str], batch: bool, max_tasks: int | None) -> None:
    import django_rq
    from django_tasks_rq import Job
    from rq.job import Job as RQJob
    from rq.queue import Queue
    from rq.utils import now as rq_now
    from rq.worker import SimpleWorker

    class RedisWorker(SimpleWorker):
        def request_stop(self, signum: int, frame: FrameType | None) -> None:
            if self._stop_requested:
                self.request_force_stop(signum, frame)  # the second signal: stop now
                return
            # RQ's own stop raises out of a waiting BLPOP, which can lose a task popped at that moment:
            # only raise the flag, which the loop reads between tasks and every RQ_POLL_SECONDS while idle.
            logger.info(logfmt(event="worker_stopping", name=self.name, signal=signal.Signals(signum).name))
            self._shutdown_requested_date = rq_now()
            self._stop_requested = True

        def dequeue_job_and_maintain_ttl(
            self, timeout: int | None, max_idle_time: int | None = None
        ) -> tuple[RQJob, Queue] | None:
            if timeout is None:  # burst: no waiting
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            while not self._stop_requested:
                found = super().dequeue_job_and_maintain_ttl(RQ_POLL_SECONDS, max_idle_time=RQ_POLL_SECONDS)
                if found is not None:
                    return found
            return None

        def execute_job(self, job: RQJob, queue: Queue) -> None:
            # As Django does around a request: no connection left broken or past CONN_MAX_AGE.
            close_old_connections()
            try:
                super().execute_job(job, queue)
            finally:
                close_old_connections()

    # get_worker's hint names rq's forking Worker; any BaseWorker works (SimpleWorker shares its interface).
    worker = django_rq.get_worker(*queues, worker_class=RedisWorker, job_class=Job, name=name)  # type: ignore[arg-type]
    # with_scheduler: RQ moves tasks given a run_after to their queue when it comes.
    worker.work(burst=batch, max_jobs=max_tasks, logging_level="WARNING", with_scheduler=True)


# CONN_MAX_AGE of a worker or scheduler unless the environment sets one: each is one long-lived
# thread that looks at the database every second or so, and a new connection per look would cost
# more than the tasks (PostgreSQL: about 25 ms each, which held a worker to some 35 tasks a second).
PROCESS_CONN_MAX_AGE = 600


def keep_connections() -> None:
    if "CONN_MAX_AGE" not in os.environ:
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = PROCESS_CONN_MAX_AGE


def run(
    *,
    queues: list[str] | None = None,
    batch: bool = False,
    max_tasks: int | None = None,
    interval: float = 1.0,
    name: str | None = None,
) -> None:
    """Work on `queues` (all of CICLO_TASK_QUEUES by default) until stopped, or until none is left (`batch`)."""
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    queues = queues or list(settings.CICLO_TASK_QUEUES)
    unknown = sorted(set(queues) - set(backend.queues)) if backend.queues else []
    if unknown:
        raise CommandError(
            _("--queue-name: %(unknown)s is not in CICLO_TASK_QUEUES (%(queues)s).")
            % {"unknown": ", ".join(unknown), "queues": ", ".join(sorted(backend.queues))}
        )
    name = name or heartbeat.process_name("worker")
    tally.worker = name
    keep_connections()
    heartbeat.start(Heartbeat.Kind.WORKER, name)
    beating = heartbeat.Beating(name, tally.heartbeat_fields)
    beating.start()
    logger.info(
        logfmt(event="worker_started", name=name, backend=settings.CICLO_TASKS_BACKEND, queues=",".join(queues))
    )
    try:
        if isinstance(backend, DatabaseBackend):
            _run_database(name=name, queues=queues, batch=batch, max_tasks=max_tasks, interval=interval)
        elif type(backend).__name__ == "RQBackend":
            _run_redis(name=name, queues=queues, batch=batch, max_tasks=max_tasks)
        else:
            raise CommandError(
                _("The task backend %(backend)s has no worker: its tasks run where they are queued.")
                % {"backend": type(backend).__name__}
            )
    finally:
        beating.stop()
        heartbeat.beat(name, **tally.heartbeat_fields())
        heartbeat.stop(name)
        logger.info(
            logfmt(event="worker_stopped", name=name, tasks_succeeded=tally.succeeded, tasks_failed=tally.failed)
        )


def run_queued_tasks(*, limit: int = 10_000) -> list[TaskResult]:
    """Run here, now, every task waiting on the database backend (and any they queue); return their results.

    For tests: what a worker would do, in the test's own process, transaction and database.
    A task's failure is in its result (status FAILED, errors), as a worker would record it.
    """
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    if not isinstance(backend, DatabaseBackend):
        raise TypeError(f"run_queued_tasks needs the database backend, not {type(backend).__name__}")
    worker = DatabaseWorker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name=backend.alias,
        startup_delay=False,
        max_tasks=None,
        worker_id="in-process",
        excluded_queue_names=[],
    )
    ran: list[TaskResult] = []
    while len(ran) < limit:
        with exclusive_transaction():
            claimed = DBTaskResult.objects.ready().filter(backend_name=backend.alias).get_locked()
            if claimed is None:
                break
            claimed.claim(worker.worker_id)
        worker.run_task(claimed)
        claimed.refresh_from_db()
        ran.append(claimed.task_result)
    return ran

"""The collections' tasks: the daily update (ciclo/jobs/schedules.py) and the update started from the web or the API.

`start_update` is what the web's button and `POST /api/v1/collections/update` call: it queues
update_collections_task, or, while an update it queued is still waiting or running, answers that one
(two clicks are one update). `update_state` says where a queued update is, for the page and the API.

While the update runs, its run row (CollectionRun) tells how many debtors it has worked of how many
(`done`/`total`), written at most every PROGRESS_SECONDS from a thread of its own with its own
connection: the update does all its work in one transaction, which no other connection sees until it
commits. PostgreSQL lets that second connection write the run row meanwhile; SQLite has one writer at a
time (the update holds it), so there the row tells its progress only at the end and the page shows
the time the update has been running instead.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, router, transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import TaskContext, TaskResult, TaskResultStatus, task
from django_tasks.exceptions import TaskException

from ciclo.collections.models import CollectionRun, QueuedUpdate
from ciclo.collections.update import update_collections
from ciclo.configurator.models import CrmOptions

logger = logging.getLogger("ciclo.collections")

# How often, at most, a running update writes its progress on its run row.
PROGRESS_SECONDS = 0.5


def summary(run: CollectionRun) -> str:
    """What a run did, in one line."""
    if run.status == CollectionRun.Status.FAILED:
        return gettext("Collections update failed: %(error)s") % {"error": run.error}
    c = run.counts
    return gettext(
        "Collections update: %(opened)d opened, %(added)d added to, %(closed)d closed; "
        "%(receivables)d receivables collected, %(emailed)d e-mails."
    ) % {k: int(c.get(k, 0)) for k in ("opened", "added", "closed", "receivables", "emailed")}


@task()
def update_collections_daily() -> str:
    """The scheduled run (daily): signed by the CRM options' automatic note user. A site that does not
    collect (no collection type in the CRM options) runs nothing."""
    if not CrmOptions.objects.filter(pk=1, collection_analytical_type__isnull=False).exists():
        return gettext("No collection type in the CRM options: no collections to update.")
    run = update_collections(trigger=CollectionRun.Trigger.SCHEDULE)
    if run.status == CollectionRun.Status.FAILED:
        raise RuntimeError(summary(run))
    return summary(run)


# ---- the run of a task and its progress ------------------------------------------------------


@dataclass
class _Running:
    task_id: str
    marked: bool = False


# The task running in this thread, if any: the run update_collections creates for it carries its id.
_running: contextvars.ContextVar[_Running | None] = contextvars.ContextVar("collections_task", default=None)


@receiver(pre_save, sender=CollectionRun, dispatch_uid="collections-run-of-task")
def _mark_run_of_task(sender: type[CollectionRun], instance: CollectionRun, **kwargs: Any) -> None:
    """A run created while update_collections_task runs is that task's: it records the task's id as it is
    inserted, so the page following the task finds the run (and its progress) before the task ends."""
    current = _running.get()
    if current is not None and instance._state.adding and not current.marked:
        instance.task_id = current.task_id
        current.marked = True


class _ProgressWriter(threading.Thread):
    """Writes the latest (done, total) on the task's run row every PROGRESS_SECONDS, from its own
    connection (committed at once, whatever the update's transaction holds)."""

    def __init__(self, running: _Running) -> None:
        super().__init__(name=f"collections progress {running.task_id}", daemon=True)
        self.running = running
        self.latest: tuple[int, int] | None = None
        self.written: tuple[int, int] | None = None
        self.stopping = threading.Event()

    def tell(self, done: int, total: int) -> None:
        self.latest = (done, total)

    def run(self) -> None:
        try:
            while not self.stopping.wait(PROGRESS_SECONDS):
                latest = self.latest
                if latest is None or latest == self.written:
                    continue
                try:
                    CollectionRun.objects.filter(task_id=self.running.task_id).update(done=latest[0], total=latest[1])
                    self.written = latest
                except DatabaseError as exc:  # progress is a courtesy: the run goes on
                    logger.warning("collections progress not written task=%s: %s", self.running.task_id, exc)
                    connections.close_all()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def _progress_visible_meanwhile() -> bool:
    """Whether a second connection may write while the update's transaction is open (not on SQLite)."""
    return connections[router.db_for_write(CollectionRun)].vendor != "sqlite"


@contextmanager
def _recording(task_id: str) -> Iterator[_ProgressWriter]:
    running = _Running(task_id)
    token = _running.set(running)
    writer = _ProgressWriter(running)
    # Inside a transaction already (a test's), a second connection would not see the run row at all.
    live = _progress_visible_meanwhile() and not connections[router.db_for_write(CollectionRun)].in_atomic_block
    if live:
        writer.start()
    try:
        yield writer
    finally:
        _running.reset(token)
        if live:
            writer.stop()
        if writer.latest is not None:
            done, total = writer.latest
            CollectionRun.objects.filter(task_id=task_id).update(done=done, total=total)


@task(takes_context=True)
def update_collections_task(context: TaskContext, params: dict[str, Any]) -> int:
    """An update started by hand or through the API (start_update): `params` holds `by` (a user id or None),
    `trigger` and `dry_run`. Returns the run's id (CollectionRun: its status, counts and error); the run
    carries the task's id and, while it runs, its progress."""
    user_id = params.get("by")
    by = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    with _recording(str(context.task_result.id)) as writer:
        run = update_collections(
            by=by,
            trigger=params.get("trigger", CollectionRun.Trigger.MANUAL),
            dry_run=bool(params.get("dry_run", False)),
            progress=writer.tell,
        )
    return run.pk


# ---- starting it and following it -------------------------------------------------------------


def find_update(task_id: str) -> TaskResult[int] | None:
    """The update queued with this id, or None (not an id of the task backend, or another task's)."""
    try:
        return update_collections_task.get_result(task_id)
    except (TaskException, ValueError):
        return None


def _in_flight(result: TaskResult[int], now: dt.datetime) -> bool:
    """Queued, or running for less than a task may run (a worker killed mid-run leaves it "running")."""
    if result.status == TaskResultStatus.READY:
        return True
    started = result.started_at or result.enqueued_at
    return (
        result.status == TaskResultStatus.RUNNING
        and started is not None
        and now - started < dt.timedelta(seconds=settings.CICLO_TASK_TIMEOUT)
    )


@dataclass
class Started:
    result: TaskResult[int]
    new: bool  # False: an update was already queued or running, and `result` is that one


def start_update(*, by: Any, trigger: str, dry_run: bool = False) -> Started:
    """Queue the collections update (update_collections_task), unless one queued from here is still waiting or
    running: that one is answered then, and nothing is queued. Permissions are the caller's to check."""
    # Read first, outside a transaction: on SQLite a running update holds the one write lock until it
    # commits, and a second click must still be answered at once.
    if (current := current_update()) is not None:
        return Started(current, new=False)
    with transaction.atomic():
        queued, _created = QueuedUpdate.objects.select_for_update().get_or_create(pk=1)
        current = find_update(queued.task_id) if queued.task_id else None
        if current is not None and _in_flight(current, timezone.now()):
            return Started(current, new=False)
        user = by if getattr(by, "is_authenticated", False) else None
        result = update_collections_task.enqueue(
            {"by": user.pk if user else None, "trigger": trigger, "dry_run": dry_run}
        )
        queued.task_id, queued.queued_at, queued.queued_by, queued.dry_run = (
            str(result.id),
            timezone.now(),
            user,
            dry_run,
        )
        queued.save()
    return Started(result, new=True)


def current_update() -> TaskResult[int] | None:
    """The update queued from the web or the API that is still waiting or running, if any."""
    queued = QueuedUpdate.objects.filter(pk=1).values_list("task_id", flat=True).first()
    result = find_update(queued) if queued else None
    return result if result is not None and _in_flight(result, timezone.now()) else None


State = Literal["queued", "running", "done", "failed"]
_STATES: dict[str, State] = {
    TaskResultStatus.READY: "queued",
    TaskResultStatus.RUNNING: "running",
    TaskResultStatus.SUCCESSFUL: "done",
    TaskResultStatus.FAILED: "failed",
}


@dataclass
class UpdateState:
    """Where a queued update is: its task's state, and the run it records (from the moment it starts)."""

    result: TaskResult[int]
    state: State
    run: CollectionRun | None
    error: str  # why the task failed before it recorded a run (its exception's class)

    @property
    def in_progress(self) -> bool:
        return self.state in {"queued", "running"}


def update_state(result: TaskResult[int]) -> UpdateState:
    runs = CollectionRun.objects.select_related("started_by")
    run = None
    if result.status == TaskResultStatus.SUCCESSFUL and result.return_value is not None:
        run = runs.filter(pk=result.return_value).first()
    else:
        run = runs.filter(task_id=str(result.id)).order_by("-id").first()
    error = ""
    if result.status == TaskResultStatus.FAILED:
        error = "; ".join(e.exception_class_path.rsplit(".", 1)[-1] for e in result.errors) or gettext("It failed.")
    state = _STATES.get(result.status, "queued")
    if state == "running" and not _in_flight(result, timezone.now()):
        state = "failed"
        error = error or gettext("The update stopped before it finished (its worker stopped).")
    return UpdateState(result, state, run, error)


def elapsed(result: TaskResult[int], now: dt.datetime | None = None) -> int:
    """Seconds since the update started (or was queued)."""
    since = result.started_at or result.enqueued_at
    return max(0, int(((now or timezone.now()) - since).total_seconds())) if since else 0


__all__ = [
    "PROGRESS_SECONDS",
    "Started",
    "UpdateState",
    "current_update",
    "elapsed",
    "find_update",
    "start_update",
    "summary",
    "update_collections_daily",
    "update_collections_task",
    "update_state",
]

"""Ciclo's own tasks: the housekeeping jobs, and the task that performs a scheduled run.

A periodic job's task takes no arguments and returns a short text saying what it did,
which its ScheduledRun keeps (shown in the admin). It runs in the worker's language (LANGUAGE_CODE).
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from ciclo.jobs.models import Heartbeat, ScheduledRun


@task()
def prune_task_records() -> str:
    """Delete finished task results, heartbeats and scheduled runs older than their settings keep them."""
    now = timezone.now()
    results = 0
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    if isinstance(backend, DatabaseBackend):
        # The Redis backend keeps no rows here: RQ expires its results itself.
        cutoff = now - timedelta(days=settings.CICLO_TASK_RESULTS_KEEP_DAYS)
        results, _ = (
            DBTaskResult.objects.finished().filter(backend_name=backend.alias, finished_at__lte=cutoff).delete()
        )
    # A process silent that long has stopped, cleanly or not.
    heartbeats, _ = Heartbeat.objects.filter(
        beat_at__lt=now - timedelta(days=settings.CICLO_TASK_RESULTS_KEEP_DAYS)
    ).delete()
    runs, _ = ScheduledRun.objects.filter(
        period_start__lt=now - timedelta(days=settings.CICLO_SCHEDULED_RUNS_KEEP_DAYS)
    ).delete()
    return gettext(
        "Removed %(results)d finished task results, %(heartbeats)d heartbeats and %(runs)d scheduled runs."
    ) % {"results": results, "heartbeats": heartbeats, "runs": runs}


@task()
def clear_expired_sessions() -> str:
    """What `ciclo clearsessions` does, counting what it removed when the sessions are in the database."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if issubclass(store, DatabaseSessionStore):
        removed, _ = store.get_model_class().objects.filter(expire_date__lt=timezone.now()).delete()
        return ngettext("Removed %(count)d expired session.", "Removed %(count)d expired sessions.", removed) % {
            "count": removed
        }
    store.clear_expired()
    return gettext("Cleared the expired sessions.")


@task()
def run_scheduled_job(run_id: int) -> str:
    """Perform one ScheduledRun: its job's task, here, recorded on the run (ciclo.jobs.scheduler.perform)."""
    from ciclo.jobs.scheduler import perform

    return perform(run_id)

"""What /healthz reports: the database, the workers' and the scheduler's heartbeats, the tasks waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Q
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from ciclo.jobs.models import Heartbeat

_redis_clients: dict[str, Any] = {}


def _age(then: datetime | None, now: datetime) -> float | None:
    return None if then is None else round(max((now - then).total_seconds(), 0.0), 1)


def _pending_on_redis() -> int:
    """Tasks waiting in the Redis queues, asked with a short timeout: a hung broker must not hang /healthz."""
    import redis
    from rq.queue import Queue

    client = _redis_clients.get(settings.REDIS_URL)
    if client is None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        _redis_clients[settings.REDIS_URL] = client
    return sum(Queue(name, connection=client).count for name in settings.CICLO_TASK_QUEUES)


def report(*, at: datetime | None = None) -> dict[str, Any]:
    """The state of Ciclo's parts, each with "ok"; the database's is false when it did not answer.

    Two queries: the heartbeats in one aggregate, the tasks waiting in one count (the database
    backend's "ready" rows, read from its partial index on PostgreSQL).
    """
    now = at or timezone.now()
    worker_max_age = settings.CICLO_HEALTH_WORKER_MAX_AGE
    scheduler_max_age = settings.CICLO_HEALTH_SCHEDULER_MAX_AGE
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    tasks: dict[str, Any] = {"backend": settings.CICLO_TASKS_BACKEND, "ok": True, "pending": None}
    try:
        beats = Heartbeat.objects.filter(stopped_at__isnull=True).aggregate(
            worker_beat=Max("beat_at", filter=Q(kind=Heartbeat.Kind.WORKER)),
            workers=Count(
                "pk", filter=Q(kind=Heartbeat.Kind.WORKER, beat_at__gte=now - timedelta(seconds=worker_max_age))
            ),
            scheduler_beat=Max("beat_at", filter=Q(kind=Heartbeat.Kind.SCHEDULER)),
        )
        if isinstance(backend, DatabaseBackend):
            tasks["pending"] = DBTaskResult.objects.filter(
                status=TaskResultStatus.READY, backend_name=backend.alias
            ).count()
    except DatabaseError as exc:
        return {
            "status": "unavailable",
            "database": {"ok": False, "error": type(exc).__name__},
            "workers": {"ok": False},
            "scheduler": {"ok": False},
            "tasks": {**tasks, "ok": False},
        }
    if not isinstance(backend, DatabaseBackend):
        try:
            tasks["pending"] = _pending_on_redis()
        except Exception as exc:  # redis.RedisError and socket errors alike: the broker did not answer
            tasks.update(ok=False, error=type(exc).__name__)
    worker_age = _age(beats["worker_beat"], now)
    scheduler_age = _age(beats["scheduler_beat"], now)
    workers = {
        "ok": beats["workers"] > 0,
        "alive": beats["workers"],
        "last_beat_age_s": worker_age,
        "max_age_s": worker_max_age,
    }
    scheduler = {
        "ok": scheduler_age is not None and scheduler_age <= scheduler_max_age,
        "last_tick_age_s": scheduler_age,
        "max_age_s": scheduler_max_age,
    }
    everything = workers["ok"] and scheduler["ok"] and tasks["ok"]
    return {
        "status": "ok" if everything else "degraded",
        "database": {"ok": True},
        "workers": workers,
        "scheduler": scheduler,
        "tasks": tasks,
    }


def healthy(state: dict[str, Any], *, worker: bool = False, scheduler: bool = False) -> bool:
    """Whether `state` is healthy for who asks: the database always; the workers (with the broker) and the
    scheduler only when asked."""
    if not state["database"]["ok"]:
        return False
    if worker and not (state["workers"]["ok"] and state["tasks"]["ok"]):
        return False
    return not (scheduler and not state["scheduler"]["ok"])

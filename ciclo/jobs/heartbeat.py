"""A background process's heartbeat row: made when it starts, beaten while it runs, stamped when it stops."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from ciclo.jobs.models import Heartbeat

logger = logging.getLogger("ciclo.jobs")


def process_name(kind: str) -> str:
    """A name unique to this process (at most 64 characters): its kind, host, pid and a random part."""
    return f"{kind}@{socket.gethostname()[:32]}:{os.getpid()}:{get_random_string(6)}"


def start(kind: Heartbeat.Kind, name: str) -> Heartbeat:
    now = timezone.now()
    return Heartbeat.objects.create(
        kind=kind,
        name=name,
        backend=settings.CICLO_TASKS_BACKEND,
        hostname=socket.gethostname()[:255],
        pid=os.getpid(),
        started_at=now,
        beat_at=now,
    )


def beat(name: str, **fields: Any) -> None:
    Heartbeat.objects.filter(name=name).update(beat_at=timezone.now(), **fields)


def stop(name: str) -> None:
    """Stamp the process stopped; a database that is gone by then is only logged (the row then ages out)."""
    try:
        Heartbeat.objects.filter(name=name).update(beat_at=timezone.now(), stopped_at=timezone.now())
    except DatabaseError as exc:
        logger.warning("event=heartbeat_not_stopped name=%s error=%s", name, type(exc).__name__)


class Beating(threading.Thread):
    """Beats `name` every CICLO_WORKER_HEARTBEAT_SECONDS from its own thread and connection.

    A worker in the middle of a long task still beats: the row says the process is alive, and
    `current_task` says what it is doing. `fields` gives the columns to write with each beat.
    """

    def __init__(self, name: str, fields: Callable[[], dict[str, Any]]) -> None:
        super().__init__(name=f"heartbeat {name}", daemon=True)
        self.beat_name = name
        self.fields = fields
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(settings.CICLO_WORKER_HEARTBEAT_SECONDS):
                try:
                    beat(self.beat_name, **self.fields())
                except DatabaseError as exc:
                    # The database may be restarting: the next beat tries again.
                    logger.warning("event=heartbeat_failed name=%s error=%s", self.beat_name, type(exc).__name__)
                    connections.close_all()
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)

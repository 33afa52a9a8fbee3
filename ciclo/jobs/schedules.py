"""Every periodic job Ciclo runs, in one place.

A job is a name, a task (no arguments; returns a short text saying what it did) and when it runs
by default (ciclo/jobs/when.py: ``daily 03:30``, ``every 15 minutes``, ``off``). A site changes
the times without changing code: CICLO_SCHEDULES="name=when, name=when" (settings).

`ciclo scheduler` runs each job once per period of its schedule (ciclo/jobs/scheduler.py).
To add a job, add one line to JOBS.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_tasks.base import Task

from ciclo.collections import tasks as collections
from ciclo.jobs import tasks
from ciclo.jobs.when import When, parse_when
from ciclo.reminders import tasks as reminders


@dataclass(frozen=True)
class Job:
    name: str
    task: Task[[], str]
    default: str

    @property
    def schedule(self) -> str:
        """The schedule in force: the site's (CICLO_SCHEDULES) or the job's default."""
        return str(settings.CICLO_SCHEDULES.get(self.name, self.default))

    @property
    def when(self) -> When | None:
        return parse_when(self.schedule)


JOBS = [
    Job("prune_task_records", tasks.prune_task_records, "daily 03:30"),
    Job("clear_expired_sessions", tasks.clear_expired_sessions, "daily 03:45"),
    Job("send_reminders", reminders.send_reminders, "every 1 minutes"),
    Job("send_digests", reminders.send_digests, "daily 07:00"),
    Job("update_collections", collections.update_collections_daily, "daily 06:00"),
]


def job(name: str) -> Job:
    """The job named `name`; KeyError when there is none (a run of a job since removed)."""
    for candidate in JOBS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def scheduled() -> list[tuple[Job, When]]:
    """The jobs that are not off, each with its schedule."""
    return [(j, when) for j in JOBS if (when := j.when) is not None]

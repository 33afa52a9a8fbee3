"""Two sweeps at once queue each reminder and each digest once (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from ciclo.accounts.roles import Role
from ciclo.reminders import tasks
from ciclo.reminders.models import Sent
from ciclo.reminders.sending import send_reminder, sweep_digests, sweep_reminders
from tests.factory import make_user
from tests.reminders.conftest import at, make_appointment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres(settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent sweeps are exercised on PostgreSQL (make test runs the suite there too)")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def run_at_once(jobs):
    """Each job in its own thread and connection, released together; their results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # the test looks at what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_sweeps_at_once_queue_each_reminder_once():
    users = [make_user(f"u{i}", Role.AGENT, email=f"u{i}@example.com") for i in range(3)]
    appointments = [make_appointment(u, at(3, 10, n)) for u in users for n in range(0, 10, 2)]
    with time_machine.travel(at(3, 9, 58), tick=False):  # all start within 15 minutes
        results = run_at_once([lambda: sweep_reminders(tasks.send_reminder) for _ in range(4)])
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == len(appointments) == 15
    assert Sent.objects.count() == 15
    queued = DBTaskResult.objects.filter(task_path="ciclo.reminders.tasks.send_reminder")
    assert queued.count() == 15
    assert sorted(queued.values_list("args_kwargs__args__0", flat=True)) == sorted(
        Sent.objects.values_list("pk", flat=True)
    )


def test_the_same_reminder_sent_by_two_tasks_at_once_goes_out_once():
    user = make_user("ana", Role.AGENT, email="ana@example.com")
    make_appointment(user, at(3, 10))
    with time_machine.travel(at(3, 9, 50), tick=False):
        sweep_reminders(tasks.send_reminder)
        [row] = Sent.objects.all()
        results = run_at_once([lambda: send_reminder(row.pk) for _ in range(4)])
    assert sorted(map(str, results)) == ["already done"] * 3 + ["sent"]
    from ciclo.mail.models import Message

    assert Message.objects.count() == 1


def test_two_digest_sweeps_at_once_queue_each_users_digest_once():
    for i in range(5):
        make_user(f"d{i}", Role.AGENT, email=f"d{i}@example.com")
    day = dt.date(2026, 12, 3)
    with time_machine.travel(at(3, 7), tick=False):
        results = run_at_once([lambda: sweep_digests(tasks.send_digest, day=day) for _ in range(3)])
    assert sum(results) == 5, results  # type: ignore[arg-type]
    assert Sent.objects.filter(kind=Sent.Kind.DIGEST, day=day).count() == 5

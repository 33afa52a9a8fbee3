"""`ciclo collections update [--dry-run]` and the daily job."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from ciclo.collections.models import CollectionRun
from ciclo.jobs import schedules
from ciclo.tickets.models import Ticket
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

MONDAY = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)


def call(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with time_machine.travel(MONDAY, tick=False):
        call_command("collections", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_runs_the_update_with_a_progress_bar_and_says_what_it_did(collections: CollectionSetup) -> None:
    collections.receivable(make_person())
    collections.receivable(make_person())

    out, err = call("update")

    assert "2 opened" in out and "2 receivables" in out
    assert "2/2" in err  # the bar
    assert CollectionRun.objects.get().trigger == CollectionRun.Trigger.COMMAND
    assert Ticket.objects.count() == 2


def test_the_dry_run_says_what_it_would_do_and_changes_nothing(collections: CollectionSetup) -> None:
    collections.receivable(make_person())

    out, _err = call("update", "--dry-run")

    assert out.startswith("(dry run)") and "1 opened" in out
    assert not Ticket.objects.exists()


def test_a_refused_run_stops_the_command_with_the_reason(collections: CollectionSetup) -> None:
    collections.options(automatic_note_user=None)

    with pytest.raises(CommandError, match="signs automatic notes"):
        call("update")


def test_the_update_runs_daily_and_the_scheduled_run_says_what_it_did(collections: CollectionSetup) -> None:
    job = schedules.job("update_collections")
    assert job.schedule == "daily 06:00"
    collections.receivable(make_person())

    with time_machine.travel(MONDAY, tick=False):
        said = job.task.call()

    assert "1 opened" in said
    assert CollectionRun.objects.get().trigger == CollectionRun.Trigger.SCHEDULE


def test_a_refused_scheduled_run_fails_its_job_with_the_reason(collections: CollectionSetup) -> None:
    collections.options(automatic_note_user=None)

    with pytest.raises(RuntimeError, match="signs automatic notes"):
        schedules.job("update_collections").task.call()


def test_a_site_without_a_collection_type_runs_no_scheduled_update(collections: CollectionSetup) -> None:
    collections.options(collection_analytical_type=None)

    assert "no collections to update" in schedules.job("update_collections").task.call()
    assert not CollectionRun.objects.exists()


def test_the_task_of_the_web_and_the_api_returns_the_runs_id(collections: CollectionSetup) -> None:
    from ciclo.collections.tasks import update_collections_task
    from ciclo.jobs.worker import run_queued_tasks

    collections.receivable(make_person())
    with time_machine.travel(MONDAY, tick=False):
        queued = update_collections_task.enqueue({"by": collections.robot.pk, "trigger": "api", "dry_run": True})
        (result,) = run_queued_tasks()

    run = CollectionRun.objects.get(task_id=str(queued.id))
    assert result.return_value == run.pk
    assert run.trigger == "api" and run.dry_run and run.started_by == collections.robot and run.counts["opened"] == 1
    assert (run.done, run.total) == (1, 1)

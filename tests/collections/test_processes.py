"""Real `ciclo collections update` processes on one PostgreSQL: killed with kill -9 at several points, two at once.

Whatever point a run is killed at, the next run leaves exactly what one clean run does: one collection
per debtor, each receivable in it once, one opening and one automatic note per collection.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db.models import Count

from ciclo.collections.models import CollectionItem, CollectionRun, Receivable
from ciclo.tickets.models import Note, PhaseMove, Ticket
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person
from tests.test_jobs import Process, postgres_env, wait_until

DEBTORS = 150

pytestmark = pytest.mark.postgres


def _load(setup: CollectionSetup) -> None:
    for n in range(DEBTORS):
        person = make_person()
        setup.receivable(person, due_date="2020-01-10")
        if n % 3 == 0:
            setup.receivable(person, due_date="2020-02-10", instalment="2")


def _progress(proc: Process) -> int:
    found = re.findall(rf"(\d+)/{DEBTORS}", proc.output)
    return int(found[-1]) if found else -1


def _check_one_clean_result() -> None:
    tickets = Ticket.objects.filter(service_type__code="3.1")
    assert tickets.count() == DEBTORS
    assert not tickets.values("person").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert CollectionItem.objects.filter(released_at=None).count() == Receivable.objects.count()
    assert CollectionItem.objects.count() == Receivable.objects.count()
    assert Note.objects.filter(kind=Note.Kind.AUTOMATIC).count() == DEBTORS
    assert Note.objects.filter(kind=Note.Kind.OPENING).count() == DEBTORS
    assert PhaseMove.objects.filter(kind=PhaseMove.Kind.OPEN).count() == DEBTORS


@pytest.mark.parametrize("point", ["starting", "first debtors", "halfway", "almost done"])
def test_a_run_killed_at_any_point_then_run_again_gives_one_clean_run(
    point: str,
    needs_postgres: None,
    collections_tx: CollectionSetup,
    processes: Callable[..., Process],
    tmp_path: Path,
) -> None:
    _load(collections_tx)
    env = postgres_env(tmp_path)
    proc = processes("collections", "update", env=env, log=tmp_path / "killed.log")
    reached = {"starting": 0, "first debtors": 1, "halfway": DEBTORS // 2, "almost done": DEBTORS - 5}[point]
    if reached:
        wait_until(lambda: _progress(proc) >= reached, timeout=120, what=f"{reached} debtors worked", every=0.02)
    proc.signal(signal.SIGKILL)
    proc.wait(timeout=30)

    again = processes("collections", "update", env=env, log=tmp_path / "again.log")
    assert again.wait(timeout=300) == 0, again.output

    _check_one_clean_result()
    final = CollectionRun.objects.filter(status=CollectionRun.Status.DONE).get()
    assert final.counts["opened"] == DEBTORS
    interrupted = CollectionRun.objects.exclude(pk=final.pk)
    assert all(r.status == CollectionRun.Status.FAILED for r in interrupted)  # the killed one, if it got that far


def test_two_runs_started_together_give_the_result_of_one(
    needs_postgres: None, collections_tx: CollectionSetup, processes: Callable[..., Process], tmp_path: Path
) -> None:
    _load(collections_tx)
    env = postgres_env(tmp_path)
    procs = [processes("collections", "update", env=env, log=tmp_path / f"run{i}.log") for i in range(2)]

    assert [p.wait(timeout=300) for p in procs] == [0, 0], [p.output for p in procs]

    _check_one_clean_result()
    runs = list(CollectionRun.objects.all())
    assert len(runs) == 2 and all(r.status == CollectionRun.Status.DONE for r in runs)
    assert sorted(r.counts["opened"] for r in runs) == [0, DEBTORS]

"""Real `ciclo collections update` processes on one PostgreSQL: killed with kill -9 at several points, two at once.

Whatever point a run is killed at, the next run leaves exactly what one clean run does: one collection
per debtor, each receivable in it once, one opening and one automatic note per collection.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Count

from ciclo.collections.models import CollectionItem, CollectionRun, Receivable
from ciclo.people.models import Person
from ciclo.tickets.models import Note, PhaseMove, Ticket
from tests.collections.conftest import CollectionSetup
from tests.test_jobs import Process, postgres_env, wait_until

# More than one chunk of debtors (update.CHUNK), opened a batch at a time (update.OPEN_BATCH, the
# progress told after each): each kill point below falls while the run is working, before it commits.
DEBTORS = 1200

pytestmark = pytest.mark.postgres


def _load(setup: CollectionSetup) -> None:
    people = [Person(name=f"Devedor {n:04d}") for n in range(DEBTORS)]
    for person in people:
        person.refresh_search_key()
    Person.objects.bulk_create(people)
    receivables = []
    for n, person in enumerate(people):
        receivables.append(_receivable(setup, person, n, "1", dt.date(2020, 1, 10)))
        if n % 3 == 0:
            receivables.append(_receivable(setup, person, n, "2", dt.date(2020, 2, 10)))
    Receivable.objects.bulk_create(receivables)


def _receivable(setup: CollectionSetup, person: Person, n: int, instalment: str, due: dt.date) -> Receivable:
    return Receivable(
        person=person,
        company=setup.company,
        document=f"NF{n:05d}",
        instalment=instalment,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        amount=Decimal("100.00"),
        open_balance=Decimal("100.00"),
        kind=setup.normal,
    )


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
    # The first batch opened; halfway through the first chunk; the last chunk's first batch opened.
    reached = {"starting": 0, "first debtors": 100, "halfway": 500, "almost done": DEBTORS - 100}[point]
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

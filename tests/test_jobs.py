"""Background work: tasks run once by real `ciclo worker` processes, schedules run once per period, `make run`'s pieces.

The worker and scheduler tests start the real commands as processes against the test's own
database (PostgreSQL: its test database; `make run`: a fresh SQLite data folder). The tasks they
run are defined here, at module level, so a worker imports them (PYTHONPATH is the repository).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from ciclo.jobs import schedules
from ciclo.jobs.models import Heartbeat, ScheduledRun
from ciclo.jobs.scheduler import _claim, perform, schedule_due
from ciclo.jobs.tasks import clear_expired_sessions, prune_task_records
from ciclo.jobs.when import BadSchedule, Daily, Every, parse_schedules, parse_when
from ciclo.jobs.worker import run_queued_tasks

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CICLO = BIN / "ciclo"
RUNS_TABLE = "jobs_test_run"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


# --- tasks the workers run ----------------------------------------------------------------------


@task()
def record_run(n: int) -> int:
    """Write that task n ran; a second run of it breaks the table's primary key, and fails loudly."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RUNS_TABLE} (n, pid) VALUES (%s, %s)", [n, os.getpid()])
    return n


@task()
def slow_record_run(n: int, seconds: float) -> int:
    time.sleep(seconds)
    return record_run.call(n)


@task()
def failing_job() -> str:
    raise RuntimeError("the ledger is locked")


# --- helpers ------------------------------------------------------------------------------------


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a process under test: this repository importable, quick heartbeats."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("CICLO_")}
    env.update(
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        CICLO_DATA_DIR=str(tmp_path),
        CICLO_WORKER_HEARTBEAT_SECONDS="0.5",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def postgres_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Processes that share this test's PostgreSQL database."""
    db = connection.settings_dict
    login = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return process_env(tmp_path, DATABASE_URL=url, **extra)


class Process:
    """A `ciclo` command (or another program) running in its own session, its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        self._out.close()


@pytest.fixture
def processes() -> Iterator[Callable[..., Process]]:
    """Start processes; any still running when the test ends is killed with its children."""
    started: list[Process] = []

    def start(*args: str, env: dict[str, str], log: Path, program: Path = CICLO) -> Process:
        proc = Process([str(program), *args], env, log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("processes sharing one database are tested on PostgreSQL (make test runs the suite there too)")


@pytest.fixture
def runs_table(transactional_db: None) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {RUNS_TABLE} (n integer PRIMARY KEY, pid integer NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {RUNS_TABLE}")


def recorded_runs() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, pid FROM {RUNS_TABLE}")
        return dict(cursor.fetchall())


def task_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "event=task " in line]


# --- schedules: when a job is due ---------------------------------------------------------------


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SAO_PAULO)  # type: ignore[misc]


def test_a_daily_period_starts_at_its_time_in_the_site_time_zone() -> None:
    daily = Daily(parse_when("daily 03:30").at)  # type: ignore[union-attr]
    assert daily.period_start(local(2026, 3, 5, 3, 29), SAO_PAULO) == local(2026, 3, 4, 3, 30)
    assert daily.period_start(local(2026, 3, 5, 3, 30), SAO_PAULO) == local(2026, 3, 5, 3, 30)
    assert daily.next_start(local(2026, 3, 5, 3, 30), SAO_PAULO) == local(2026, 3, 6, 3, 30)
    # 03:30 in São Paulo is 06:30 UTC
    assert daily.period_start(datetime(2026, 3, 5, 7, 0, tzinfo=UTC), SAO_PAULO) == datetime(
        2026, 3, 5, 6, 30, tzinfo=UTC
    )


def test_periods_of_every_n_minutes_count_from_local_midnight() -> None:
    every = parse_when("every 15 minutes")
    assert every == Every(900)
    assert every.period_start(local(2026, 3, 5, 10, 44, 59), SAO_PAULO) == local(2026, 3, 5, 10, 30)
    assert every.next_start(local(2026, 3, 5, 10, 44, 59), SAO_PAULO) == local(2026, 3, 5, 10, 45)
    # every 7 hours: 00, 07, 14, 21, then the next day starts again at 00
    seven = parse_when("every 7h")
    assert seven.period_start(local(2026, 3, 5, 23, 0), SAO_PAULO) == local(2026, 3, 5, 21, 0)
    assert seven.next_start(local(2026, 3, 5, 23, 0), SAO_PAULO) == local(2026, 3, 6, 0, 0)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("weekly", "daily HH:MM, every N seconds|minutes|hours"),
        ("daily 24:00", "from 00:00 to 23:59"),
        ("every 0 minutes", "from 1 second to 24 hours"),
        ("every 25 hours", "from 1 second to 24 hours"),
        ("every 5 fortnights", "seconds, minutes or hours"),
    ],
)
def test_a_schedule_that_follows_no_rule_is_refused_naming_the_rule(text: str, rule: str) -> None:
    with pytest.raises(BadSchedule, match=re.escape(rule)):
        parse_when(text)


def test_ciclo_schedules_names_jobs_with_their_schedules() -> None:
    assert parse_schedules(" prune_task_records = daily 04:10 , clear_expired_sessions=off,") == {
        "prune_task_records": "daily 04:10",
        "clear_expired_sessions": "off",
    }
    with pytest.raises(BadSchedule, match="name=when"):
        parse_schedules("daily 04:10")


def _ciclo_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = process_env(tmp_path, **env)
    full.pop("DATABASE_URL", None)
    return subprocess.run(
        [str(CICLO), "check"], env=full, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_bad_schedule_or_backend_in_the_environment_stops_ciclo_naming_the_variable(tmp_path: Path) -> None:
    bad_schedule = _ciclo_check(tmp_path, CICLO_SCHEDULES="prune_task_records=weekly")
    assert bad_schedule.returncode != 0
    assert "CICLO_SCHEDULES: 'weekly' must be daily HH:MM" in bad_schedule.stderr
    unknown_job = _ciclo_check(tmp_path, CICLO_SCHEDULES="collections=daily 05:00")
    assert unknown_job.returncode != 0
    assert "CICLO_SCHEDULES names the job 'collections', which does not exist" in unknown_job.stderr
    bad_backend = _ciclo_check(tmp_path, CICLO_TASKS_BACKEND="kafka")
    assert bad_backend.returncode != 0
    assert "CICLO_TASKS_BACKEND must be database or redis, got 'kafka'" in bad_backend.stderr


# --- the scheduler, in this process -------------------------------------------------------------


@pytest.fixture
def schedule(settings: Any) -> Callable[..., None]:
    settings.TIME_ZONE = "America/Sao_Paulo"

    def set_schedules(**whens: str) -> None:
        settings.CICLO_SCHEDULES = {job.name: "off" for job in schedules.JOBS} | whens

    return set_schedules


def scheduled_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path="ciclo.jobs.tasks.run_scheduled_job"))


@pytest.mark.django_db
def test_a_due_job_is_scheduled_once_per_period(schedule: Callable[..., None]) -> None:
    schedule(clear_expired_sessions="every 15 minutes")
    first = schedule_due(by="s1", at=local(2026, 3, 5, 10, 31))
    again = schedule_due(by="s1", at=local(2026, 3, 5, 10, 44))
    other = schedule_due(by="s2", at=local(2026, 3, 5, 10, 40))
    nxt = schedule_due(by="s2", at=local(2026, 3, 5, 10, 45))
    assert [(r.job, r.period_start) for r in first] == [("clear_expired_sessions", local(2026, 3, 5, 10, 30))]
    assert again == other == []
    assert [r.period_start for r in nxt] == [local(2026, 3, 5, 10, 45)]
    assert sorted(t.args_kwargs["args"][0] for t in scheduled_tasks()) == sorted(r.pk for r in first + nxt)
    assert {r.task_id for r in ScheduledRun.objects.all()} == {str(t.id) for t in scheduled_tasks()}


@pytest.mark.django_db
def test_after_downtime_each_job_runs_once_for_its_latest_period(schedule: Callable[..., None]) -> None:
    schedule(prune_task_records="daily 03:30", clear_expired_sessions="every 15 minutes")
    schedule_due(by="s", at=local(2026, 3, 2, 4, 0))
    # the scheduler is down for three days and five hours
    catch_up = schedule_due(by="s", at=local(2026, 3, 5, 9, 5))
    assert sorted((r.job, r.period_start) for r in catch_up) == [
        ("clear_expired_sessions", local(2026, 3, 5, 9, 0)),
        ("prune_task_records", local(2026, 3, 5, 3, 30)),
    ]
    assert ScheduledRun.objects.count() == 4
    assert len(scheduled_tasks()) == 4
    assert all(r.scheduled_at == local(2026, 3, 5, 9, 5) for r in catch_up)


@pytest.mark.django_db
def test_a_scheduler_whose_insert_loses_enqueues_nothing(schedule: Callable[..., None]) -> None:
    schedule(clear_expired_sessions="every 15 minutes")
    period = local(2026, 3, 5, 10, 30)
    (won,) = schedule_due(by="first", at=local(2026, 3, 5, 10, 31))
    # the second scheduler read no run for the period before the first inserted it
    lost = _claim(schedules.job("clear_expired_sessions"), period, now=local(2026, 3, 5, 10, 31), by="second")
    assert lost is None
    assert ScheduledRun.objects.get().scheduled_by == "first"
    assert [str(t.id) for t in scheduled_tasks()] == [won.task_id]


@pytest.mark.django_db
def test_a_job_turned_off_is_not_scheduled(schedule: Callable[..., None]) -> None:
    schedule()
    assert schedule_due(by="s", at=local(2026, 3, 5, 10, 31)) == []
    assert not ScheduledRun.objects.exists()


@pytest.mark.django_db
def test_a_run_records_when_it_was_scheduled_started_and_finished_its_outcome_and_what_it_did(
    schedule: Callable[..., None],
) -> None:
    schedule(clear_expired_sessions="every 1 hours")
    now = timezone.now()
    Session.objects.create(session_key="old", session_data="", expire_date=now - timedelta(days=1))
    Session.objects.create(session_key="live", session_data="", expire_date=now + timedelta(days=1))
    (run,) = schedule_due(by="s", at=now)
    assert run.outcome == ScheduledRun.Outcome.QUEUED
    (result,) = run_queued_tasks()
    run.refresh_from_db()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.id == run.task_id
    assert run.outcome == ScheduledRun.Outcome.SUCCEEDED
    assert run.result == result.return_value == "Removed 1 expired session."
    assert run.scheduled_at <= run.started_at <= run.finished_at  # type: ignore[operator]
    assert run.duration is not None and run.duration >= timedelta(0)
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_failed_with_its_error(
    schedule: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "JOBS", [*schedules.JOBS, schedules.Job("ledger", failing_job, "every 1 hours")])
    schedule(ledger="every 1 hours")
    schedule_due(by="s", at=timezone.now())
    (result,) = run_queued_tasks()
    run = ScheduledRun.objects.get(job="ledger")
    assert result.status == TaskResultStatus.FAILED
    assert run.outcome == ScheduledRun.Outcome.FAILED
    assert run.result == "RuntimeError: the ledger is locked"
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_second_delivery_of_a_run_does_nothing(schedule: Callable[..., None]) -> None:
    schedule(clear_expired_sessions="every 1 hours")
    (run,) = schedule_due(by="s", at=timezone.now())
    run_queued_tasks()
    run.refresh_from_db()
    before = (run.outcome, run.started_at, run.finished_at, run.result)
    assert perform(run.pk) == f"Scheduled run {run.pk} was not queued any more: nothing done."
    run.refresh_from_db()
    assert (run.outcome, run.started_at, run.finished_at, run.result) == before


@pytest.mark.django_db
def test_the_housekeeping_job_prunes_old_task_results_heartbeats_and_runs_and_keeps_the_rest(settings: Any) -> None:
    settings.CICLO_TASK_RESULTS_KEEP_DAYS = 14
    settings.CICLO_SCHEDULED_RUNS_KEEP_DAYS = 90
    now = timezone.now()
    for _ in range(3):
        clear_expired_sessions.enqueue()
    run_queued_tasks()
    old, _recent, _third = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=15))
    waiting = clear_expired_sessions.enqueue()
    DBTaskResult.objects.filter(pk=waiting.id).update(enqueued_at=now - timedelta(days=30))
    for name, beat in (("gone", now - timedelta(days=15)), ("alive", now)):
        Heartbeat.objects.create(
            kind=Heartbeat.Kind.WORKER,
            name=name,
            backend="database",
            hostname="h",
            pid=1,
            started_at=beat,
            beat_at=beat,
        )
    for days in (91, 89):
        ScheduledRun.objects.create(
            job="clear_expired_sessions",
            period_start=now - timedelta(days=days),
            scheduled_at=now - timedelta(days=days),
            scheduled_by="s",
        )
    assert prune_task_records.call() == "Removed 1 finished task results, 1 heartbeats and 1 scheduled runs."
    assert str(old.pk) not in {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert DBTaskResult.objects.count() == 3  # the recent ones and the one still waiting
    assert list(Heartbeat.objects.values_list("name", flat=True)) == ["alive"]
    assert ScheduledRun.objects.get().period_start == now - timedelta(days=89)


# --- the admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_administrator_reads_the_scheduled_runs_filtered_by_job_and_outcome_and_cannot_change_them(
    client: Any, admin_user: Any, schedule: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "JOBS", [*schedules.JOBS, schedules.Job("ledger", failing_job, "every 1 hours")])
    schedule(ledger="every 1 hours", clear_expired_sessions="every 1 hours")
    schedule_due(by="s", at=timezone.now())
    run_queued_tasks()
    client.force_login(admin_user)
    failed = client.get("/admin/jobs/scheduledrun/", {"outcome": "failed"})
    assert failed.status_code == 200
    assert "RuntimeError: the ledger is locked" in failed.text
    assert "Removed 0 expired sessions." not in failed.text
    by_job = client.get("/admin/jobs/scheduledrun/", {"job": "clear_expired_sessions"})
    assert "Removed 0 expired sessions." in by_job.text
    assert "the ledger is locked" not in by_job.text
    run = ScheduledRun.objects.get(job="ledger")
    page = client.get(f"/admin/jobs/scheduledrun/{run.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert client.get("/admin/jobs/scheduledrun/add/").status_code == 403
    assert client.post(f"/admin/jobs/scheduledrun/{run.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ScheduledRun.objects.filter(pk=run.pk).exists()
    assert client.get("/admin/jobs/heartbeat/").status_code == 200


@pytest.mark.django_db
def test_an_agent_cannot_read_the_scheduled_runs(client: Any, agent: Any) -> None:
    client.force_login(agent)
    assert client.get("/admin/jobs/scheduledrun/").status_code in {302, 403}


# --- real worker processes sharing one PostgreSQL -----------------------------------------------


def _enqueue_at_once(count: int, **using: Any) -> list[str]:
    with transaction.atomic():
        return [record_run.using(**using).enqueue(n).id for n in range(count)]


def _start_workers(
    processes: Callable[..., Process], env: dict[str, str], tmp_path: Path, *args: str, count: int = 2
) -> list[Process]:
    workers = [
        processes("worker", "--interval", "0.1", *args, env=env, log=tmp_path / f"worker{i}.log") for i in range(count)
    ]
    wait_until(
        lambda: Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER, stopped_at=None).count() == count,
        timeout=60,
        what="both workers' heartbeats",
    )
    return workers


def _stop(procs: list[Process]) -> list[int]:
    for proc in procs:
        proc.signal(signal.SIGTERM)
    return [proc.wait(timeout=30) for proc in procs]


def _check_each_ran_once(workers: list[Process], ids: list[str], tasks: int) -> None:
    assert sorted(recorded_runs()) == list(range(tasks))
    lines = [line for w in workers for line in task_lines(w.output)]
    assert len(lines) == tasks, lines[:5]
    assert {re.search(r" id=(\S+)", line)[1] for line in lines} == set(ids)  # type: ignore[index]
    assert all("outcome=SUCCESSFUL" in line and "name=record_run" in line for line in lines)
    shares = [len(task_lines(w.output)) for w in workers]
    print(f"\n{tasks} tasks, two workers: {shares[0]} + {shares[1]}")
    assert all(shares), f"each worker took some of the tasks: {shares}"
    beats = Heartbeat.objects.filter(kind=Heartbeat.Kind.WORKER)
    assert all(b.stopped_at is not None for b in beats)
    assert sum(b.tasks_succeeded for b in beats) == tasks
    assert sum(b.tasks_failed for b in beats) == 0


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_run_each_task_exactly_once(
    needs_postgres: None, runs_table: None, processes: Callable[..., Process], tmp_path: Path
) -> None:
    tasks = 400
    workers = _start_workers(processes, postgres_env(tmp_path), tmp_path)
    started = time.monotonic()
    ids = _enqueue_at_once(tasks)
    wait_until(
        lambda: DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"]).count() == tasks,
        timeout=120,
        what=f"{tasks} tasks to finish",
    )
    elapsed = time.monotonic() - started
    print(f"\ntwo database workers on PostgreSQL: {tasks / elapsed:.0f} tasks/s")
    assert _stop(workers) == [0, 0]
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    assert all(len(r.worker_ids) == 1 for r in DBTaskResult.objects.all())
    _check_each_ran_once(workers, ids, tasks)


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0", socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis answers on {os.environ.get('REDIS_URL') or '127.0.0.1:6379'} ({exc})")
    return client


@pytest.fixture
def redis_queue(settings: Any) -> Iterator[str]:
    """A queue of this test's own on the Redis backend, so another test run's workers never take its tasks."""
    client = _redis()
    from rq.queue import Queue

    name = f"test-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
    queues = ["default", name]
    settings.CICLO_TASKS_BACKEND = "redis"
    settings.CICLO_TASK_QUEUES = queues
    settings.RQ_QUEUES = {q: {"URL": _redis_url()} for q in queues}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": queues}}
    yield name
    Queue(name, connection=client).delete(delete_jobs=True)


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.mark.postgres
def test_two_workers_on_the_redis_backend_run_each_task_exactly_once(
    needs_postgres: None, runs_table: None, redis_queue: str, processes: Callable[..., Process], tmp_path: Path
) -> None:
    tasks = 400
    env = postgres_env(
        tmp_path, CICLO_TASKS_BACKEND="redis", CICLO_TASK_QUEUES=f"default,{redis_queue}", REDIS_URL=_redis_url()
    )
    workers = _start_workers(processes, env, tmp_path, "--queue-name", redis_queue)
    started = time.monotonic()
    ids = _enqueue_at_once(tasks, queue_name=redis_queue)
    wait_until(lambda: len(recorded_runs()) == tasks, timeout=120, what=f"{tasks} tasks to run")
    wait_until(lambda: sum(len(task_lines(w.output)) for w in workers) == tasks, timeout=30, what="a log line per task")
    elapsed = time.monotonic() - started
    print(f"\ntwo Redis workers: {tasks / elapsed:.0f} tasks/s")
    assert _stop(workers) == [0, 0]
    results = [record_run.get_result(i) for i in ids]
    assert {r.status for r in results} == {TaskResultStatus.SUCCESSFUL}
    assert sorted(r.return_value for r in results) == list(range(tasks))
    _check_each_ran_once(workers, ids, tasks)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_a_worker_told_to_stop_finishes_its_task_takes_no_other_and_exits(
    backend: str,
    needs_postgres: None,
    runs_table: None,
    processes: Callable[..., Process],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    using: dict[str, str] = {}
    extra: dict[str, str] = {}
    args: list[str] = []
    if backend == "redis":
        queue = request.getfixturevalue("redis_queue")
        using = {"queue_name": queue}
        extra = {"CICLO_TASKS_BACKEND": "redis", "CICLO_TASK_QUEUES": f"default,{queue}", "REDIS_URL": _redis_url()}
        args = ["--queue-name", queue]
    (worker,) = _start_workers(processes, postgres_env(tmp_path, **extra), tmp_path, *args, count=1)
    slow = slow_record_run.using(**using).enqueue(1, 1.5)
    second = record_run.using(**using).enqueue(2)
    wait_until(
        lambda: Heartbeat.objects.filter(current_task="slow_record_run").exists(),
        timeout=30,
        what="the worker to start the slow task",
    )
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert recorded_runs().keys() == {1}
    assert slow_record_run.get_result(slow.id).status == TaskResultStatus.SUCCESSFUL
    assert record_run.get_result(second.id).status == TaskResultStatus.READY
    beat = Heartbeat.objects.get(kind=Heartbeat.Kind.WORKER)
    assert beat.stopped_at is not None
    assert (beat.tasks_succeeded, beat.current_task) == (1, "")
    assert "event=worker_stopping" in worker.output
    assert "Traceback" not in worker.output


# --- two scheduler processes on one PostgreSQL --------------------------------------------------


@pytest.mark.postgres
def test_two_schedulers_run_each_period_exactly_once(
    needs_postgres: None, transactional_db: None, processes: Callable[..., Process], tmp_path: Path
) -> None:
    env = postgres_env(
        tmp_path,
        # Only the job under test: every other one off (a daily job's catch-up run would be a seventh).
        CICLO_SCHEDULES=",".join(
            ["clear_expired_sessions=every 1 seconds"]
            + [f"{j.name}=off" for j in schedules.JOBS if j.name != "clear_expired_sessions"]
        ),
        CICLO_SCHEDULER_TICK_SECONDS="5",
    )
    schedulers = [processes("scheduler", env=env, log=tmp_path / f"scheduler{i}.log") for i in range(2)]
    wait_until(lambda: ScheduledRun.objects.count() >= 6, timeout=60, what="six periods' runs")
    assert _stop(schedulers) == [0, 0]
    runs = list(ScheduledRun.objects.order_by("period_start"))
    starts = [r.period_start for r in runs]
    assert len(set(starts)) == len(starts)
    assert all(s.microsecond == 0 for s in starts)
    # one task per run, each naming its own run
    # (two schedulers insert at once: a later period's row may have the smaller id)
    assert sorted(t.args_kwargs["args"][0] for t in scheduled_tasks()) == sorted(r.pk for r in runs)
    assert sorted(str(t.id) for t in scheduled_tasks()) == sorted(r.task_id for r in runs)
    # periods one second long; one skipped only if both schedulers woke more than a second late
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert all(gap >= 1 and gap.is_integer() for gap in gaps), gaps
    outputs = [s.output for s in schedulers]
    won = [o.count("event=scheduled ") for o in outputs]
    lost = [o.count("event=period_taken ") for o in outputs]
    print(
        f"\n{len(runs)} periods, two schedulers: won {won}, lost the insert {lost}, skipped {sum(gaps) - len(gaps):g}"
    )
    assert sum(won) == len(runs)
    assert all("Traceback" not in o for o in outputs)
    assert {r.scheduled_by for r in runs} <= set(Heartbeat.objects.values_list("name", flat=True))
    # and each run, worked, does what its job does
    results = run_queued_tasks()
    assert {r.status for r in results} == {TaskResultStatus.SUCCESSFUL}
    assert set(ScheduledRun.objects.values_list("outcome", "result")) == {
        (ScheduledRun.Outcome.SUCCEEDED, "Removed 0 expired sessions.")
    }


# --- make run: the Procfile under honcho, on SQLite ---------------------------------------------


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh data folder migrated as `make run` does, its database SQLite."""
    folder = tmp_path_factory.mktemp("site")
    env = process_env(folder)
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [str(CICLO), "migrate", "--noinput", "-v0"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return folder


ENQUEUE = "from ciclo.jobs.tasks import clear_expired_sessions as t; print(t.enqueue().id)"


def _sqlite_env(folder: Path, **extra: str) -> dict[str, str]:
    env = process_env(folder, **extra)
    env.pop("DATABASE_URL", None)
    return env


def _shell(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [str(CICLO), "shell", "-v0", "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_a_worker_on_sqlite_runs_a_queued_task_and_logs_it(sqlite_site: Path, tmp_path: Path) -> None:
    env = _sqlite_env(sqlite_site)
    task_id = _shell(env, ENQUEUE)
    done = subprocess.run(
        [str(CICLO), "worker", "--batch"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in task_lines(done.stderr) if f"id={task_id}" in line]
    assert "name=clear_expired_sessions" in line
    assert "outcome=SUCCESSFUL" in line
    assert re.search(r"duration_ms=\d+\.\d", line)
    status = f"from ciclo.jobs.tasks import clear_expired_sessions as t; print(t.get_result('{task_id}').status)"
    assert _shell(env, status) == "SUCCESSFUL"


def test_make_runs_procfile_starts_the_site_a_worker_and_the_scheduler_and_ctrl_c_stops_them(
    sqlite_site: Path, processes: Callable[..., Process], tmp_path: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    env = _sqlite_env(sqlite_site, ADDRESS=address, CICLO_SCHEDULER_TICK_SECONDS="1")
    honcho = processes("-f", "Procfile.dev", "start", env=env, log=tmp_path / "honcho.log", program=BIN / "honcho")
    # all three are up when the site says the worker beats and the scheduler ticks
    _status, body = wait_until(
        lambda: (got := _get(f"http://{address}/healthz?worker=1&scheduler=1"))[0] == 200 and got,
        timeout=90,
        what="the site, the worker and the scheduler",
        every=0.5,
    )
    assert '"alive": 1' in body
    task_id = _shell(env, ENQUEUE)
    wait_until(lambda: f"id={task_id}" in honcho.output, timeout=30, what="the worker to run the task")
    honcho.signal(signal.SIGINT)
    honcho.wait(timeout=30)
    assert _get(f"http://{address}/healthz")[0] == 0, "the web server stopped"
    beats = "from ciclo.jobs.models import Heartbeat as H; print(H.objects.filter(stopped_at=None).count())"
    assert _shell(env, beats) == "0", "the worker and the scheduler stopped cleanly"
    output = honcho.output
    assert "event=scheduler_started" in output
    assert "event=worker_stopped" in output
    assert "Traceback" not in output

"""/healthz: what a load balancer and a monitor read, without a login or a session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from ciclo.jobs.models import Heartbeat
from ciclo.jobs.tasks import clear_expired_sessions

REPO = Path(__file__).resolve().parent.parent
CICLO = Path(sys.executable).parent / "ciclo"


def beat(name: str, kind: Heartbeat.Kind = Heartbeat.Kind.WORKER, *, ago: float = 0, stopped: bool = False) -> None:
    at = timezone.now() - timedelta(seconds=ago)
    Heartbeat.objects.create(
        kind=kind,
        name=name,
        backend="database",
        hostname="host",
        pid=1,
        started_at=at,
        beat_at=at,
        stopped_at=at if stopped else None,
    )


@pytest.fixture(autouse=True)
def _ages(settings: Any) -> None:
    settings.CICLO_HEALTH_WORKER_MAX_AGE = 60
    settings.CICLO_HEALTH_SCHEDULER_MAX_AGE = 120


@pytest.mark.django_db
def test_healthz_answers_without_a_login_or_a_session_in_two_queries(
    client: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_healthz_stays_200_for_the_load_balancer_while_no_worker_runs_and_says_so(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": {"ok": True},
        "workers": {"ok": False, "alive": 0, "last_beat_age_s": None, "max_age_s": 60},
        "scheduler": {"ok": False, "last_tick_age_s": None, "max_age_s": 120},
        "tasks": {"backend": "database", "ok": True, "pending": 0},
    }


@pytest.mark.django_db
def test_healthz_for_monitoring_fails_when_no_worker_has_beaten_within_the_threshold(client: Any) -> None:
    beat("slow", ago=61)
    beat("gone", ago=1, stopped=True)  # stopped cleanly: not a live worker
    response = client.get("/healthz", {"worker": "1"})
    assert response.status_code == 503
    workers = response.json()["workers"]
    assert workers["ok"] is False
    assert workers["alive"] == 0
    assert 61 <= workers["last_beat_age_s"] < 70
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_reports_the_live_workers_the_scheduler_and_the_tasks_waiting(client: Any) -> None:
    beat("w1", ago=5)
    beat("w2", ago=30)
    beat("s1", Heartbeat.Kind.SCHEDULER, ago=10)
    for _ in range(3):
        clear_expired_sessions.enqueue()
    response = client.get("/healthz", {"worker": "1", "scheduler": "1"})
    assert response.status_code == 200
    state = response.json()
    assert state["status"] == "ok"
    assert state["workers"]["alive"] == 2
    assert 5 <= state["workers"]["last_beat_age_s"] < 15
    assert 10 <= state["scheduler"]["last_tick_age_s"] < 20
    assert state["tasks"] == {"backend": "database", "ok": True, "pending": 3}


@pytest.mark.django_db
def test_healthz_for_monitoring_the_scheduler_fails_when_it_has_not_ticked_within_the_threshold(client: Any) -> None:
    beat("w1")
    beat("s1", Heartbeat.Kind.SCHEDULER, ago=121)
    assert client.get("/healthz", {"worker": "1"}).status_code == 200
    response = client.get("/healthz", {"scheduler": "1"})
    assert response.status_code == 503
    assert response.json()["scheduler"]["ok"] is False


@pytest.mark.django_db
def test_healthz_answers_get_and_head_only(client: Any) -> None:
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_is_not_redirected_to_https_for_a_load_balancer_on_plain_http(client: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_healthz_on_the_redis_backend_fails_for_monitoring_when_the_broker_does_not_answer(
    client: Any, settings: Any
) -> None:
    beat("w1")
    settings.CICLO_TASKS_BACKEND = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.RQ_QUEUES = {"default": {"URL": settings.REDIS_URL}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    assert client.get("/healthz").status_code == 200
    response = client.get("/healthz", {"worker": "1"})
    assert response.status_code == 503
    assert response.json()["tasks"] == {
        "backend": "redis",
        "ok": False,
        "pending": None,
        "error": "ConnectionError",
    }


def test_healthz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("CICLO_")}
    # No PostgreSQL listens on port 1.
    env.update(CICLO_DATA_DIR=str(tmp_path), DATABASE_URL="postgres://postgres@127.0.0.1:1/ciclo", LOG_LEVEL="CRITICAL")
    code = (
        "import json; from django.test import Client; r = Client(HTTP_HOST='localhost').get('/healthz'); "
        "print(r.status_code, json.dumps(r.json()))"
    )
    done = subprocess.run(
        [str(CICLO), "shell", "-v0", "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    status, body = done.stdout.strip().split(" ", 1)
    assert status == "503"
    state = json.loads(body)
    assert state["status"] == "unavailable"
    assert state["database"] == {"ok": False, "error": "OperationalError"}

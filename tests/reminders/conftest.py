"""What the reminders' and feeds' tests share: appointments, a real SMTP server, the task worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_tasks_db.management.commands import db_worker

from ciclo.accounts.roles import ensure_role_groups
from ciclo.agenda.appointments import create_appointment
from ciclo.agenda.models import Appointment
from tests.sales.conftest import selling  # noqa: F401 (the sales setup as a sales type, for the digest)
from tests.test_mail import SENDER, Inbox, _start

SP = ZoneInfo("America/Sao_Paulo")


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    """A moment of December 2026 in São Paulo."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SP)


def make_appointment(user: Any, start: dt.datetime, *, minutes: int = 30, by: Any = None, **kw: Any) -> Appointment:
    kw.setdefault("title", "Ligar para a Ana")
    return create_appointment(user=user, start=start, end=start + dt.timedelta(minutes=minutes), by=by or user, **kw)


@pytest.fixture(autouse=True)
def _role_groups(db: Any) -> None:
    ensure_role_groups()


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and Ciclo's e-mail settings pointing at it."""
    box = Inbox()
    controller = _start(box)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = box.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = SENDER
    settings.CICLO_SITE_URL = "https://ciclo.example.com"
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    yield box
    controller.stop()


@pytest.fixture
def run_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    """Runs every queued task in this process, then returns (the database worker's batch mode)."""
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return partial(call_command, "db_worker", batch=True, reload=False, startup_delay=False, interval=0)

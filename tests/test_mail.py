"""Outgoing e-mail: queued by `send`, sent by a task through a real SMTP server started here (aiosmtpd).

Each test reads what the server received: the subject and body in the recipient's language, the
plain-text and HTML parts, the sender; nothing is sent inside the request that asked for it, and
a task run twice sends once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from ciclo.accounts.models import Profile
from ciclo.accounts.roles import Role
from ciclo.accounts.tokens import create_token
from ciclo.mail.models import Message
from ciclo.mail.sending import send
from ciclo.mail.tasks import deliver
from tests.factory import make_user

SENDER = "Ciclo <ciclo@example.com>"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body((subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


@dataclass
class Inbox:
    """The SMTP server's side: every message it accepted, and who logged in."""

    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password == b"s3cret")
        return AuthResult(success=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(inbox: Inbox, **kwargs: Any) -> Controller:
    inbox.port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, and Ciclo's e-mail settings pointing at it."""
    box = Inbox()
    controller = _start(box)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = box.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = SENDER
    # The database backend whatever the environment chose: the worker below runs its tasks.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    yield box
    controller.stop()


@pytest.fixture
def run_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[[], object]:
    """Runs every queued task in this process, then returns (the database worker's batch mode)."""
    # Between tasks the worker closes stale connections, as a long-running process must; inside a
    # test's transaction that would close the test's own (Django's test client, likewise, stops
    # requests from closing it).
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return partial(call_command, "db_worker", batch=True, reload=False, startup_delay=False, interval=0)


def _user(username: str, language: str = "", **kw: Any) -> Any:
    user = make_user(username, Role.AGENT, email=f"{username}@example.com", **kw)
    if language:
        Profile.objects.create(user=user, language=language)
    return user


def _test_email(to: list[Any], **kw: Any) -> list[Message]:
    queued_at = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)  # 10:00 in São Paulo
    return send("test_email", to, {"queued_at": queued_at, "host": "web1"}, **kw)


# The recipient's language


def test_each_recipient_reads_the_message_in_their_own_language(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    ana = _user("ana", "pt-br", first_name="Ana", last_name="Souza")
    bob = _user("bob", "en", first_name="Bob")
    with django_capture_on_commit_callbacks(execute=True):
        _test_email([ana, bob])
    run_worker()

    by_address = {r.rcpt_tos[0]: r for r in inbox.received}
    assert set(by_address) == {"ana@example.com", "bob@example.com"}
    pt, en = by_address["ana@example.com"], by_address["bob@example.com"]
    assert pt.message["Subject"] == "E-mail de teste do Ciclo"
    assert "Este é um e-mail de teste do Ciclo." in pt.part("plain")
    assert "Este é um e-mail de teste do Ciclo." in pt.part("html")
    assert '<html lang="pt-br">' in pt.part("html")
    assert en.message["Subject"] == "Ciclo test e-mail"
    assert "This is a test e-mail from Ciclo." in en.part("plain")
    assert "This is a test e-mail from Ciclo." in en.part("html")
    assert '<html lang="en">' in en.part("html")


def test_without_a_language_of_their_own_a_recipient_reads_the_sites(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any, settings: Any
) -> None:
    settings.LANGUAGE_CODE = "pt-br"
    with django_capture_on_commit_callbacks(execute=True):
        _test_email([_user("carla"), "ops@example.com"])
        _test_email(["intl@example.com"], language="en")
    run_worker()

    subjects = {r.rcpt_tos[0]: r.message["Subject"] for r in inbox.received}
    assert subjects == {
        "carla@example.com": "E-mail de teste do Ciclo",
        "ops@example.com": "E-mail de teste do Ciclo",
        "intl@example.com": "Ciclo test e-mail",
    }


# What arrives


def test_the_message_has_a_plain_text_and_an_html_part_from_the_configured_sender(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    ana = _user("ana", "en", first_name="Ana", last_name="Souza")
    with django_capture_on_commit_callbacks(execute=True):
        _test_email([ana])
    run_worker()

    [received] = inbox.received
    assert received.mail_from == "ciclo@example.com"
    assert received.message["From"] == SENDER
    assert received.message["To"] == "Ana Souza <ana@example.com>"
    assert received.message.get_content_type() == "multipart/alternative"
    text, html = received.part("plain"), received.part("html")
    assert "<" not in text
    assert "Queued at 02/12/2026 10:00 on web1." in text
    assert "\n\n-- \nCiclo\n" in text  # the signature's separator, which mail clients recognise
    assert text.rstrip().endswith("This is an automatic message from Ciclo.")
    assert html.startswith("<!doctype html>")
    assert "<strong>Ciclo</strong>" in html
    assert "<title>Ciclo test e-mail</title>" in html
    assert "style" not in html  # no CSS for mail clients to drop or mangle


def test_the_html_part_escapes_what_people_typed_and_the_plain_text_keeps_it(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    bob = _user("bob", "en")
    with django_capture_on_commit_callbacks(execute=True):
        create_token(bob, name="<script>alert(1)</script> & co")
    run_worker()

    [received] = inbox.received
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in received.part("html")
    assert "<script>" not in received.part("html")
    assert "Name: <script>alert(1)</script> & co" in received.part("plain")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_server_gets_the_configured_login(
    settings: Any, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    box = Inbox()
    controller = _start(box, authenticator=box.authenticate, auth_required=True, auth_require_tls=False)
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", box.port, 5
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "ciclo", "s3cret"
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
        with django_capture_on_commit_callbacks(execute=True):
            [message] = _test_email(["ops@example.com"])
        run_worker()
    finally:
        controller.stop()
    assert box.logins == [("ciclo", "s3cret")]
    assert len(box.received) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


# Sent by a task, never inside the request


def test_a_token_made_in_the_admin_is_announced_by_a_task_after_the_request(
    inbox: Inbox, transactional_db: Any, run_worker: Any, client: Any
) -> None:
    admin = make_user("root", Role.ADMIN, is_superuser=True, is_staff=True, first_name="Rita", last_name="Admin")
    ana = _user("ana", "pt-br", first_name="Ana")
    client.force_login(admin)

    response = client.post(reverse("admin:accounts_apitoken_add"), {"user": ana.pk, "name": "ERP"})

    assert response.status_code == 200
    raw = re.search(r"ciclo_[a-z0-9]{8}_[A-Za-z0-9_-]+", response.content.decode())
    assert raw is not None
    assert inbox.received == []  # the request only queued it
    [message] = Message.objects.all()
    assert message.status == Message.Status.QUEUED
    assert DBTaskResult.objects.filter(task_path="ciclo.mail.tasks.deliver", status="READY").count() == 1

    run_worker()

    [received] = inbox.received
    assert received.rcpt_tos == ["ana@example.com"]
    assert received.message["Subject"] == "Novo token de API na sua conta do Ciclo"
    text = received.part("plain")
    assert "Olá, Ana." in text
    assert raw.group()[:14] in text  # its prefix, so she can tell it apart
    assert raw.group() not in text and raw.group() not in received.part("html")  # never the token itself
    assert "Rita Admin" in text
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.sent_at is not None


def test_a_user_without_an_address_gets_no_message(db: Any, django_capture_on_commit_callbacks: Any) -> None:
    nobody = make_user("nomail", Role.AGENT)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        create_token(nobody)
    assert queued == []
    assert not Message.objects.exists()


# Safe to run twice


def test_a_task_run_twice_sends_once(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [message] = _test_email(["ops@example.com"])
    deliver.enqueue(message.pk)  # the same message's task again, as a retry would
    run_worker()

    assert len(inbox.received) == 1
    assert deliver.call(message.pk) == "sent"  # and once more, after it was sent
    assert len(inbox.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.SENT, 1)


def test_a_failed_send_is_recorded_and_a_later_run_sends_it(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any, settings: Any, caplog: Any
) -> None:
    settings.EMAIL_PORT = _free_port()  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        [message] = _test_email(["ops@example.com"])
    with caplog.at_level(logging.INFO, logger="ciclo.mail"):
        run_worker()

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "ConnectionRefusedError" in message.error
    assert DBTaskResult.objects.get(task_path="ciclo.mail.tasks.deliver").status == "FAILED"
    [line] = [r.getMessage() for r in caplog.records if r.name == "ciclo.mail"]
    assert line.startswith(f"mail failed id={message.pk} template=test_email to=ops@example.com")

    settings.EMAIL_PORT = inbox.port
    deliver.enqueue(message.pk)
    run_worker()
    assert len(inbox.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (Message.Status.SENT, 2, "")


def test_a_sent_message_logs_one_line(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any, caplog: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [message] = _test_email(["ops@example.com"], language="en")
    with caplog.at_level(logging.INFO, logger="ciclo.mail"):
        run_worker()
    [line] = [r.getMessage() for r in caplog.records if r.name == "ciclo.mail"]
    expected = rf"mail sent id={message.pk} template=test_email to=ops@example.com language=en duration_ms=\d+"
    assert re.fullmatch(expected, line)


def test_a_message_with_a_key_is_queued_once_however_often_it_is_asked_for(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = _test_email(["ops@example.com", "OPS@example.com"], key="digest:2026-12-02")
        again = _test_email(["ops@example.com"], key="digest:2026-12-02")
    run_worker()
    assert (len(first), again) == (1, [])
    assert len(inbox.received) == 1


def test_send_refuses_what_is_not_an_address_or_a_language(db: Any) -> None:
    with pytest.raises(ValueError, match="not an e-mail address: 'ops'"):
        _test_email(["ops"])
    with pytest.raises(ValueError, match="language must be one of pt-br, en, got 'es'"):
        _test_email(["ops@example.com"], language="es")
    assert not Message.objects.exists()


# ciclo sendtestmail


def test_sendtestmail_queues_a_test_email_that_a_worker_sends(
    inbox: Inbox, db: Any, django_capture_on_commit_callbacks: Any, run_worker: Any, capsys: Any
) -> None:
    _user("bob", "en")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("sendtestmail", "ops@example.com", "bob", "--language", "pt-br", "--wait", "0")
    assert "Test e-mail to ops@example.com queued" in capsys.readouterr().out
    assert inbox.received == []
    run_worker()

    assert sorted(r.rcpt_tos[0] for r in inbox.received) == ["bob@example.com", "ops@example.com"]
    assert {r.message["Subject"] for r in inbox.received} == {"E-mail de teste do Ciclo"}


def test_sendtestmail_says_when_no_worker_sent_it(inbox: Inbox, db: Any) -> None:
    with pytest.raises(CommandError, match="1 of 1 test e-mails not sent"):
        call_command("sendtestmail", "ops@example.com", "--wait", "0.2")
    assert Message.objects.get().status == Message.Status.QUEUED


def test_sendtestmail_names_the_argument_it_refuses(db: Any) -> None:
    make_user("nomail", Role.AGENT)
    with pytest.raises(CommandError, match="ADDRESS_OR_USERNAME: there is no user “ghost”"):
        call_command("sendtestmail", "ghost")
    with pytest.raises(CommandError, match="ADDRESS_OR_USERNAME: the user “nomail” has no e-mail address"):
        call_command("sendtestmail", "nomail")
    with pytest.raises(CommandError, match="ADDRESS_OR_USERNAME: “ops@” is not an e-mail address"):
        call_command("sendtestmail", "ops@")
    with pytest.raises(CommandError, match="--wait"):
        call_command("sendtestmail", "ops@example.com", "--wait", "-1")
    assert not Message.objects.exists()


# Settings: read from the environment at start, and a bad value stops Ciclo naming the variable

_EMAIL_VARIABLES = (
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
    "EMAIL_TIMEOUT",
    "DEFAULT_FROM_EMAIL",
)
_PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_TIMEOUT, "
    "s.DEFAULT_FROM_EMAIL, sep='|')"
)


def _start_ciclo(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Settings are read once, at import: each case starts a fresh interpreter."""
    full_env = {k: v for k, v in os.environ.items() if k not in _EMAIL_VARIABLES and k != "DEBUG"}
    full_env.update(DJANGO_SETTINGS_MODULE="ciclo.settings", CICLO_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", _PRINT], env=full_env, capture_output=True, text=True, timeout=120, check=False
    )


def test_without_email_host_messages_go_to_the_console(tmp_path: Path) -> None:
    result = _start_ciclo(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("|")[0] == "django.core.mail.backends.console.EmailBackend"


def test_with_email_host_messages_go_to_that_smtp_server(tmp_path: Path) -> None:
    result = _start_ciclo(
        tmp_path, EMAIL_HOST="smtp.example.com", EMAIL_USE_TLS="1", DEFAULT_FROM_EMAIL="Ciclo <ciclo@example.com>"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "True",
        "False",
        "10",
        "Ciclo <ciclo@example.com>",
    ]


_HOST = {"EMAIL_HOST": "smtp.example.com", "DEFAULT_FROM_EMAIL": "ciclo@example.com"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**_HOST, "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on"),
        ({**_HOST, "EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS must be a boolean"),
        ({**_HOST, "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole number"),
        ({**_HOST, "EMAIL_PORT": "70000"}, "EMAIL_PORT must be a port number from 1 to 65535"),
        ({**_HOST, "EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT must be a number of at least 1"),
        ({**_HOST, "EMAIL_HOST": "smtp.example.com:587"}, "EMAIL_HOST must be a host name or IP address"),
        ({**_HOST, "EMAIL_HOST_USER": "ciclo"}, "EMAIL_HOST_PASSWORD must be set when EMAIL_HOST_USER is"),
        ({**_HOST, "EMAIL_HOST_PASSWORD": "s3cret"}, "EMAIL_HOST_USER must be set when EMAIL_HOST_PASSWORD is"),
        ({**_HOST, "DEFAULT_FROM_EMAIL": "Ciclo"}, "DEFAULT_FROM_EMAIL must be an e-mail address"),
        ({"EMAIL_HOST": "smtp.example.com"}, "DEFAULT_FROM_EMAIL must be set when EMAIL_HOST is"),
        ({"EMAIL_PORT": "587"}, "EMAIL_HOST must be set when EMAIL_PORT is"),
    ],
)
def test_a_bad_email_setting_stops_ciclo_naming_the_variable(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = _start_ciclo(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr

"""What every page and request goes through for safety: the Content-Security-Policy (and templates
that need no inline script or style under it), the session's idle timeout, and a history that
keeps no secret."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.accounts.models import ApiToken
from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token, revoke_token
from ciclo.history.models import Change
from ciclo.security import CONTENT_SECURITY_POLICY

CICLO = Path(__file__).resolve().parents[2] / "ciclo"

# Content-Security-Policy


@pytest.mark.parametrize(
    "directive",
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ],
)
def test_the_policy_has_each_directive(directive):
    assert directive in [part.strip() for part in CONTENT_SECURITY_POLICY.split(";")]


def test_the_policy_allows_nothing_inline_nor_evaluated():
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/",
        "/tickets/",
        "/tickets/new/",
        "/admin/",
        "/api/v1/docs",
        "/api/v1/openapi.json",
        "/api/v1/tickets",
        "/no-such-page/",
        "/static/ciclo/ciclo.js",
    ],
)
def test_every_response_carries_the_policy(client, admin_user, url):
    client.force_login(admin_user)
    response = client.get(url)
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_djangos_debug_pages_are_left_without_the_policy_they_would_break(client, agent, settings):
    # Styled and scripted inline; shown only with DEBUG on, never in production.
    settings.DEBUG = True
    client.force_login(agent)
    assert "Content-Security-Policy" not in client.get("/no-such-page/")
    assert client.get("/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_logged_out_redirect_and_a_lockout_carry_the_policy(client, agent):
    assert client.get("/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    for _ in range(6):
        response = client.post(reverse("login"), {"username": "agent_t", "password": "errada"})
    assert response.status_code == 429
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# Markup that the policy would block: Ciclo's templates, and HTML written in Python strings.

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
INERT_SCRIPT = re.compile(r"""\btype=["']application/(ld\+)?json["']""", re.IGNORECASE)
BLOCKED = {
    "an inline event handler (on…=)": re.compile(r"<[a-z][^>]*?\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL),
    "an htmx hx-on handler": re.compile(r"\shx-on\b", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript\s*:", re.IGNORECASE),
    "a style attribute": re.compile(r"<[a-z][^>]*?\sstyle\s*=", re.IGNORECASE | re.DOTALL),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
}


def _problems(text: str) -> list[str]:
    found = []
    for match in SCRIPT_TAG.finditer(text):
        attributes = match.group(1)
        if not re.search(r"\bsrc\s*=", attributes, re.IGNORECASE) and not INERT_SCRIPT.search(attributes):
            found.append(f"line {text.count(chr(10), 0, match.start()) + 1}: an inline <script>")
    for what, pattern in BLOCKED.items():
        for match in pattern.finditer(text):
            found.append(f"line {text.count(chr(10), 0, match.start()) + 1}: {what}")
    return found


TEMPLATES = sorted(CICLO.glob("**/templates/**/*.html"))
SOURCES = sorted(p for p in CICLO.glob("**/*.py") if "migrations" not in p.parts)


def test_the_template_walk_finds_ciclos_templates():
    names = {p.name for p in TEMPLATES}
    assert {"base.html", "login.html", "ticket.html", "_person_results.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(CICLO)))
def test_no_template_needs_inline_script_or_style(path):
    assert _problems(path.read_text()) == []


def _string_literals(source: str) -> list[tuple[int, str]]:
    """The string literals of a Python module (f-strings too), with their line: markup lives there, not in comments."""
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(token.start[0], token.string) for token in tokens if token.type in kinds]


# A form widget's attributes: attrs={"style": …} or attrs={"onchange": …}.
WIDGET_ATTRIBUTE = re.compile(r"""attrs\s*=\s*\{[^}]*["'](style|on[a-z]+)["']\s*:""", re.IGNORECASE)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(CICLO)))
def test_no_markup_written_in_python_needs_inline_script_or_style(path):
    source = path.read_text()
    found = [f"{line}: {problem}" for line, text in _string_literals(source) for problem in _problems(text)]
    found += [
        f"{source.count(chr(10), 0, m.start()) + 1}: a widget's {m.group(1)} attribute"
        for m in WIDGET_ATTRIBUTE.finditer(source)
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    ["forms.NumberInput(attrs={'style': 'width: 5em'})", 'forms.Select(attrs={"class": "x", "onchange": "go()"})'],
)
def test_the_walk_catches_widget_attributes_the_policy_blocks(source):
    assert WIDGET_ATTRIBUTE.search(source)


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        '<button onclick="go()">',
        '<select id="x"\n   onchange="this.form.submit()">',
        '<a href="javascript:void(0)">',
        '<span style="color: red">',
        "<style>p { color: red }</style>",
        '<div hx-on:click="go()">',
    ],
)
def test_the_walk_catches_what_the_policy_blocks(markup):
    assert _problems(markup)


@pytest.mark.parametrize(
    "markup",
    [
        '<script src="/static/ciclo/ciclo.js" defer></script>',
        '<script type="application/json" id="settings">{}</script>',
        '<svg class="type-swatch"><circle fill="#123456"/></svg>',
        '<input data-onchange="x" name="style">',
        "<p>Conversation, stylesheet, one one</p>",
    ],
)
def test_the_walk_lets_through_what_the_policy_allows(markup):
    assert _problems(markup) == []


def test_the_language_menu_is_bound_from_the_static_script(client, agent):
    client.force_login(agent)
    page = client.get("/").content.decode()
    assert 'id="language" name="language" class="form-select form-select-sm" data-autosubmit' in page
    assert "data-autosubmit" in (CICLO / "static/ciclo/ciclo.js").read_text()


def test_htmx_is_told_not_to_inject_its_indicator_styles(client, agent):
    client.force_login(agent)
    page = client.get("/").content.decode()
    meta = page.index('<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>')
    assert meta < page.index("htmx-2.min.js")  # read when htmx starts
    assert ".htmx-indicator" in (CICLO / "static/ciclo/ciclo.css").read_text()


# The session's idle timeout

T0 = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)


def _log_in(client):
    response = client.post(reverse("login"), {"username": "agent_t", "password": "ciclo-test-pw"})
    assert response.status_code == 302


def _expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_the_idle_timeout_is_8_hours_by_default(settings):
    assert settings.SESSION_IDLE_HOURS == 8
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert not settings.SESSION_SAVE_EVERY_REQUEST


def test_a_session_ends_after_8_idle_hours_and_each_request_pushes_the_end_on(client, agent):
    with time_machine.travel(T0, tick=False) as clock:
        _log_in(client)
        for hours in (7, 14, 21):  # 21 hours after logging in, never idle for 8
            clock.move_to(T0 + dt.timedelta(hours=hours))
            assert client.get("/").status_code == 200
        clock.move_to(T0 + dt.timedelta(hours=29, minutes=1))  # 8 hours and a minute idle
        response = client.get("/")
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_session_idle_for_less_than_the_timeout_stays(client, agent):
    with time_machine.travel(T0, tick=False) as clock:
        _log_in(client)
        clock.move_to(T0 + dt.timedelta(hours=7, minutes=50))
        assert client.get("/").status_code == 200


def test_the_session_is_rewritten_only_once_a_hundredth_of_the_timeout_has_passed(client, agent):
    with time_machine.travel(T0, tick=False) as clock:
        _log_in(client)
        assert _expiry(client) == T0 + dt.timedelta(hours=8)
        clock.move_to(T0 + dt.timedelta(minutes=4))  # less than 8 h / 100 = 4.8 minutes
        client.get("/")
        assert _expiry(client) == T0 + dt.timedelta(hours=8)  # not written
        clock.move_to(T0 + dt.timedelta(minutes=5))
        client.get("/")
        assert _expiry(client) == T0 + dt.timedelta(hours=8, minutes=5)


def test_a_page_that_does_not_push_the_session_on_costs_no_write(client, agent):
    with time_machine.travel(T0, tick=False) as clock:
        _log_in(client)
        clock.move_to(T0 + dt.timedelta(minutes=1))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        session_sql = [q["sql"] for q in queries if "django_session" in q["sql"]]
        assert len(session_sql) == 1 and session_sql[0].startswith("SELECT")
        clock.move_to(T0 + dt.timedelta(minutes=6))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        assert any(q["sql"].startswith("UPDATE") for q in queries if "django_session" in q["sql"])


def test_a_visitor_without_a_session_gets_none(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


def test_the_idle_timeout_follows_the_setting(client, agent, settings):
    settings.SESSION_COOKIE_AGE = 3600
    with time_machine.travel(T0, tick=False) as clock:
        _log_in(client)
        clock.move_to(T0 + dt.timedelta(minutes=59))
        assert client.get("/").status_code == 200
        clock.move_to(T0 + dt.timedelta(minutes=59 + 61))
        assert client.get("/").status_code == 302


def test_logging_out_still_ends_the_session(client, agent):
    _log_in(client)
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302
    assert Session.objects.count() == 0


# The history keeps who had which token, never the token's hash


@pytest.fixture
def supervisor_client(client, supervisor):
    ensure_role_groups()  # the history app's permissions exist only after its migration
    client.force_login(supervisor)
    return client


def _token_rows() -> list[Change]:
    return list(Change.objects.filter(content_type=ContentType.objects.get_for_model(ApiToken)))


def test_the_history_of_a_token_does_not_keep_its_hash(admin_user, agent):
    token, _raw = create_token(agent, name="ERP", by=admin_user)
    revoke_token(token, by=admin_user)
    rows = _token_rows()
    assert {row.action for row in rows} == {Change.Action.CREATED, Change.Action.DEACTIVATED}
    for row in rows:
        assert "key_hash" not in row.changes
        assert token.key_hash not in str(row.changes)
    created = next(row for row in rows if row.action == Change.Action.CREATED)
    assert created.changes["prefix"] == [None, token.prefix]
    assert created.changes["name"] == [None, "ERP"]


def test_a_supervisor_reading_the_history_sees_the_token_but_not_its_hash(supervisor_client, admin_user, agent):
    token, raw = create_token(agent, name="ERP", by=admin_user)
    revoke_token(token, by=admin_user)
    listing = supervisor_client.get(reverse("admin:history_change_changelist"))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert token.prefix in page
    assert token.key_hash not in page and "key_hash" not in page
    for row in _token_rows():
        detail = supervisor_client.get(reverse("admin:history_change_change", args=[row.pk]))
        assert detail.status_code == 200
        page = detail.content.decode()
        assert token.key_hash not in page and raw not in page
    assert "ERP" in page


def test_a_history_row_written_before_keeps_its_hash_hidden(supervisor_client, agent):
    token, _raw = create_token(agent, name="ERP")
    old = Change.objects.create(
        content_type=ContentType.objects.get_for_model(ApiToken),
        object_id=str(token.pk),
        object_repr=str(token),
        action=Change.Action.CREATED,
        changes={"prefix": [None, token.prefix], "key_hash": [None, token.key_hash]},
    )
    page = supervisor_client.get(reverse("admin:history_change_change", args=[old.pk])).content.decode()
    assert token.prefix in page and token.key_hash not in page
    listing = supervisor_client.get(reverse("admin:history_change_changelist")).content.decode()
    assert "key_hash" not in listing


def test_the_migration_forgets_the_hashes_already_in_the_history(agent):
    token, _raw = create_token(agent, name="ERP")
    old = Change.objects.create(
        content_type=ContentType.objects.get_for_model(ApiToken),
        object_id=str(token.pk),
        object_repr=str(token),
        action=Change.Action.CREATED,
        changes={"prefix": [None, token.prefix], "key_hash": [None, token.key_hash]},
    )
    other = Change.objects.create(
        content_type=ContentType.objects.get_for_model(Change),
        object_id="1",
        object_repr="other",
        action=Change.Action.CHANGED,
        changes={"key_hash": ["a", "b"]},
    )
    migration = importlib.import_module("ciclo.history.migrations.0002_forget_api_token_hashes")
    migration.forget_hashes(apps, None)
    old.refresh_from_db()
    other.refresh_from_db()
    assert old.changes == {"prefix": [None, token.prefix]}
    assert other.changes == {"key_hash": ["a", "b"]}  # another model's field of that name is its own

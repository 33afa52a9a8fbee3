"""Settings come from the environment and fail loudly on a bad or missing value.

Each case starts a fresh interpreter: settings are read once, at import.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

CICLO = Path(sys.executable).parent / "ciclo"
# Variables of the developer's or CI's shell that would change what is tested.
CLEARED = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CSRF_TRUSTED_ORIGINS",
    "TIME_ZONE",
    "SESSION_IDLE_HOURS",
    "CICLO_TRUSTED_PROXY_HEADER",
    "CICLO_TRUSTED_PROXY_COUNT",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_HOURS",
    "CONN_MAX_AGE",
    "CONN_HEALTH_CHECKS",
    "LOG_LEVEL",
    # tests/conftest.py sets it for the browser tests; `check --deploy` rightly refuses it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith("SECURE_")}
    full_env.update(DJANGO_SETTINGS_MODULE="ciclo.settings", CICLO_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(args, env=full_env, capture_output=True, text=True, timeout=120, check=False)


def _setup(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", "import django; django.setup()"], tmp_path, **env)


def _production_env() -> dict[str, str]:
    return {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "ciclo.example.com"}


def test_settings_load_with_no_environment_at_all(tmp_path: Path) -> None:
    result = _setup(tmp_path)
    assert result.returncode == 0, result.stderr


def test_it_refuses_debug_off_without_a_secret_key(tmp_path: Path) -> None:
    result = _setup(tmp_path, DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_it_starts_with_debug_off_when_secret_key_and_hosts_are_given(tmp_path: Path) -> None:
    result = _setup(tmp_path, **_production_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "debug"])
def test_a_bad_debug_value_fails_naming_the_variable(tmp_path: Path, value: str) -> None:
    result = _setup(tmp_path, DEBUG=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DEBUG" in result.stderr
    assert repr(value) in result.stderr


@pytest.mark.parametrize("url", ["not-a-url", "mysql://ciclo@localhost/ciclo", "postgres://ciclo@localhost:port/ciclo"])
def test_a_bad_database_url_fails_naming_the_variable(tmp_path: Path, url: str) -> None:
    result = _setup(tmp_path, DATABASE_URL=url)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_the_deployment_check_passes_with_production_settings(tmp_path: Path) -> None:
    result = _run([str(CICLO), "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr
    assert "no issues" in result.stdout


def _setting(tmp_path: Path, name: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    result = _run([sys.executable, "-c", code], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# A SECRET_KEY too weak for production: Django's own rule (check security.W009), refused at start.


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("short-but-varied-key-0123456789", "at least 50 characters"),
        ("ab" * 40, "at least 5 different characters"),
        ("django-insecure-" + secrets.token_urlsafe(50), "must not start with 'django-insecure-'"),
    ],
    ids=["too-short", "too-few-characters", "django-insecure"],
)
def test_it_refuses_a_weak_secret_key_with_debug_off(tmp_path: Path, key: str, rule: str) -> None:
    result = _setup(tmp_path, **{**_production_env(), "SECRET_KEY": key})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert rule in result.stderr
    assert key not in result.stderr  # the key itself is never printed


def test_a_weak_secret_key_is_fine_for_a_local_run(tmp_path: Path) -> None:
    assert _setup(tmp_path, SECRET_KEY="local").returncode == 0


def test_a_key_of_exactly_50_varied_characters_is_strong_enough(tmp_path: Path) -> None:
    result = _setup(tmp_path, **{**_production_env(), "SECRET_KEY": secrets.token_hex(25)})
    assert result.returncode == 0, result.stderr


# Sessions and the login lockout


def test_sessions_end_after_8_idle_hours_by_default(tmp_path: Path) -> None:
    assert _setting(tmp_path, "SESSION_COOKIE_AGE") == "28800"


def test_the_idle_timeout_comes_from_the_environment(tmp_path: Path) -> None:
    assert _setting(tmp_path, "SESSION_COOKIE_AGE", SESSION_IDLE_HOURS="1.5") == "5400"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_IDLE_HOURS", "eight"),
        ("SESSION_IDLE_HOURS", "0"),
        ("SESSION_IDLE_HOURS", "nan"),
        ("SESSION_IDLE_HOURS", "-1"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("AXES_FAILURE_LIMIT", "2.5"),
        ("AXES_COOLOFF_HOURS", "soon"),
        ("CICLO_TRUSTED_PROXY_COUNT", "0"),
        ("CICLO_TRUSTED_PROXY_HEADER", "X_Forwarded_For"),
        ("CICLO_TRUSTED_PROXY_HEADER", "X-Forwarded-For: 1.2.3.4"),
    ],
)
def test_a_bad_security_value_fails_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    result = _setup(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
    assert repr(value) in result.stderr


def test_no_proxy_header_is_trusted_unless_configured(tmp_path: Path) -> None:
    assert _setting(tmp_path, "CICLO_TRUSTED_PROXY_HEADER") == "''"


def test_the_trusted_proxy_header_is_named_as_http_sends_it(tmp_path: Path) -> None:
    value = _setting(tmp_path, "CICLO_TRUSTED_PROXY_HEADER", CICLO_TRUSTED_PROXY_HEADER="X-Real-IP")
    assert value == "'HTTP_X_REAL_IP'"


def test_attempts_while_locked_out_do_not_extend_the_lock(tmp_path: Path) -> None:
    # django-axes' own default (True) restarts the cool-off on every attempt while locked.
    assert _setting(tmp_path, "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT") == "False"


def test_the_deployment_check_passes_with_every_security_setting_given(tmp_path: Path) -> None:
    env = {
        **_production_env(),
        "SESSION_IDLE_HOURS": "4",
        "CICLO_TRUSTED_PROXY_HEADER": "X-Forwarded-For",
        "CICLO_TRUSTED_PROXY_COUNT": "1",
        "CSRF_TRUSTED_ORIGINS": "https://ciclo.example.com",
    }
    result = _run([str(CICLO), "check", "--deploy", "--fail-level", "WARNING"], tmp_path, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# Database connections and logging


def test_a_connection_per_request_and_health_checks_by_default(tmp_path: Path) -> None:
    # runserver and the tests; `ciclo serve` sets CONN_MAX_AGE=60 for its workers (tests/test_serve.py).
    assert _setting(tmp_path, 'DATABASES["default"]["CONN_MAX_AGE"]') == "0"
    assert _setting(tmp_path, 'DATABASES["default"]["CONN_HEALTH_CHECKS"]') == "True"


def test_connections_are_kept_as_the_environment_says(tmp_path: Path) -> None:
    env = {"CONN_MAX_AGE": "300", "CONN_HEALTH_CHECKS": "0", "DATABASE_URL": "postgres://ciclo@db.example.com/ciclo"}
    assert _setting(tmp_path, 'DATABASES["default"]["CONN_MAX_AGE"]', **env) == "300"
    assert _setting(tmp_path, 'DATABASES["default"]["CONN_HEALTH_CHECKS"]', **env) == "False"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONN_MAX_AGE", "-1"),
        ("CONN_MAX_AGE", "1.5"),
        ("CONN_MAX_AGE", "forever"),
        ("CONN_HEALTH_CHECKS", "sometimes"),
        ("LOG_LEVEL", "loud"),
    ],
)
def test_a_bad_connection_or_log_value_fails_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    result = _setup(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
    assert repr(value) in result.stderr


def test_the_log_level_is_read_in_any_case(tmp_path: Path) -> None:
    assert _setting(tmp_path, "LOGGING['root']['level']", LOG_LEVEL="info") == "'INFO'"

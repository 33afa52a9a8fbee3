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

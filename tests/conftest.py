from __future__ import annotations

import os

import pytest

from ciclo.accounts.roles import Role
from tests.factory import SalesSetup, make_user

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def admin_user(db):
    return make_user("admin_t", Role.ADMIN, is_superuser=True)


@pytest.fixture
def supervisor(db):
    return make_user("supervisor_t", Role.SUPERVISOR)


@pytest.fixture
def agent(db):
    return make_user("agent_t", Role.AGENT)


@pytest.fixture
def outsider(db):
    """An agent outside the CR a test gives members."""
    return make_user("outsider_t", Role.AGENT)


@pytest.fixture
def sales(db) -> SalesSetup:
    return SalesSetup()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hashing a password properly takes most of a second; tests make many users."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # what `ciclo demo` and real logins store
    ]


@pytest.fixture(autouse=True)
def _english(settings):
    """Tests read messages in English, the source language; the pt-BR catalog has tests of its own."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield

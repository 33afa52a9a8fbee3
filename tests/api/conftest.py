from __future__ import annotations

from typing import Any

import pytest

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from tests.api.helpers import Api


@pytest.fixture
def api_as(db):
    def make(user: Any) -> Api:
        return Api(create_token(user, name="tests")[1] if user is not None else None)

    return make


@pytest.fixture
def anonymous(db) -> Api:
    return Api(None)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def role_groups(db):
    """Give the role groups their permissions: on a fresh database the post_migrate hook runs
    before the later apps' permissions exist (see the report; tests/test_admin.py does the same)."""
    ensure_role_groups()

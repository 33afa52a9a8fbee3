"""Logging in with a username and password, and the session's user loaded with its role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Subquery

from ciclo.accounts.roles import remember_role, role_subquery
from ciclo.configurator.cache import remember_version, version_query


class RoleBackend(ModelBackend):
    """Django's ModelBackend, but a session's user comes with its role and the configuration version.

    Every page asks for the user's role (menus, access) and most for the configuration:
    both are read by the query that loads the user, instead of one query each. Ciclo's
    views are synchronous; an asynchronous caller gets ModelBackend's `aget_user`, whose
    user reads its role and the version when first asked (one query each), just as correct.
    """

    def _load(self, user: Any) -> Any:
        remember_role(user, getattr(user, "ciclo_role", None))
        remember_version(getattr(user, "ciclo_config_version", None))
        return user if self.user_can_authenticate(user) else None

    def _users(self) -> Any:
        return get_user_model()._default_manager.annotate(
            ciclo_role=role_subquery("pk"), ciclo_config_version=Subquery(version_query())
        )

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = self._users().get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return self._load(user)

"""Who calls the API: a user's token (`Authorization: Bearer <token>`), and what their role allows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from ciclo.accounts.roles import Role, role_of
from ciclo.accounts.tokens import authenticate
from ciclo.api.errors import forbidden


class TokenAuth(HttpBearer):
    """A valid, unrevoked token of an active user with a Ciclo role (else 401, or 403 without a role)."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = authenticate(token)
        if found is None:
            return None
        user = found.user
        if role_of(user) is None:
            raise forbidden(_("Your user has no Ciclo role (admin, supervisor or agent)."))
        request.user = user
        request.api_token = found  # type: ignore[attr-defined]
        return user


def user_of(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def require_admin(request: HttpRequest) -> Any:
    user = user_of(request)
    if role_of(user) != Role.ADMIN:
        raise forbidden(_("Only an administrator may change the configuration."))
    return user


def require_perm(request: HttpRequest, perm: str) -> Any:
    user = user_of(request)
    if not user.has_perm(perm):
        raise forbidden(_("Your role may not do this."))
    return user

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ciclo.accounts.roles import Role, role_of


def role(request: HttpRequest) -> dict[str, Any]:
    """The user's role, for menus: what a page offers follows what the server allows."""
    user_role = role_of(request.user) if hasattr(request, "user") else None
    return {
        "user_role": user_role,
        "is_admin_role": user_role == Role.ADMIN,
        "is_supervisor_role": user_role in {Role.ADMIN, Role.SUPERVISOR},
    }

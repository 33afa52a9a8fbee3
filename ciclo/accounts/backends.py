"""Logging in with a username and password, and the session's user loaded with its role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef

from ciclo.accounts.roles import remember_role, role_subquery


class RoleBackend(ModelBackend):
    """Django's ModelBackend, but a session's user comes with its role, and a user's permissions are
    read by one query.

    Every page asks for the user's role (menus, access) and whether user × company access control is
    on: both are read by the query that loads the user, instead of two queries more. Ciclo's views are
    synchronous; an asynchronous caller gets ModelBackend's `aget_user`, whose user reads its role when
    first asked (one query), just as correct.
    """

    def get_user(self, user_id: Any) -> Any:
        from ciclo.tickets.access import access_control_on, remember_restriction

        user_model = get_user_model()
        try:
            user = user_model._default_manager.annotate(
                ciclo_role=role_subquery("pk"), ciclo_access_control=access_control_on()
            ).get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        remember_role(user, getattr(user, "ciclo_role", None))
        remember_restriction(user, getattr(user, "ciclo_access_control", None))
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """As ModelBackend's (kept on the user for the request), but the user's own permissions and
        those of their groups (a role is a group) in one query instead of two."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            perms = Permission.objects.all()
            if not user_obj.is_superuser:
                own = get_user_model().user_permissions.through.objects.filter(
                    user_id=user_obj.pk, permission_id=OuterRef("pk")
                )
                grouped = Group.permissions.through.objects.filter(
                    permission_id=OuterRef("pk"), group__user=user_obj.pk
                )
                perms = perms.filter(Exists(own) | Exists(grouped))
            user_obj._perm_cache = {
                f"{app}.{codename}"
                for app, codename in perms.values_list("content_type__app_label", "codename").order_by()
            }
        return user_obj._perm_cache  # type: ignore[no-any-return]

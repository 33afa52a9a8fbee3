"""The three roles: admin, supervisor, agent — Django groups with permissions.

A user's role is the highest group they belong to; a superuser is an admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db import models
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")


# What each role may do, as Django permissions (app_label.codename).
_AGENT_PERMS = [
    "people.view_person",
    "people.add_person",
    "people.change_person",
    "people.view_contactperson",
    "people.add_contactperson",
    "people.change_contactperson",
    "people.view_phone",
    "people.add_phone",
    "people.change_phone",
    "people.view_email",
    "people.add_email",
    "people.change_email",
    "people.view_company",
    "tickets.view_ticket",
    "tickets.add_ticket",
    "tickets.view_note",
    "tickets.add_note",
    "tickets.view_answer",
    "tickets.view_phasemove",
    "configurator.view_responsibilitycenter",
    "configurator.view_servicetype",
]
_SUPERVISOR_PERMS = [
    *_AGENT_PERMS,
    "tickets.move_any_step",
    "tickets.override_required",
    "tickets.view_answerrevision",
    "configurator.view_workflow",
    "configurator.view_servicecycle",
    "history.view_change",
]

ROLE_ORDER = [Role.ADMIN, Role.SUPERVISOR, Role.AGENT]


def role_permissions(role: Role) -> list[str] | None:
    """None means every permission (the admin)."""
    if role == Role.ADMIN:
        return None
    return _SUPERVISOR_PERMS if role == Role.SUPERVISOR else _AGENT_PERMS


def ensure_role_groups(**kwargs: Any) -> None:
    """Create or refresh the role groups; runs after every migrate."""
    all_perms = {
        f"{p.content_type.app_label}.{p.codename}": p for p in Permission.objects.select_related("content_type")
    }
    for role in ROLE_ORDER:
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = role_permissions(role)
        perms = list(all_perms.values()) if wanted is None else [all_perms[c] for c in wanted if c in all_perms]
        group.permissions.set(perms)


_ROLE_CACHE = "_ciclo_role"
_UNSET = object()


def role_subquery(user_field: str = "pk") -> Subquery:
    """The user's role name (the first of ROLE_ORDER among their groups, or NULL) as a subquery.

    `user_field` names the user's id in the outer query ("pk" on users, "user_id" on tokens):
    the role is read with the query that loads the user (remember_role), not by one more.
    """
    names = [r.value for r in ROLE_ORDER]
    rank = Case(*(When(name=name, then=Value(i)) for i, name in enumerate(names)), output_field=IntegerField())
    groups = Group.objects.filter(user=OuterRef(user_field), name__in=names).order_by(rank).values("name")[:1]
    return Subquery(groups, output_field=models.CharField())


def remember_role(user: Any, name: str | None) -> None:
    """Give `user` the role read with its query (role_subquery): role_of() then asks nothing."""
    setattr(user, _ROLE_CACHE, Role(name) if name else None)


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    # Cached on the user object (for the request); set_role() drops it.
    cached = getattr(user, _ROLE_CACHE, _UNSET)
    if cached is None or isinstance(cached, Role):
        return cached
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    role = next((r for r in ROLE_ORDER if r.value in names), None)
    setattr(user, _ROLE_CACHE, role)
    return role


def users_with_role() -> QuerySet[Any]:
    """The active users who have a Ciclo role (those role_of() gives a role), as a queryset."""
    groups = Group.objects.filter(user=OuterRef("pk"), name__in=[r.value for r in ROLE_ORDER])
    return get_user_model()._default_manager.filter(Q(is_superuser=True) | Exists(groups), is_active=True)


def is_supervisor(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Supervisors and admins: may override, move anywhere, work any CR."""
    return role_of(user) in {Role.ADMIN, Role.SUPERVISOR}


def may_use_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The admin site (the configurator) is for staff supervisors and administrators; agents work in Ciclo's pages.

    Agents are staff (set_role) and hold people permissions, which alone would let them in.
    """
    return bool(getattr(user, "is_staff", False)) and is_supervisor(user)


def set_role(user: Any, role: Role) -> None:
    groups = Group.objects.filter(name__in=[r.value for r in ROLE_ORDER])
    user.groups.remove(*groups)
    user.groups.add(Group.objects.get(name=role.value))
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    if hasattr(user, _ROLE_CACHE):
        delattr(user, _ROLE_CACHE)

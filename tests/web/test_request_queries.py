"""A page loads the session's user with its role in one query, and the user's permissions in one more
when it asks for one (ciclo.accounts.backends)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.accounts.roles import Role, set_role
from tests.factory import make_ticket


@pytest.fixture(autouse=True)
def _fresh_lockouts(db):
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def page_queries(client: Any, url: str) -> tuple[Any, list[str]]:
    client.get(url)  # warm-up: the session's first request may write it
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response, [q["sql"] for q in ctx.captured_queries]


def reads(queries: list[str], table: str) -> list[str]:
    return [q for q in queries if f'"{table}"' in q]


@pytest.mark.parametrize("page", ["ticket", "home", "tickets"])
def test_a_page_reads_the_role_with_the_user(client, sales, agent, page):
    ticket = make_ticket(sales, agent)
    client.force_login(agent)
    url = reverse("ticket", args=[ticket.pk]) if page == "ticket" else reverse(page)
    _response, queries = page_queries(client, url)
    user_query = reads(queries, "auth_user")[0]
    assert '"auth_group"' in user_query
    assert not [q for q in queries if q.lstrip().startswith('SELECT "auth_group"')]


def test_the_ticket_page_reads_the_permissions_once_in_one_query(client, sales, supervisor):
    """The note form (override required questions) and the move form (any step) both ask for a permission."""
    ticket = make_ticket(sales, supervisor)
    client.force_login(supervisor)
    response, queries = page_queries(client, reverse("ticket", args=[ticket.pk]))
    assert len(reads(queries, "auth_permission")) == 1, queries
    assert response.context["may_override"] is True and response.context["steps"]


def test_force_login_and_logins_use_the_role_backend(client, agent):
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "django.contrib.auth.backends.ModelBackend" not in settings.AUTHENTICATION_BACKENDS
    response = client.post(reverse("login"), {"username": "agent_t", "password": "ciclo-test-pw"})
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == "ciclo.accounts.backends.RoleBackend"
    client.logout()
    client.force_login(agent)
    assert client.session["_auth_user_backend"] == "ciclo.accounts.backends.RoleBackend"


def test_a_session_of_the_former_backend_logs_in_again(client, agent):
    """Sessions made before RoleBackend name ModelBackend, no longer listed: Django asks for a login once."""
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("home")).status_code == 302


def test_a_change_of_role_is_seen_on_the_next_page(client, agent):
    client.force_login(agent)
    assert client.get(reverse("home")).context["user_role"] == Role.AGENT
    set_role(agent, Role.SUPERVISOR)
    assert client.get(reverse("home")).context["user_role"] == Role.SUPERVISOR


def test_an_inactive_user_is_logged_out(client, agent):
    client.force_login(agent)
    agent.is_active = False
    agent.save()
    assert client.get(reverse("home")).status_code == 302


def test_a_cr_given_members_is_seen_by_the_next_page(client, sales, agent, supervisor):
    ticket = make_ticket(sales, agent)
    client.force_login(agent)
    url = reverse("ticket", args=[ticket.pk])
    assert client.get(url).context["can_work"] is True
    sales.cr_prospect.members.set([supervisor])  # the configuration changes between two pages
    assert client.get(url).context["can_work"] is False


def test_the_backend_loads_the_user_with_its_role(agent, supervisor):
    from ciclo.accounts.backends import RoleBackend
    from ciclo.accounts.roles import role_of

    backend = RoleBackend()
    with CaptureQueriesContext(connection) as ctx:
        user = backend.get_user(supervisor.pk)
        assert user == supervisor and role_of(user) == Role.SUPERVISOR
    assert len(ctx) == 1
    assert backend.get_user(10**9) is None
    agent.is_active = False
    agent.save()
    assert backend.get_user(agent.pk) is None


def test_the_backend_reads_a_users_permissions_by_one_query(agent, supervisor, admin_user):
    from django.contrib.auth.models import Permission

    from ciclo.accounts.backends import RoleBackend
    from ciclo.accounts.roles import ensure_role_groups

    ensure_role_groups()
    agent.user_permissions.add(Permission.objects.get(codename="view_answerrevision"))
    backend = RoleBackend()
    for user in (agent, supervisor, admin_user):
        user = type(user).objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as ctx:
            perms = backend.get_all_permissions(user)
            assert backend.get_all_permissions(user) == perms
        assert len(ctx) == 1
        # The same as Django's ModelBackend: the user's own permissions and those of their groups.
        assert perms == ModelBackend().get_all_permissions(type(user).objects.get(pk=user.pk))
    assert "tickets.view_answerrevision" in backend.get_all_permissions(type(agent).objects.get(pk=agent.pk))
    assert "tickets.move_any_step" not in backend.get_all_permissions(type(agent).objects.get(pk=agent.pk))

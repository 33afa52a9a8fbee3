"""Moving a ticket to any step and moving on past unanswered required questions follow the permissions
tickets.move_any_step and tickets.override_required (granted to supervisors), not the role's name:
granting one to a user in the admin lets them do it, and a supervisor without it may not."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from ciclo.accounts.roles import Role, ensure_role_groups, role_of
from ciclo.tickets.errors import NotAllowed, RequiredUnanswered
from ciclo.tickets.models import PhaseMove, Ticket
from ciclo.tickets.routing import move_to_step, record_note
from tests.factory import make_ticket


@pytest.fixture(autouse=True)
def _role_groups(db):
    ensure_role_groups()  # the role groups' permissions (see tests/api/conftest.py)


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def _permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="tickets", codename=codename)


def granted(user: Any, codename: str) -> Any:
    """The user given the permission, as the admin's user form gives it; read again (Django keeps a
    user object's permissions once read)."""
    user.user_permissions.add(_permission(codename))
    return type(user).objects.get(pk=user.pk)


def without(user: Any, codename: str) -> Any:
    """The user, their role's group no longer holding the permission; read again."""
    Group.objects.get(name=Role.SUPERVISOR.value).permissions.remove(_permission(codename))
    return type(user).objects.get(pk=user.pk)


# ---- the engine -----------------------------------------------------------------------------------


def test_an_agent_given_move_any_step_moves_a_ticket_to_any_step(sales, agent, ticket):
    with pytest.raises(NotAllowed):
        move_to_step(ticket, sales.step_negotiation, by=agent, reason="Negociar direto")
    agent = granted(agent, "move_any_step")
    move = move_to_step(ticket, sales.step_negotiation, by=agent, reason="Negociar direto")
    assert move.kind == PhaseMove.Kind.JUMP and move.by == agent
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_negotiation


def test_a_supervisor_without_move_any_step_may_not_move_a_ticket_anywhere(sales, supervisor, ticket):
    supervisor = without(supervisor, "move_any_step")
    assert role_of(supervisor) == Role.SUPERVISOR
    with pytest.raises(NotAllowed):
        move_to_step(ticket, sales.step_negotiation, by=supervisor, reason="Negociar direto")
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_prospect


def test_an_agent_given_override_required_moves_on_past_required_questions(sales, agent, ticket):
    with pytest.raises(NotAllowed):
        record_note(ticket, by=agent, text="Avança", move_on=True, override_reason="Urgente")
    agent = granted(agent, "override_required")
    result = record_note(ticket, by=agent, text="Avança", move_on=True, override_reason="Urgente")
    assert result.move is not None and result.move.overrode_required[0]["code"] == sales.q_single.code
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_proposal


def test_a_supervisor_without_override_required_is_held_by_required_questions(sales, supervisor, ticket):
    supervisor = without(supervisor, "override_required")
    with pytest.raises(NotAllowed):
        record_note(ticket, by=supervisor, text="Avança", move_on=True, override_reason="Urgente")
    with pytest.raises(RequiredUnanswered):
        record_note(ticket, by=supervisor, text="Avança", move_on=True)
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_prospect


# ---- the ticket page ------------------------------------------------------------------------------


def test_the_page_offers_the_move_to_who_has_move_any_step(client, sales, agent, supervisor, ticket):
    page = reverse("ticket", args=[ticket.pk])
    move = reverse("ticket_move", args=[ticket.pk])
    decisions = reverse("ticket_move_decisions", args=[ticket.pk])
    client.force_login(granted(agent, "move_any_step"))
    response = client.get(page)
    assert response.context["steps"] and 'data-testid="move-form"' in response.content.decode()
    assert client.get(decisions, {"step": sales.decision.pk}).status_code == 200
    assert client.post(move, {"step": sales.step_negotiation.pk, "reason": "Negociar"}).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_negotiation

    client.force_login(without(supervisor, "move_any_step"))
    response = client.get(page)
    assert response.context["steps"] == [] and 'data-testid="move-form"' not in response.content.decode()
    assert client.get(decisions, {"step": sales.decision.pk}).status_code == 403
    assert client.post(move, {"step": sales.step_prospect.pk, "reason": "Voltar"}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_negotiation


def test_the_note_form_offers_the_override_to_who_has_override_required(client, sales, agent, supervisor, ticket):
    page = reverse("ticket", args=[ticket.pk])
    client.force_login(granted(agent, "override_required"))
    html = client.get(page).content.decode()
    assert 'data-testid="required-block"' in html and 'name="override_reason"' in html
    client.force_login(without(supervisor, "override_required"))
    html = client.get(page).content.decode()
    assert 'data-testid="required-block"' in html and 'name="override_reason"' not in html
    note = reverse("ticket_note", args=[ticket.pk])
    client.post(note, {"text": "Avança", "move_on": "1", "override_reason": "Urgente"})
    assert Ticket.objects.get(pk=ticket.pk).cr == sales.cr_prospect

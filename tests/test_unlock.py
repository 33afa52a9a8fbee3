"""Desbloquear: unlocking an earlier phase's answers with a reason, locking them again, and where it shows."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.tickets.answering import AnswerInput, cycle_of, relock_phase, save_answers, unlock_phase
from ciclo.tickets.errors import InvalidInput, NotAllowed, PhaseLocked, PhaseNotUnlocked
from ciclo.tickets.models import Answer, CrUnlock
from ciclo.tickets.routing import record_note
from tests.api.helpers import Api, assert_error
from tests.factory import make_ticket

NOW = dt.datetime(2026, 12, 2, 10, 30, tzinfo=dt.UTC)


@pytest.fixture
def ticket(sales, agent):
    """A ticket moved on to the proposal: the prospecting phase is an earlier, locked one."""
    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="Proposta", move_on=True)
    return ticket


def state(ticket, cr):
    return next(p.state for p in cycle_of(ticket) if p.cr == cr)


# --- the engine ------------------------------------------------------------------------------------


def test_unlocking_needs_a_reason_and_changes_nothing_without_one(sales, agent, ticket):
    with pytest.raises(InvalidInput) as err:
        unlock_phase(ticket, sales.cr_prospect, by=agent, reason="   ")
    assert list(err.value.errors) == ["reason"]
    assert not CrUnlock.objects.exists()
    assert state(ticket, sales.cr_prospect) == "locked"


@time_machine.travel(NOW, tick=False)
def test_unlocking_records_who_when_and_why(sales, agent, ticket):
    unlock = unlock_phase(ticket, sales.cr_prospect, by=agent, reason=" Cliente corrigiu o contato ")
    assert (unlock.by, unlock.at, unlock.reason) == (agent, timezone.now(), "Cliente corrigiu o contato")
    assert unlock.relocked_at is None and unlock.relocked_by is None
    assert state(ticket, sales.cr_prospect) == "unlocked"
    assert next(p.unlock for p in cycle_of(ticket) if p.cr == sales.cr_prospect) == unlock
    # while unlocked, unlocking again records nothing new
    assert unlock_phase(ticket, sales.cr_prospect, by=agent) == unlock
    assert CrUnlock.objects.count() == 1


def test_locking_again_records_who_and_when_and_locks_the_answers(sales, agent, supervisor, ticket):
    unlock = unlock_phase(ticket, sales.cr_prospect, by=agent, reason="Corrigir")
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "Ana")], by=agent)
    later = timezone.now() + dt.timedelta(minutes=5)
    relocked = relock_phase(ticket, sales.cr_prospect, by=supervisor, at=later)
    assert relocked == unlock
    unlock.refresh_from_db()
    assert (unlock.relocked_by, unlock.relocked_at) == (supervisor, later)
    assert state(ticket, sales.cr_prospect) == "locked"
    with pytest.raises(PhaseLocked):
        save_answers(ticket, [AnswerInput(sales.q_text.pk, "Bia", version=1)], by=agent)
    assert Answer.objects.get(question=sales.q_text).value_text == "Ana"
    # locking again what is locked again changes nothing
    assert relock_phase(ticket, sales.cr_prospect, by=agent) == unlock
    unlock.refresh_from_db()
    assert unlock.relocked_by == supervisor
    # a later unlock is a new record, with its own reason
    again = unlock_phase(ticket, sales.cr_prospect, by=agent, reason="Outra correção")
    assert again != unlock and CrUnlock.objects.count() == 2
    assert state(ticket, sales.cr_prospect) == "unlocked"


def test_locking_again_a_phase_never_unlocked_is_refused(sales, agent, ticket):
    with pytest.raises(PhaseNotUnlocked) as err:
        relock_phase(ticket, sales.cr_prospect, by=agent)
    assert err.value.code == "phase_not_unlocked" and err.value.data["cr"]["code"] == "1"
    assert not CrUnlock.objects.exists()


def test_an_outsider_may_not_unlock_nor_lock_again(sales, agent, outsider, ticket):
    sales.cr_proposal.members.add(agent)
    with pytest.raises(NotAllowed):
        unlock_phase(ticket, sales.cr_prospect, by=outsider, reason="x")
    unlock_phase(ticket, sales.cr_prospect, by=agent, reason="x")
    with pytest.raises(NotAllowed):
        relock_phase(ticket, sales.cr_prospect, by=outsider)
    assert CrUnlock.objects.get().relocked_at is None


def test_a_phase_has_one_open_unlock_at_most(sales, agent, ticket):
    unlock_phase(ticket, sales.cr_prospect, by=agent, reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        CrUnlock.objects.create(ticket=ticket, cr=sales.cr_prospect, by=agent, reason="y")


# --- the page --------------------------------------------------------------------------------------


def url(name, *args):
    return reverse(name, args=args)


def test_the_unlock_asks_for_a_reason_beside_its_field(client, sales, agent, ticket):
    client.force_login(agent)
    html = client.get(url("ticket", ticket.pk)).content.decode()
    assert f'name="reason-{sales.cr_prospect.pk}"' in html
    response = client.post(url("ticket_unlock", ticket.pk, sales.cr_prospect.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'data-testid="unlock-error"' in html and "the reason cannot be empty" in html
    assert not CrUnlock.objects.exists()
    assert client.post(url("ticket_unlock", ticket.pk, sales.cr_prospect.pk)).status_code == 422


def test_unlocking_shows_who_when_why_in_the_cycle_and_the_timeline(client, sales, agent, ticket):
    agent.first_name, agent.last_name = "Ana", "Souza"
    agent.save()
    client.force_login(agent)
    response = client.post(
        url("ticket_unlock", ticket.pk, sales.cr_prospect.pk),
        {f"reason-{sales.cr_prospect.pk}": "Cliente corrigiu o contato"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Phase 1 · Prospecção unlocked: its answers can be changed." in html  # the badge's word
    assert 'data-testid="unlocked-1"' in html and "Unlocked by Ana Souza on" in html
    assert "“Cliente corrigiu o contato”" in html and url("ticket_relock", ticket.pk, sales.cr_prospect.pk) in html
    # the timeline, out of band, shows it too
    assert '<section id="timeline" class="card" aria-labelledby="timeline-title" hx-swap-oob="true">' in html
    assert 'data-testid="timeline-unlock"' in html
    page = client.get(url("ticket", ticket.pk)).content.decode()
    timeline = page.split('data-testid="timeline"')[1]
    assert "Phase 1 · Prospecção unlocked" in timeline and "Ana Souza" in timeline
    assert "Cliente corrigiu o contato" in timeline


def test_locking_again_from_the_page(client, sales, agent, ticket):
    unlock_phase(ticket, sales.cr_prospect, by=agent, reason="Corrigir")
    client.force_login(agent)
    response = client.post(url("ticket_relock", ticket.pk, sales.cr_prospect.pk), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Phase 1 · Prospecção locked again." in html
    assert 'data-testid="unlocked-1"' not in html and 'data-testid="unlock-1"' in html
    assert 'data-testid="timeline-relock"' in html
    assert CrUnlock.objects.get().relocked_by == agent
    # without htmx: back to the page
    unlock_phase(ticket, sales.cr_prospect, by=agent, reason="De novo")
    assert client.post(url("ticket_relock", ticket.pk, sales.cr_prospect.pk)).status_code == 302


def test_locking_again_what_was_never_unlocked_says_so(client, sales, agent, ticket):
    client.force_login(agent)
    response = client.post(url("ticket_relock", ticket.pk, sales.cr_prospect.pk), HTTP_HX_REQUEST="true")
    assert "was never unlocked" in response.content.decode()
    assert client.post(url("ticket_relock", ticket.pk, sales.cr_prospect.pk)).status_code == 409
    assert client.post(url("ticket_relock", ticket.pk, 999999)).status_code == 404


def test_unlock_and_relock_take_only_post_and_a_role(client, sales, agent, ticket, django_user_model):
    client.force_login(agent)
    assert client.get(url("ticket_relock", ticket.pk, sales.cr_prospect.pk)).status_code == 405
    assert client.get(url("ticket_unlock", ticket.pk, sales.cr_prospect.pk)).status_code == 405
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.post(url("ticket_relock", ticket.pk, sales.cr_prospect.pk)).status_code == 403


# --- the API ---------------------------------------------------------------------------------------


@pytest.fixture
def api_as(db):
    ensure_role_groups()  # the role groups' permissions, as the API's own tests give them
    return lambda user: Api(create_token(user, name="tests")[1])


def test_the_api_unlocks_with_a_reason_and_locks_again(api_as, agent, supervisor, sales, ticket):
    api = api_as(agent)
    assert_error(api.post(f"/tickets/{ticket.pk}/unlock", {"cr": "1"}), 422, "invalid", "reason")
    assert not CrUnlock.objects.exists()
    response = api.post(f"/tickets/{ticket.pk}/unlock", {"cr": "1", "reason": "Corrigir"})
    assert response.status_code == 200, response.body
    assert response.body["reason"] == "Corrigir" and response.body["relocked_by"] is None
    response = api_as(supervisor).post(f"/tickets/{ticket.pk}/relock", {"cr": "1"})
    assert response.status_code == 200, response.body
    assert response.body["relocked_by"]["username"] == supervisor.username and response.body["relocked_at"]
    history = api.get(f"/tickets/{ticket.pk}/history").body
    assert history["unlocks"][0]["relocked_by"]["username"] == supervisor.username


def test_the_api_refuses_to_lock_again_a_phase_never_unlocked(api_as, agent, ticket):
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/relock", {"cr": "1"}), 409, "phase_not_unlocked")
    assert not CrUnlock.objects.exists()
    assert_error(api_as(agent).post(f"/tickets/{ticket.pk}/relock", {"cr": "77"}), 422, "invalid", "cr")

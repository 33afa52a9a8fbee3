"""The engine and sales contacts: opening makes one, moves bring the phase's success, closing needs an
outcome, reopening needs a supervisor; and the contact's own changes (sales.contacts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from ciclo.history.models import Change
from ciclo.sales.contacts import (
    OutcomeInput,
    change_outcome,
    reopen_sales_contact,
    set_success,
    update_sales_fields,
)
from ciclo.sales.models import Outcome, SalesContact
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.errors import InvalidInput, NotAllowed, StaleTicket
from ciclo.tickets.models import PhaseMove, Ticket
from ciclo.tickets.routing import move_to_step, record_note
from tests.factory import make_person, make_ticket

SP = ZoneInfo("America/Sao_Paulo")
pytestmark = pytest.mark.django_db


def contact_of(ticket: Ticket) -> SalesContact:
    return SalesContact.objects.get(pk=ticket.pk)


def sales_history(ticket: Ticket) -> list[Change]:
    return list(Change.objects.filter(content_type__model="salescontact", object_id=str(ticket.pk)).order_by("id"))


def to_proposal(selling, ticket, user) -> None:
    save_answers(ticket, [AnswerInput(selling.q_single.pk, [selling.o_site.pk])], by=user)
    record_note(ticket, by=user, text="Proposta enviada", move_on=True)


def close(selling, ticket, user, outcome=None):
    return record_note(
        ticket, by=user, text="Fechou", move_on=True, choices={selling.decision.pk: selling.yes.pk}, outcome=outcome
    )


@pytest.fixture
def ticket(selling, agent):
    at = dt.datetime(2026, 11, 16, 10, 0, tzinfo=SP)
    return make_ticket(selling, agent, at=at)


# -- opening ------------------------------------------------------------------------------------


def test_opening_a_sales_ticket_makes_its_contact(selling, ticket):
    contact = contact_of(ticket)
    assert contact.contact_date == dt.date(2026, 11, 16)
    assert contact.success == 10 and not contact.success_by_hand and contact.outcome == Outcome.OPEN
    assert ticket.phase_entered_at == dt.datetime(2026, 11, 16, 10, 0, tzinfo=SP)
    assert [c.action for c in sales_history(ticket)] == [Change.Action.CREATED]


def test_a_ticket_of_another_type_has_no_contact(sales, agent):
    ticket = make_ticket(sales, agent)
    assert not SalesContact.objects.filter(pk=ticket.pk).exists()
    to_proposal(sales, ticket, agent)
    with pytest.raises(InvalidInput) as err:
        close(sales, ticket, agent, OutcomeInput("won", "10"))
    assert "outcome" in err.value.errors


# -- moving -------------------------------------------------------------------------------------


def test_a_move_brings_the_new_phase_s_success_and_restarts_the_time_in_phase(selling, ticket, agent):
    with time_machine.travel(dt.datetime(2026, 11, 19, 9, 0, tzinfo=SP), tick=False):
        to_proposal(selling, ticket, agent)
    ticket.refresh_from_db()
    assert ticket.phase_entered_at == dt.datetime(2026, 11, 19, 9, 0, tzinfo=SP)
    assert contact_of(ticket).success == 40
    change = sales_history(ticket)[-1]
    assert change.changes["success"] == [10, 40]


def test_a_note_that_stays_keeps_the_time_in_phase(selling, ticket, agent):
    entered = ticket.phase_entered_at
    record_note(ticket, by=agent, text="Cliente pediu retorno")
    ticket.refresh_from_db()
    assert ticket.phase_entered_at == entered and contact_of(ticket).success == 10


def test_a_success_set_by_hand_stays_when_the_ticket_moves(selling, ticket, agent):
    set_success(ticket, 25, by=agent)
    to_proposal(selling, ticket, agent)
    contact = contact_of(ticket)
    assert (contact.success, contact.success_by_hand) == (25, True)
    set_success(ticket, None, by=agent)  # follows the phase again
    contact = contact_of(ticket)
    assert (contact.success, contact.success_by_hand) == (40, False)


def test_a_supervisor_move_also_restarts_the_time_in_phase(selling, ticket, supervisor):
    move_to_step(ticket, selling.step_negotiation, by=supervisor, reason="Negociar direto")
    ticket.refresh_from_db()
    assert ticket.cr == selling.cr_negotiation and contact_of(ticket).success == 70
    assert ticket.phase_entered_at == PhaseMove.objects.filter(ticket=ticket).latest("at").at


# -- closing ------------------------------------------------------------------------------------


def test_closing_a_sales_ticket_without_an_outcome_is_refused_and_changes_nothing(selling, ticket, agent):
    to_proposal(selling, ticket, agent)
    notes = ticket.notes.count()
    with pytest.raises(InvalidInput) as err:
        close(selling, ticket, agent)
    assert list(err.value.errors) == ["outcome"]
    ticket.refresh_from_db()
    assert not ticket.is_closed and ticket.notes.count() == notes


def test_a_won_sale_records_its_value(selling, ticket, agent):
    to_proposal(selling, ticket, agent)
    close(selling, ticket, agent, OutcomeInput("won", "R$ 12.500,00", text="Contrato anual"))
    ticket.refresh_from_db()
    contact = contact_of(ticket)
    assert ticket.is_closed
    assert (contact.outcome, contact.won_value, contact.outcome_text) == ("won", Decimal("12500.00"), "Contrato anual")
    assert contact.outcome_by == agent and contact.outcome_at is not None and contact.success == 100
    assert sales_history(ticket)[-1].changes["outcome"] == ["", "won"]


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        (OutcomeInput("won"), "won_value"),
        (OutcomeInput("won", "-5"), "won_value"),
        (OutcomeInput("won", "1e5"), "won_value"),
        (OutcomeInput("lost"), "lost_reason"),
        (OutcomeInput("maybe"), "outcome"),
        (OutcomeInput(""), "outcome"),
    ],
)
def test_a_bad_outcome_is_refused_naming_its_field(selling, ticket, agent, outcome, field):
    to_proposal(selling, ticket, agent)
    with pytest.raises(InvalidInput) as err:
        close(selling, ticket, agent, outcome)
    assert field in err.value.errors
    ticket.refresh_from_db()
    assert not ticket.is_closed and contact_of(ticket).outcome == Outcome.OPEN


def test_a_lost_sale_needs_an_active_reason(selling, ticket, agent):
    to_proposal(selling, ticket, agent)
    with pytest.raises(InvalidInput) as err:
        close(selling, ticket, agent, OutcomeInput("lost", lost_reason=selling.lost_old.pk))
    assert "lost_reason" in err.value.errors
    close(selling, ticket, agent, OutcomeInput("lost", lost_reason=selling.lost_price.pk, text="Achou caro"))
    contact = contact_of(ticket)
    assert (contact.outcome, contact.lost_reason, contact.won_value) == ("lost", selling.lost_price, None)


def test_an_outcome_on_a_note_that_does_not_close_is_refused(selling, ticket, agent):
    with pytest.raises(InvalidInput) as err:
        record_note(ticket, by=agent, text="Ligação", outcome=OutcomeInput("won", "10"))
    assert "outcome" in err.value.errors
    save_answers(ticket, [AnswerInput(selling.q_single.pk, [selling.o_site.pk])], by=agent)
    with pytest.raises(InvalidInput):
        record_note(ticket, by=agent, text="Proposta", move_on=True, outcome=OutcomeInput("won", "10"))
    ticket.refresh_from_db()
    assert ticket.cr == selling.cr_prospect


def test_a_supervisor_closing_by_a_move_gives_the_outcome_too(selling, ticket, supervisor):
    with pytest.raises(InvalidInput):
        move_to_step(ticket, selling.step_closed, by=supervisor, reason="Fechado por telefone")
    move_to_step(
        ticket, selling.step_closed, by=supervisor, reason="Fechado por telefone", outcome=OutcomeInput("won", 900)
    )
    assert contact_of(ticket).won_value == Decimal("900.00")


# -- reopening ----------------------------------------------------------------------------------


@pytest.fixture
def won(selling, ticket, agent):
    to_proposal(selling, ticket, agent)
    close(selling, ticket, agent, OutcomeInput("won", "5000"))
    ticket.refresh_from_db()
    return ticket


def test_only_a_supervisor_reopens(selling, won, agent):
    with pytest.raises(NotAllowed):
        reopen_sales_contact(won, by=agent, reason="Cliente voltou atrás")
    won.refresh_from_db()
    assert won.is_closed and contact_of(won).outcome == Outcome.WON


def test_reopening_needs_a_reason(selling, won, supervisor):
    with pytest.raises(InvalidInput) as err:
        reopen_sales_contact(won, by=supervisor, reason="  ")
    assert list(err.value.errors) == ["reason"]


def test_reopening_goes_back_to_the_phase_it_was_closed_from_and_clears_the_outcome(selling, won, supervisor):
    reopen_sales_contact(won, by=supervisor, reason="Cliente voltou atrás")
    won.refresh_from_db()
    contact = contact_of(won)
    assert not won.is_closed and won.cr == selling.cr_proposal
    assert (contact.outcome, contact.won_value, contact.outcome_at) == ("", None, None)
    assert contact.success == 40
    change = sales_history(won)[-1]
    assert change.by == supervisor
    assert change.changes["outcome"] == ["won", ""] and change.changes["won_value"] == ["5000.00", None]
    assert change.changes["reopened_because"] == ["", "Cliente voltou atrás"]
    move = PhaseMove.objects.filter(ticket=won).latest("at")
    assert move.kind == PhaseMove.Kind.JUMP and move.reason == "Cliente voltou atrás"


def test_reopening_an_open_contact_or_at_a_closing_phase_is_refused(selling, ticket, won, supervisor):
    other = make_ticket(selling, supervisor)
    with pytest.raises(InvalidInput) as err:
        reopen_sales_contact(other, by=supervisor, reason="?")
    assert "ticket" in err.value.errors
    with pytest.raises(InvalidInput) as err:
        reopen_sales_contact(won, by=supervisor, reason="?", to_step=selling.step_closed)
    assert "to_step" in err.value.errors


def test_a_supervisor_corrects_a_closed_outcome(selling, won, supervisor, agent):
    with pytest.raises(NotAllowed):
        change_outcome(won, OutcomeInput("won", "6000"), by=agent)
    change_outcome(won, OutcomeInput("lost", lost_reason=selling.lost_price.pk), by=supervisor)
    contact = contact_of(won)
    assert (contact.outcome, contact.won_value, contact.lost_reason) == ("lost", None, selling.lost_price)
    assert sales_history(won)[-1].by == supervisor


# -- the contact's fields -----------------------------------------------------------------------


def test_the_fields_change_with_a_history_row_and_a_version(selling, ticket, agent):
    referral = make_person(name="Indicadora")
    contact = update_sales_fields(
        ticket,
        by=agent,
        referral=referral.pk,
        environment=selling.environment.pk,
        expected_value="1.234,56",
        expected_close="20/12/2026",
    )
    assert contact.expected_value == Decimal("1234.56") and contact.expected_close == dt.date(2026, 12, 20)
    assert contact.referral == referral and contact.environment == selling.environment and contact.version == 2
    change = sales_history(ticket)[-1]
    assert change.by == agent and change.changes["expected_value"] == [None, "1234.56"]
    with pytest.raises(StaleTicket):
        update_sales_fields(ticket, by=agent, version=1, expected_value="10")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expected_value": "-1"}, "expected_value"),
        ({"expected_value": "abc"}, "expected_value"),
        ({"expected_close": "31/02/2026"}, "expected_close"),
        ({"success": 101}, "success"),
        ({"success": "x"}, "success"),
        ({"referral": 10**9}, "referral"),
        ({"environment": "x"}, "environment"),
        ({"contact_date": ""}, "contact_date"),
        ({"outcome": "won"}, "outcome"),
    ],
)
def test_bad_fields_are_refused_by_name_and_nothing_changes(selling, ticket, agent, fields, field):
    with pytest.raises(InvalidInput) as err:
        update_sales_fields(ticket, by=agent, **fields)
    assert field in err.value.errors
    assert contact_of(ticket).version == 1


def test_an_inactive_environment_is_not_offered(selling, ticket, agent):
    selling.environment.active = False
    selling.environment.save()
    with pytest.raises(InvalidInput) as err:
        update_sales_fields(ticket, by=agent, environment=selling.environment.pk)
    assert "environment" in err.value.errors


def test_someone_outside_the_phase_cannot_change_the_fields(selling, ticket, outsider, agent):
    selling.cr_prospect.members.add(agent)
    with pytest.raises(NotAllowed):
        update_sales_fields(ticket, by=outsider, expected_value="10")


def test_a_closed_contact_s_fields_do_not_change(selling, won, agent):
    with pytest.raises(InvalidInput) as err:
        update_sales_fields(won, by=agent, expected_value="10")
    assert "ticket" in err.value.errors

"""The ticket page of a sales ticket: the sales card (shown, changed in place), the note form's outcome
when the note closes the sale, reopening by a supervisor; per role, wrong method, bad input, history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from ciclo.history.models import Change
from ciclo.sales.models import Outcome, SalesContact
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.routing import record_note
from tests.factory import make_person, make_ticket

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ticket(selling, agent):
    return make_ticket(selling, agent)


def contact_of(ticket) -> SalesContact:
    return SalesContact.objects.get(pk=ticket.pk)


def sales_changes(ticket) -> list[Change]:
    return list(Change.objects.filter(content_type__model="salescontact", object_id=str(ticket.pk)).order_by("id"))


def at_proposal(selling, ticket, user):
    save_answers(ticket, [AnswerInput(selling.q_single.pk, [selling.o_site.pk])], by=user)
    record_note(ticket, by=user, text="Proposta enviada", move_on=True)


def card_form(**values):
    return {
        "version": "1",
        "contact_date": "2026-11-16",
        "environment": "",
        "expected_value": "",
        "expected_close": "",
        "success": "",
        "follow_phase": "1",
        "referral": "",
        **values,
    }


def closing_note(selling, **values):
    return {
        "text": "Fechou",
        "channel": "phone",
        "move_on": "1",
        f"choice-{selling.decision.pk}": selling.yes.pk,
        **values,
    }


def test_the_page_shows_the_sales_card_with_the_phase_s_success(client, selling, agent, ticket):
    client.force_login(agent)
    response = client.get(reverse("ticket", args=[ticket.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="sales-card"' in html and "follows the phase" in html
    assert 'data-testid="note-outcome"' in html  # an open sales contact: the note form asks the outcome


def test_a_ticket_of_another_type_has_no_card(client, sales, agent):
    other = make_ticket(sales, agent)
    client.force_login(agent)
    html = client.get(reverse("ticket", args=[other.pk])).content.decode()
    assert 'data-testid="sales-card"' not in html and 'data-testid="note-outcome"' not in html


def test_an_agent_changes_the_card_in_place_with_a_history_row(client, selling, agent, ticket):
    client.force_login(agent)
    referral = make_person(name="Indicadora Silva")
    body = card_form(
        environment=str(selling.environment.pk),
        expected_value="12.500,00",
        expected_close="2026-12-20",
        success="35",
        follow_phase="",
        referral=str(referral.pk),
    )
    response = client.post(reverse("ticket_sales", args=[ticket.pk]), body, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Indicadora Silva" in html and "set by hand" in html
    contact = contact_of(ticket)
    assert (contact.expected_value, contact.success, contact.success_by_hand) == (Decimal("12500.00"), 35, True)
    assert contact.referral == referral and contact.environment == selling.environment
    assert sales_changes(ticket)[-1].by == agent


def test_bad_input_is_shown_beside_its_field_and_changes_nothing(client, selling, agent, ticket):
    client.force_login(agent)
    body = card_form(expected_value="doze mil", success="150", follow_phase="")
    response = client.post(reverse("ticket_sales", args=[ticket.pk]), body, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "is-invalid" in html and "doze mil" in html
    assert contact_of(ticket).version == 1 and len(sales_changes(ticket)) == 1


def test_someone_outside_the_phase_is_refused(client, selling, agent, outsider, ticket):
    selling.cr_prospect.members.add(agent)
    client.force_login(outsider)
    html = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert "Change the sales contact" not in html
    response = client.post(reverse("ticket_sales", args=[ticket.pk]), card_form(expected_value="10"), **HTMX)
    assert response.status_code == 403
    assert contact_of(ticket).expected_value is None


def test_wrong_methods(client, selling, agent, supervisor, ticket):
    client.force_login(supervisor)
    assert client.get(reverse("ticket_sales", args=[ticket.pk])).status_code == 405
    assert client.get(reverse("ticket_sales_reopen", args=[ticket.pk])).status_code == 405
    assert client.post(reverse("ticket_sales_referrals", args=[ticket.pk])).status_code == 405


def test_anonymous_goes_to_login(client, ticket):
    response = client.post(reverse("ticket_sales", args=[ticket.pk]), card_form())
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_referral_is_found_by_name(client, selling, agent, ticket):
    make_person(name="Indicadora Souza")
    client.force_login(agent)
    response = client.get(reverse("ticket_sales_referrals", args=[ticket.pk]), {"referral_q": "souza"})
    assert "Indicadora Souza" in response.content.decode()


def test_a_note_closing_the_sale_without_an_outcome_is_refused_on_its_field(client, selling, agent, ticket):
    at_proposal(selling, ticket, agent)
    client.force_login(agent)
    response = client.post(reverse("ticket_note", args=[ticket.pk]), closing_note(selling), **HTMX)
    assert response.status_code == 200  # the form again, with its errors
    assert 'data-testid="note-outcome-error"' in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.is_closed


def test_a_note_closing_the_sale_records_it_won(client, selling, agent, ticket):
    at_proposal(selling, ticket, agent)
    client.force_login(agent)
    body = closing_note(selling, outcome="won", won_value="8.000,00", outcome_text="Contrato anual")
    response = client.post(reverse("ticket_note", args=[ticket.pk]), body)
    assert response.status_code == 302
    contact = contact_of(ticket)
    assert (contact.outcome, contact.won_value) == (Outcome.WON, Decimal("8000.00"))
    html = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert 'data-testid="sales-outcome-detail"' in html and 'data-testid="note-outcome"' not in html


def test_a_lost_sale_needs_its_reason(client, selling, agent, ticket):
    at_proposal(selling, ticket, agent)
    client.force_login(agent)
    response = client.post(reverse("ticket_note", args=[ticket.pk]), closing_note(selling, outcome="lost"), **HTMX)
    assert "Choose why the sale was lost." in response.content.decode()
    body = closing_note(selling, outcome="lost", lost_reason=str(selling.lost_price.pk))
    assert client.post(reverse("ticket_note", args=[ticket.pk]), body).status_code == 302
    assert contact_of(ticket).lost_reason == selling.lost_price


@pytest.fixture
def won(client, selling, agent, ticket):
    at_proposal(selling, ticket, agent)
    client.force_login(agent)
    client.post(reverse("ticket_note", args=[ticket.pk]), closing_note(selling, outcome="won", won_value="500"))
    ticket.refresh_from_db()
    assert ticket.is_closed
    return ticket


def test_an_agent_may_not_reopen(client, selling, agent, won):
    client.force_login(agent)
    html = client.get(reverse("ticket", args=[won.pk])).content.decode()
    assert 'data-testid="sales-reopen"' not in html
    response = client.post(reverse("ticket_sales_reopen", args=[won.pk]), {"reason": "Voltou"}, **HTMX)
    assert response.status_code == 403
    won.refresh_from_db()
    assert won.is_closed


def test_a_supervisor_reopens_with_a_reason(client, selling, supervisor, won):
    client.force_login(supervisor)
    html = client.get(reverse("ticket", args=[won.pk])).content.decode()
    assert 'data-testid="sales-reopen"' in html
    response = client.post(reverse("ticket_sales_reopen", args=[won.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422 and "is-invalid" in response.content.decode()
    response = client.post(reverse("ticket_sales_reopen", args=[won.pk]), {"reason": "Cliente voltou atrás"}, **HTMX)
    assert response.status_code == 200 and response.headers.get("HX-Refresh") == "true"
    won.refresh_from_db()
    assert not won.is_closed and contact_of(won).outcome == Outcome.OPEN
    change = sales_changes(won)[-1]
    assert change.by == supervisor and change.changes["reopened_because"] == ["", "Cliente voltou atrás"]


def test_the_query_page_shows_and_exports_the_outcome(client, selling, agent, won):
    lost = make_ticket(selling, agent)
    at_proposal(selling, lost, agent)
    body = closing_note(selling, outcome="lost", lost_reason=str(selling.lost_price.pk))
    client.post(reverse("ticket_note", args=[lost.pk]), body)
    cols = "number,outcome,won_value,lost_reason"
    response = client.get(reverse("tickets"), {"cols": cols, "status": "closed", "sort": "id"})
    rows = {row.ticket.pk: [c.value for c in row.cells] for row in response.context["results"].rows}
    assert rows[won.pk] == [won.pk, "Won", Decimal("500.00"), ""]
    assert rows[lost.pk] == [lost.pk, "Lost", "", "Preço"]
    csv = b"".join(client.get(reverse("tickets_export_csv"), {"cols": cols, "status": "closed"}).streaming_content)
    assert "Preço".encode() in csv and b"500" in csv


def test_the_query_page_and_the_api_filter_by_outcome(client, selling, agent, won):
    lost = make_ticket(selling, agent)
    at_proposal(selling, lost, agent)
    client.post(
        reverse("ticket_note", args=[lost.pk]),
        closing_note(selling, outcome="lost", lost_reason=str(selling.lost_price.pk)),
    )
    still_open = make_ticket(selling, agent)

    def found(outcome):
        response = client.get(reverse("tickets"), {"outcome": outcome, "cols": "number"})
        return {row.ticket.pk for row in response.context["results"].rows}

    assert found("won") == {won.pk}
    assert found("lost") == {lost.pk}
    assert found("open") == {still_open.pk}
    response = client.get(reverse("tickets"), {"outcome": "maybe"})
    assert response.context["field_errs"]["outcome"]
    from ciclo.accounts.roles import ensure_role_groups
    from ciclo.accounts.tokens import create_token
    from tests.api.helpers import Api

    ensure_role_groups()
    api = Api(create_token(agent, name="tests")[1])
    assert [t["id"] for t in api.get("/tickets", outcome="lost").body["items"]] == [lost.pk]
    assert api.get("/tickets", outcome="maybe").status_code == 422


def test_a_supervisor_move_that_closes_the_sale_asks_its_outcome(client, selling, supervisor, ticket):
    client.force_login(supervisor)
    html = client.get(reverse("ticket", args=[ticket.pk])).content.decode()
    assert 'data-testid="move-outcome"' in html
    url = reverse("ticket_move", args=[ticket.pk])
    response = client.post(url, {"step": selling.step_closed.pk, "reason": "Fechado por telefone"})
    assert response.status_code == 422 and 'data-testid="move-outcome-error"' in response.content.decode()
    ticket.refresh_from_db()
    assert not ticket.is_closed
    body = {"step": selling.step_closed.pk, "reason": "Fechado por telefone", "outcome": "won", "won_value": "900"}
    assert client.post(url, body).status_code == 302
    assert contact_of(ticket).won_value == Decimal("900.00")

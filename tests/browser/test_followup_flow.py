"""Working the day's follow-up list in real Chromium: record a call that answers the phase's questions."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ciclo.tickets.models import Answer, Note, Ticket
from tests.browser.conftest import log_in
from tests.followup.conftest import as_sales_world, make_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def _groups(transactional_db):
    from ciclo.accounts.roles import ensure_role_groups

    ensure_role_groups()


@pytest.fixture
def world(sales):
    return as_sales_world(sales)


def test_work_the_day_s_list_recording_a_call_that_answers_the_phase_s_questions(
    page, live_server, agent, world, shot, _groups
):
    s = world
    ticket = make_contact(
        s, agent, subject="Quer trocar de ERP", success=30, value="12000.00", next_contact_at=timezone.now()
    )
    later = make_contact(
        s, agent, subject="Ligar semana que vem", next_contact_at=timezone.now() + timezone.timedelta(days=7)
    )
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server, "agent_t")
    page.get_by_role("link", name="Follow-up").first.click()
    today = page.get_by_test_id("group-today")
    expect(today.locator(f'tr[data-ticket="{ticket.pk}"]')).to_contain_text("Quer trocar de ERP")
    expect(page.get_by_test_id("group-upcoming").locator(f'tr[data-ticket="{later.pk}"]')).to_be_visible()
    expect(page.get_by_test_id("pipeline")).to_contain_text("3.600,00")  # 12.000 × 30 %, in pt-BR
    row = today.locator(f'tr[data-ticket="{ticket.pk}"]')
    expect(row.get_by_test_id("progress")).to_contain_text("0/8")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # every column fits a 1366-px screen
    shot(page, "followup-list")

    page.get_by_test_id(f"call-{ticket.pk}").click()
    form = page.locator(f"#call-row-{ticket.pk}").get_by_test_id("call-form")
    expect(form).to_be_visible()
    prefix = f"row-{ticket.pk}"
    form.locator(f"#{prefix}-text").fill("Falei com o Carlos; quer proposta até sexta")
    form.locator(f"#{prefix}-in-{s.q_text.pk}").fill("Carlos, TI")
    form.locator(f"#{prefix}-opt-{s.o_referral.pk}").check()
    form.locator(f"#{prefix}-c-{s.q_single.pk}-{s.o_referral.pk}").fill("Indicado pela Ana")
    # Moving on without the required answer would be refused; it is answered above.
    form.locator(f"#{prefix}-move").check()
    shot(page, "followup-call-panel")
    form.get_by_test_id("call-record").click()
    expect(page.get_by_test_id("call-done")).to_contain_text("Proposta enviada")
    expect(page.get_by_test_id("group-today").locator(f'tr[data-ticket="{ticket.pk}"]')).to_contain_text(
        "Proposta enviada"
    )
    ticket.refresh_from_db()
    assert ticket.cr == s.cr_proposal
    assert Answer.objects.get(ticket=ticket, question=s.q_text).value_text == "Carlos, TI"
    assert Answer.objects.get(ticket=ticket, question=s.q_single).choices.get().complement == "Indicado pela Ana"
    assert Note.objects.filter(ticket=ticket, text__startswith="Falei com o Carlos").exists()
    shot(page, "followup-after-call")


def test_a_refused_call_keeps_what_was_typed_and_says_why(page, live_server, agent, world, _groups):
    s = world
    ticket = make_contact(s, agent, subject="Sem origem", next_contact_at=timezone.now())
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/followup/")
    page.get_by_test_id(f"call-{ticket.pk}").click()
    prefix = f"row-{ticket.pk}"
    form = page.locator(f"#call-row-{ticket.pk}").get_by_test_id("call-form")
    form.locator(f"#{prefix}-text").fill("Tentei avançar")
    form.locator(f"#{prefix}-move").check()
    form.get_by_test_id("call-record").click()
    expect(page.get_by_test_id("call-blocked")).to_contain_text("1.07")
    expect(page.locator(f"#{prefix}-text")).to_have_value("Tentei avançar")
    assert Ticket.objects.get(pk=ticket.pk).cr == s.cr_prospect


def test_on_a_phone_the_list_is_cards_and_the_call_opens_under_the_card(page, live_server, agent, world, shot, _groups):
    ticket = make_contact(world, agent, subject="No celular", next_contact_at=timezone.now())
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/followup/")
    cards = page.get_by_test_id("today-cards")
    expect(cards.get_by_text("No celular")).to_be_visible()
    expect(page.locator("table.followup-table").first).to_be_hidden()
    page.get_by_test_id(f"card-call-{ticket.pk}").click()
    form = page.locator(f"#call-card-{ticket.pk}").get_by_test_id("call-form")
    expect(form).to_be_visible()
    form.locator(f"#card-{ticket.pk}-text").fill("Ligação pelo celular")
    form.get_by_test_id("call-record").click()
    expect(page.get_by_test_id("call-done")).to_be_visible()
    assert Note.objects.filter(ticket=ticket, text="Ligação pelo celular").exists()
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "followup-phone")

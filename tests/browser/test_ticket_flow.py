from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ciclo.tickets.models import Answer, Ticket
from tests.browser.conftest import log_in
from tests.factory import make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_see_today(page, live_server, agent, sales, shot):
    from django.utils import timezone

    make_ticket(sales, agent, subject="Retornar hoje", next_contact_at=timezone.now())
    log_in(page, live_server, "agent_t")
    # A wide screen shows the table; the cards are for phones.
    expect(page.locator("table").get_by_text("Retornar hoje")).to_be_visible()
    expect(page.get_by_test_id("today-cards")).to_be_hidden()
    expect(page.get_by_test_id("user-menu")).to_contain_text("agent_t")
    shot(page, "home")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("today-cards").get_by_text("Retornar hoje")).to_be_visible()
    expect(page.locator("table").get_by_text("Retornar hoje")).to_be_hidden()
    shot(page, "home-phone")


def test_answer_every_type_save_and_move_through_a_decision_to_close(page, live_server, agent, sales, shot):
    ticket = make_ticket(sales, agent, subject="Venda de ERP")
    s = sales
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.get_by_test_id("phase")).to_contain_text("Prospecção")
    page.fill(f"#in-{s.q_text.pk}", "Carlos, gerente de TI")
    expect(page.locator(f"#count-{s.q_text.pk}")).to_have_text("21/100")
    page.fill(f"#in-{s.q_memo.pk}", "Quer integrar o ERP\ncom o banco")
    page.fill(f"#in-{s.q_number.pk}", "45")
    money = page.locator(f"#in-{s.q_money.pk}")
    money.press_sequentially("1234.5")  # formatted as typed: the dot typed is the decimal mark
    expect(money).to_have_value("1.234,5")
    money.press("Home")
    money.press_sequentially("1")  # typing inside keeps the caret after the digit typed
    expect(money).to_have_value("11.234,5")
    money.press("End")
    money.press_sequentially("67")  # two decimals at most
    expect(money).to_have_value("11.234,56")
    money.fill("")
    money.press_sequentially("12500")
    expect(money).to_have_value("12.500")
    money.press("Tab")  # a finished amount gets its decimals: "12.500" alone could be read two ways
    expect(money).to_have_value("12.500,00")
    money.fill("")
    money.press_sequentially("12500,75")
    expect(money).to_have_value("12.500,75")
    page.fill(f"#in-{s.q_date.pk}", "2026-12-15")
    page.fill(f"#in-{s.q_time.pk}", "14:30")
    page.check(f"#opt-{s.o_referral.pk}")
    page.fill(f"#c-{s.q_single.pk}-{s.o_referral.pk}", "Indicado pela Ana")
    expect(page.locator(f"#opt-{s.o_erp.pk}")).to_be_checked()  # checked by default, as a suggestion
    expect(page.get_by_test_id(f"suggested-{s.o_erp.pk}")).to_be_visible()
    page.check(f"#opt-{s.o_other.pk}")
    page.fill(f"#c-{s.q_multi.pk}-{s.o_other.pk}", "BI")
    shot(page, "cycle-filled")
    page.get_by_test_id("save-answers").click()
    expect(page.get_by_test_id("cycle-success")).to_be_visible()
    assert Answer.objects.filter(ticket=ticket).count() == 8
    assert str(Answer.objects.get(ticket=ticket, question=s.q_money).value_number) == "12500.7500"
    expect(page.locator(f"#in-{s.q_money.pk}")).to_have_value("12.500,75")
    expect(page.locator(f"#q-{s.q_money.pk} .input-group")).to_have_text(re.compile(r"R\$"))
    expect(page.get_by_test_id(f"suggested-{s.o_erp.pk}")).to_have_count(0)  # an answer now

    # move on to the proposal phase
    page.fill("#note-text", "Enviada a proposta por e-mail")
    page.check("#note-move")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("phase")).to_contain_text("Proposta enviada")
    # the decision comes up inline, with where each option leads
    expect(page.get_by_text("Fechou negócio?")).to_be_visible()
    expect(page.get_by_text("encerra o atendimento").or_(page.get_by_text("closes the ticket")).first).to_be_visible()
    page.fill("#note-text", "Cliente aceitou")
    page.check("#note-move")
    page.check(f"#choice-{s.yes.pk}")
    shot(page, "decision")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("status")).to_have_text(re.compile("Encerrado|Closed"))
    expect(page.get_by_test_id("phase")).to_contain_text("Encerrado")
    shot(page, "ticket-closed")
    assert Ticket.objects.get(pk=ticket.pk).is_closed


def test_invalid_value_is_marked_and_nothing_saved(page, live_server, agent, sales):
    ticket = make_ticket(sales, agent)
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.fill(f"#in-{sales.q_memo.pk}", "válido")
    page.fill(f"#in-{sales.q_money.pk}", "10,555")
    page.get_by_test_id("save-answers").click()
    expect(page.get_by_test_id("cycle-error")).to_be_visible()
    expect(page.locator(f"#in-{sales.q_money.pk}")).to_have_class(re.compile("is-invalid"))
    assert not Answer.objects.filter(ticket=ticket).exists()


def test_a_conflict_from_a_second_browser_is_reported(browser, live_server, agent, supervisor, sales, shot):
    ticket = make_ticket(sales, agent)
    first = browser.new_context(locale="pt-BR").new_page()
    second = browser.new_context(locale="pt-BR").new_page()
    log_in(first, live_server, "agent_t")
    log_in(second, live_server, "supervisor_t")
    for page in (first, second):
        page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    second.fill(f"#in-{sales.q_text.pk}", "Resposta do supervisor")
    second.get_by_test_id("save-answers").click()
    expect(second.get_by_test_id("cycle-success")).to_be_visible()
    first.fill(f"#in-{sales.q_text.pk}", "Resposta do agente")
    first.get_by_test_id("save-answers").click()
    conflict = first.get_by_test_id(f"conflict-{sales.q_text.pk}")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("Resposta do supervisor")
    shot(first, "conflict")
    assert Answer.objects.get(ticket=ticket, question=sales.q_text).value_text == "Resposta do supervisor"
    expect(first.locator(f"#mine-{sales.q_text.pk}")).not_to_be_checked()  # no side chosen for the user
    first.get_by_test_id("save-answers").click()
    expect(first.get_by_test_id(f"error-{sales.q_text.pk}")).to_be_visible()
    first.check(f"#mine-{sales.q_text.pk}")
    first.get_by_test_id("save-answers").click()
    expect(first.get_by_test_id("cycle-success")).to_be_visible()
    assert Answer.objects.get(ticket=ticket, question=sales.q_text).value_text == "Resposta do agente"


def test_open_a_new_ticket_finding_the_person_as_you_type(page, live_server, agent, sales, shot):
    from tests.factory import make_person

    make_person(name="Joana Prado")
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/new/")
    page.fill("#person-search", "joa")
    page.get_by_role("option", name=re.compile("Joana Prado")).click()
    expect(page.get_by_test_id("person-chosen")).to_contain_text("Joana Prado")
    page.select_option("#id_service_type", str(sales.type.pk))
    page.fill("#id_subject", "Pedido de orçamento")
    page.select_option("#id_company", str(sales.company.pk))
    shot(page, "new-ticket")
    page.click("form button[type=submit]")
    expect(page.get_by_test_id("phase")).to_contain_text("Prospecção")
    expect(page.locator(f"#in-{sales.q_text.pk}")).to_be_visible()  # the first CR's cycle is open
    assert Ticket.objects.get().subject == "Pedido de orçamento"


def test_chained_decisions_are_asked_up_front_and_one_record_moves_through_them(page, live_server, agent, sales, shot):
    from ciclo.tickets.answering import AnswerInput, save_answers
    from ciclo.tickets.routing import record_note
    from tests.test_routing import chain_a_second_decision

    second, _again, give_up, _lost = chain_a_second_decision(sales)
    ticket = make_ticket(sales, agent, subject="Venda em dúvida")
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="Proposta", move_on=True)
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.get_by_test_id(f"decision-{sales.decision.pk}")).to_be_visible()
    expect(page.get_by_test_id(f"decision-{second.pk}")).to_be_visible()  # the next decision too
    # a choice left out is asked, not shown as an error
    page.fill("#note-text", "Cliente não fechou")
    page.check("#note-move")
    page.check(f"#choice-{sales.no.pk}")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("note-prompt")).to_contain_text("Nova proposta?")
    expect(page.locator("#note-form .alert-danger")).to_have_count(0)
    shot(page, "decision-asked")
    page.check(f"#choice-{give_up.pk}")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("phase")).to_contain_text("Perdido")
    assert Ticket.objects.get(pk=ticket.pk).is_closed


def test_saving_the_required_answer_clears_the_blocked_move_without_a_reload(page, live_server, agent, sales):
    ticket = make_ticket(sales, agent)
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.fill("#note-text", "Tentando avançar")
    page.check("#note-move")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("note-blocked")).to_be_visible()
    expect(page.get_by_test_id("required-block")).to_contain_text("Origem")
    page.check(f"#opt-{sales.o_site.pk}")
    page.get_by_test_id("save-answers").click()
    expect(page.get_by_test_id("cycle-success")).to_be_visible()
    expect(page.get_by_test_id("note-blocked")).to_have_count(0)
    expect(page.get_by_test_id("required-block")).to_have_count(0)
    expect(page.locator("#note-text")).to_have_value("Tentando avançar")  # what was typed stays
    page.click("#note-form button[type=submit]")
    expect(page.get_by_test_id("phase")).to_contain_text("Proposta enviada")


def test_unlock_with_a_reason_then_lock_again(page, live_server, agent, sales, shot):
    from ciclo.tickets.answering import AnswerInput, save_answers
    from ciclo.tickets.models import CrUnlock
    from ciclo.tickets.routing import record_note

    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=agent)
    record_note(ticket, by=agent, text="Proposta", move_on=True)
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    phase = page.get_by_test_id("phase-1")
    phase.locator("button.accordion-button").click()
    unlock = page.get_by_test_id("unlock-1")
    unlock.get_by_role("button").click()
    expect(page.get_by_test_id("cycle-error")).to_be_visible()  # the reason is required
    page.get_by_test_id("phase-1").locator("button.accordion-button").click()
    expect(page.get_by_test_id("unlock-error")).to_be_visible()  # beside its field
    assert not CrUnlock.objects.exists()
    page.fill(f"#unlock-reason-{sales.cr_prospect.pk}", "Cliente corrigiu o contato")
    page.get_by_test_id("unlock-1").get_by_role("button").click()
    expect(page.get_by_test_id("unlocked-1")).to_contain_text("Cliente corrigiu o contato")
    expect(page.get_by_test_id("timeline-unlock")).to_contain_text("Cliente corrigiu o contato")
    shot(page, "unlocked")
    page.get_by_test_id("unlocked-1").get_by_role("button").click()
    expect(page.get_by_test_id("timeline-relock")).to_be_visible()
    expect(page.get_by_test_id("unlocked-1")).to_have_count(0)
    assert CrUnlock.objects.get().relocked_by == agent


def test_a_supervisor_moves_to_a_decision_step_choosing_its_option(page, live_server, agent, supervisor, sales):
    ticket = make_ticket(sales, agent)
    log_in(page, live_server, "supervisor_t")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.get_by_test_id("move-form").locator("summary").click()
    page.select_option("#move-step", str(sales.decision.pk))
    expect(page.locator(f"#move-choice-{sales.no.pk}")).to_be_visible()
    page.check(f"#move-choice-{sales.no.pk}")
    page.fill("#move-reason", "Cliente pediu para negociar")
    page.get_by_test_id("move-form").get_by_role("button").click()
    expect(page.get_by_test_id("phase")).to_contain_text("Negociação")


def test_a_person_is_found_by_part_of_a_surname_and_a_wrong_cpf_is_refused_as_typed(page, live_server, agent, sales):
    """What a person types: a piece of the surname finds the customer; a CPF with a wrong check digit is
    refused on its field, and the person is not added."""
    from ciclo.people.models import Person
    from tests.factory import make_person

    make_person(name="Mariana Carvalho")
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/new/")
    page.locator("#person-search").press_sequentially("carv")
    expect(page.get_by_role("option", name=re.compile("Mariana Carvalho"))).to_be_visible()

    people = Person.objects.count()
    page.locator("#new-person summary").click()
    page.locator("#id_new_person-name").press_sequentially("Paulo Souza")
    page.locator("#id_new_person-document").press_sequentially("123.456.789-00")
    page.locator("[data-new-person-submit]").click()
    expect(page.locator("#new-person .invalid-feedback")).to_contain_text("CPF")
    assert Person.objects.count() == people

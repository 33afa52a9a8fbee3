"""The agenda in real Chromium: the week, an appointment's panel with its ticket's cycle answered in place,
and an appointment rescheduled to another day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ciclo.agenda.models import Appointment
from ciclo.tickets.models import Answer, Ticket
from tests.browser.conftest import log_in
from tests.factory import make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def today_at(hour: int, days: int = 0) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_open_the_week_click_an_appointment_and_answer_a_question_in_the_panel(page, live_server, agent, sales, shot):
    ticket = make_ticket(sales, agent, subject="Venda de ERP", next_contact_at=today_at(10))
    appointment = Appointment.objects.get(ticket=ticket)
    log_in(page, live_server, "agent_t")
    page.get_by_role("link", name="Agenda").click()
    expect(page.get_by_test_id("agenda-today")).to_have_class(_contains("active"))
    day = page.get_by_test_id(f"day-{timezone.localdate().isoformat()}")
    item = day.get_by_test_id(f"appointment-{appointment.pk}")
    expect(item).to_contain_text("10:00–10:30")
    expect(item).to_contain_text("Venda de ERP")
    shot(page, "agenda-week")
    item.click()
    panel = page.get_by_test_id("agenda-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("ticket-header")).to_contain_text("Venda de ERP")
    expect(panel.get_by_test_id("phase")).to_contain_text("Prospecção")
    panel.locator(f"#in-{sales.q_text.pk}").fill("Carlos, gerente de TI")
    panel.get_by_test_id("save-answers").click()
    expect(panel.get_by_test_id("cycle-success")).to_be_visible()
    expect(panel.get_by_test_id(f"saved-{sales.q_text.pk}")).to_be_visible()
    shot(page, "agenda-panel-answered")
    answer = Answer.objects.get(ticket=ticket, question=sales.q_text)
    assert answer.value_text == "Carlos, gerente de TI" and answer.answered_by == agent
    # still the agenda: the panel answered in place, the page never left
    assert page.url.startswith(f"{live_server.url}/agenda/")


def test_the_week_and_month_on_a_phone(page, live_server, agent, sales, shot):
    ticket = make_ticket(sales, agent, subject="Ligar de volta", next_contact_at=today_at(16))
    appointment = Appointment.objects.get(ticket=ticket)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/agenda/")
    item = page.get_by_test_id(f"appointment-{appointment.pk}")
    expect(item).to_be_visible()
    # the days one under another: the page is no wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "agenda-week-phone")
    item.click()
    expect(page.get_by_test_id("agenda-panel").get_by_test_id("ticket-header")).to_contain_text("Ligar de volta")
    shot(page, "agenda-panel-phone")
    page.goto(f"{live_server.url}/agenda/month/")
    expect(page.get_by_test_id(f"appointment-{appointment.pk}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_test_id("agenda-today").click()
    expect(page.get_by_test_id(f"appointment-{appointment.pk}")).to_be_visible()


def test_reschedule_an_appointment_and_see_it_move(page, live_server, agent, sales, shot):
    ticket = make_ticket(sales, agent, subject="Retorno", next_contact_at=today_at(10))
    appointment = Appointment.objects.get(ticket=ticket)
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    target = monday + dt.timedelta(days=3 if today.weekday() != 3 else 4)  # another day of this week
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/agenda/")
    page.get_by_test_id(f"appointment-{appointment.pk}").click()
    panel = page.get_by_test_id("agenda-panel")
    panel.get_by_test_id("appointment-edit").click()
    form = panel.get_by_test_id("appointment-form")
    form.locator("#ap-start-date").fill(target.isoformat())
    form.locator("#ap-start-time").fill("15:00")
    form.locator("#ap-end-date").fill(target.isoformat())
    form.locator("#ap-end-time").fill("15:45")
    form.get_by_test_id("appointment-save").click()
    moved = page.get_by_test_id(f"day-{target.isoformat()}").get_by_test_id(f"appointment-{appointment.pk}")
    expect(moved).to_contain_text("15:00–15:45")
    expect(
        page.get_by_test_id(f"day-{today.isoformat()}").get_by_test_id(f"appointment-{appointment.pk}")
    ).to_have_count(0)
    shot(page, "agenda-rescheduled")
    ticket = Ticket.objects.get(pk=ticket.pk)
    expected = timezone.make_aware(dt.datetime.combine(target, dt.time(15)))
    assert ticket.next_contact_at == expected
    # a bad time is refused on its field, nothing saved
    page.get_by_test_id(f"appointment-{appointment.pk}").click()
    panel.get_by_test_id("appointment-edit").click()
    form.locator("#ap-end-time").fill("14:00")
    form.get_by_test_id("appointment-save").click()
    expect(form.get_by_test_id("error-end_time")).to_be_visible()
    assert Appointment.objects.get(pk=appointment.pk).end == expected + dt.timedelta(minutes=45)


def _contains(word: str):
    import re

    return re.compile(rf"(^|\s){word}(\s|$)")

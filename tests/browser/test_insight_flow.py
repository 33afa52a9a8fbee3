"""The insight dashboards in real Chromium: each one opened, a filter changed, the chart redrawn."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ciclo.tickets.answering import AnswerInput, save_answers
from tests.browser.conftest import log_in
from tests.factory import make_company
from tests.insight.history import move_on, open_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def _groups(transactional_db):
    from ciclo.accounts.roles import ensure_role_groups

    ensure_role_groups()


@pytest.fixture
def world(sales, supervisor, agent):
    """Three tickets of the sales workflow opened in the last days: two of the setup's company (one moved
    on, both answered), one of another company, whose next contact is with the agent."""
    now = timezone.now()
    other = make_company(name="Outra Empresa")
    a = open_at(sales, supervisor, now - dt.timedelta(days=10))
    b = open_at(sales, supervisor, now - dt.timedelta(days=9))
    open_at(sales, supervisor, now - dt.timedelta(days=4), company=other, next_contact_user=agent)
    save_answers(a, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=supervisor, at=now - dt.timedelta(days=8))
    save_answers(
        b, [AnswerInput(sales.q_single.pk, [sales.o_referral.pk])], by=supervisor, at=now - dt.timedelta(days=8)
    )
    move_on(a, supervisor, now - dt.timedelta(days=6))
    return {"other": other}


def _results(page):
    return page.get_by_test_id("insight-results")


def test_each_dashboard_redraws_its_chart_when_a_filter_changes(page, live_server, supervisor, world, shot, _groups):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, live_server, "supervisor_t")
    other = str(world["other"].pk)

    page.goto(f"{live_server.url}/insight/")
    now_table = page.get_by_test_id("table-phases")
    expect(now_table.locator("tbody tr").first).to_contain_text("Prospecção")
    expect(now_table.locator("tbody tr").first.locator("td").first).to_have_text("2")
    before = page.locator("svg[data-testid=chart]").first.inner_html()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shot(page, "insight-phases")
    page.select_option("#f-company", other)
    expect(page.get_by_test_id("table-phases").locator("tbody tr").first.locator("td").first).to_have_text("1")
    assert page.locator("svg[data-testid=chart]").first.inner_html() != before
    assert f"company={other}" in page.url  # the filter is in the address, to share or reload

    page.goto(f"{live_server.url}/insight/funnel/")
    expect(page.get_by_test_id("table-funnel").locator("tbody tr").nth(1).locator("td").first).to_have_text("1")
    before = page.locator("svg[data-testid=chart]").first.inner_html()
    shot(page, "insight-funnel")
    page.select_option("#f-company", other)
    expect(page.get_by_test_id("table-funnel").locator("tbody tr").nth(1).locator("td").first).to_have_text("0")
    assert page.locator("svg[data-testid=chart]").first.inner_html() != before

    page.goto(f"{live_server.url}/insight/people/")
    expect(page.get_by_test_id("table-people")).to_contain_text("agent_t")
    shot(page, "insight-people")
    page.select_option("#f-user", str(supervisor.pk))
    expect(page.get_by_test_id("table-people")).not_to_contain_text("agent_t")

    page.goto(f"{live_server.url}/insight/answers/")
    origin = page.get_by_test_id("question-1.07")
    expect(origin.locator("table tbody tr").first).to_contain_text("Site")
    expect(origin.locator("table tbody tr").first.locator("td").first).to_have_text("1")
    shot(page, "insight-answers")
    page.select_option("#f-company", other)
    expect(page.get_by_test_id("question-1.07").locator("table tbody tr").first.locator("td").first).to_have_text("0")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/insight/")
    expect(page.locator("svg[data-testid=chart]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "insight-phases-phone")

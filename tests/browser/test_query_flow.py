from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from ciclo.tickets.models import Scenario
from tests.browser.conftest import log_in
from tests.factory import make_person, make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_tickets_save_a_scenario_and_export_csv(page, live_server, agent, sales, shot):
    make_ticket(sales, agent, subject="Renovação Alfa", person=make_person(name="Marcos Alves"))
    make_ticket(sales, agent, subject="Venda Beta", person=make_person(name="Beatriz Souza"))
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/")
    table = page.get_by_test_id("results-table")
    expect(table).to_contain_text("Renovação Alfa")
    expect(table).to_contain_text("Venda Beta")

    # typing a name narrows the results without a full reload
    page.fill("#f-person", "marc")
    expect(table).not_to_contain_text("Venda Beta")
    expect(table).to_contain_text("Renovação Alfa")
    expect(page).to_have_url(re.compile(r"person=marc"))
    shot(page, "query-filtered")

    # save the filter as a shared scenario
    page.fill("#scenario-name", "Clientes Marc")
    page.check("#scenario-shared")
    page.get_by_test_id("scenario-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("scenario-list")).to_contain_text("Clientes Marc")
    scenario = Scenario.objects.get(name="Clientes Marc")
    assert scenario.shared and scenario.params["person"] == "marc"

    # reopen it from a clean page
    page.goto(f"{live_server.url}/tickets/")
    expect(table).to_contain_text("Venda Beta")
    page.get_by_test_id("scenario-list").get_by_role("link", name="Clientes Marc").click()
    expect(page.get_by_test_id("results-table")).not_to_contain_text("Venda Beta")
    expect(page.locator("#f-person")).to_have_value("marc")

    # export what is shown, as CSV
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    name = download.suggested_filename
    assert name.startswith("ciclo-atendimentos-") and name.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as exported:
        content = exported.read()
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert len(rows) == 2  # the header and one ticket
    assert any("Renovação Alfa" in cell for cell in rows[1])

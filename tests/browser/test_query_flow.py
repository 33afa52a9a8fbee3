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


def test_the_query_page_fits_a_1366_pixel_screen_and_its_chips_and_choices_work(page, live_server, agent, sales, shot):
    from tests.factory import make_user

    colleague = make_user("colega_b", first_name="Mariana", last_name="Albuquerque de Vasconcelos")
    for i in range(25):
        make_ticket(
            sales,
            agent,
            subject=f"Renovação do contrato de suporte e manutenção do ERP, módulo fiscal {i}",
            person=make_person(name=f"Distribuidora de Materiais de Construção Vale Verde Ltda {i}"),
            next_contact_user=colleague if i % 2 else agent,
        )
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "agent_t")
    page.goto(f"{live_server.url}/tickets/")
    table = page.get_by_test_id("results-table")
    expect(table).to_be_visible()
    shot(page, "query-1366")
    # No sideways scrolling with the default columns: neither the page nor the table's box.
    widths = page.evaluate(
        """() => {
            const box = document.querySelector('.table-responsive');
            return {page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth,
                    table: box.scrollWidth, box: box.clientWidth};
        }"""
    )
    assert widths["page"] <= widths["view"], widths
    cols = page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-testid=results-table] thead th'))"
        ".map(th => [th.textContent.trim(), th.offsetWidth])"
    )
    assert widths["table"] <= widths["box"], (widths, cols)

    # The phases drop-down: tick one, its face lists it, the results follow, a chip appears.
    page.locator("#f-crs").click()
    page.get_by_label(f"{sales.cr_proposal.code} · {sales.cr_proposal.description}").check()
    expect(page.locator("#f-crs")).to_contain_text(sales.cr_proposal.description)
    expect(page.get_by_test_id("no-results")).to_be_visible()
    chip = page.get_by_test_id("chip")
    expect(chip).to_contain_text(sales.cr_proposal.description)
    page.keyboard.press("Escape")
    shot(page, "query-chip")
    # Removing the chip brings every ticket back and leaves the phase unticked.
    chip.click()
    expect(page.get_by_test_id("results-table")).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text("25")
    expect(page.locator("#f-crs")).not_to_contain_text(sales.cr_proposal.description)

"""Browser test: load receivables from a file (upload, preview, confirm, import), run the collections update
with its button (its progress, then its result), open the collection ticket it made from the result and
record a note, in real Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ciclo.collections.models import CollectionItem, CollectionRun, Receivable
from ciclo.jobs.worker import run_queued_tasks
from ciclo.tickets.models import Note
from tests.browser.conftest import log_in
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "company;document;instalment;person;issue_date;due_date;amount;open_balance;kind;administrative_status"


def test_load_receivables_run_the_update_and_work_the_collection(page, live_server, supervisor, shot):
    setup = CollectionSetup()
    debtor = make_person(name="Débora Devedora")
    due = (timezone.localdate() - dt.timedelta(days=30)).strftime("%d/%m/%Y")
    issued = (timezone.localdate() - dt.timedelta(days=60)).strftime("%d/%m/%Y")
    text = "\n".join(
        [
            HEADER,
            f"E1;NF-900;1;{debtor.pk};{issued};{due};1.250,00;1.250,00;normal;",
            f"E1;NF-900;2;{debtor.pk};{issued};{due};750,50;750,50;normal;",
            f"XX;NF-901;1;{debtor.pk};{issued};{due};10,00;10,00;normal;",
        ]
    )
    log_in(page, live_server, "supervisor_t")
    page.goto(f"{live_server.url}/receivables/")
    page.set_input_files(
        "input[name=file]", files=[{"name": "titulos.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    page.get_by_test_id("receivables-upload").locator("button").click()
    expect(page.get_by_test_id("job-state")).to_have_attribute("data-status", "checking")
    run_queued_tasks()  # what the worker does: the check
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    expect(page.get_by_test_id("count-refused")).to_have_text("1")
    expect(page.get_by_test_id("preview-rows")).to_contain_text("E1 · NF-900 · 2")
    expect(page.get_by_test_id("refused-rows")).to_contain_text("XX")
    shot(page, "receivables-preview")
    assert not Receivable.objects.exists()
    page.get_by_test_id("confirm-import").click()
    run_queued_tasks()  # the import
    expect(page.get_by_test_id("job-done")).to_be_visible()
    shot(page, "receivables-imported")
    assert Receivable.objects.filter(person=debtor).count() == 2

    page.locator("nav a[href='/collections/']").click()  # the navigation: the collections update's page
    page.get_by_test_id("start-update").click()
    state = page.get_by_test_id("update-state")
    expect(state).to_have_attribute("data-status", "queued")
    expect(page.get_by_test_id("update-progress")).to_be_visible()
    shot(page, "collections-update-queued")
    run_queued_tasks()  # what the worker does: the update
    expect(state).to_have_attribute("data-status", "done")  # the page polls until it is done
    expect(page.get_by_test_id("count-opened")).to_have_text("1")
    expect(page.get_by_test_id("count-receivables")).to_have_text("2")
    shot(page, "collections-update-done")
    run = CollectionRun.objects.get()
    assert run.started_by == supervisor and run.trigger == "manual" and run.counts["opened"] == 1
    item = CollectionItem.objects.select_related("ticket").get(
        receivable__document="NF-900", receivable__instalment="1"
    )
    ticket = item.ticket
    assert ticket.service_type == setup.type

    page.get_by_test_id("collection-tickets").click()  # the ticket query, filtered by the collection type
    results = page.get_by_test_id("results-table")
    expect(results).to_contain_text("Débora Devedora")
    results.locator(f'a[href$="/tickets/{ticket.pk}/"]').first.click()
    page.wait_for_url(f"**/tickets/{ticket.pk}/")
    expect(page.get_by_text("NF-900").first).to_be_visible()
    page.fill("#note-text", "Devedora prometeu pagar na sexta")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_text("Devedora prometeu pagar na sexta").first).to_be_visible()
    shot(page, "collection-note")
    assert Note.objects.filter(ticket=ticket, text="Devedora prometeu pagar na sexta", author=supervisor).exists()

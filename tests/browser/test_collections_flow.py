"""Browser test: load receivables from a file (upload, preview, confirm, import), run the collections update,
open the collection ticket it made and record a note, in real Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ciclo.collections.models import CollectionItem, Receivable
from ciclo.collections.update import update_collections
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

    run = update_collections(by=supervisor)
    assert run.counts["opened"] == 1
    item = CollectionItem.objects.select_related("ticket").get(
        receivable__document="NF-900", receivable__instalment="1"
    )
    ticket = item.ticket
    assert ticket.service_type == setup.type

    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.get_by_text("NF-900").first).to_be_visible()
    page.fill("#note-text", "Devedora prometeu pagar na sexta")
    page.click("#note-form button[type=submit]")
    expect(page.get_by_text("Devedora prometeu pagar na sexta").first).to_be_visible()
    shot(page, "collection-note")
    assert Note.objects.filter(ticket=ticket, text="Devedora prometeu pagar na sexta", author=supervisor).exists()

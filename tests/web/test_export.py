"""Exporting the ticket query as CSV and XLSX: every matching row, the chosen columns, filters and visibility."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation

from ciclo.accounts.models import UserCompany
from ciclo.configurator.models import CrmOptions, Priority
from ciclo.people.documents import format_document
from ciclo.tickets.models import Ticket
from ciclo.tickets.views.query import COLUMNS, COLUMNS_BY_KEY
from tests.factory import SalesSetup, make_company, make_person, make_ticket

# Until the routes are in ciclo/tickets/urls.py; harmless after.

SP = ZoneInfo("America/Sao_Paulo")
CSV_URL = "/tickets/export.csv"
XLSX_URL = "/tickets/export.xlsx"


@pytest.fixture
def tickets(sales: SalesSetup, agent: Any) -> list[Ticket]:
    """45 tickets (more than two pages of 20), opened a minute apart; every third in a second company."""
    company2 = make_company(name="Filial Norte")
    start = dt.datetime(2026, 3, 1, 8, 0, tzinfo=SP)
    out = []
    for i in range(45):
        out.append(
            make_ticket(
                sales,
                agent,
                person=make_person(name=f"Cliente {i:02d}"),
                subject=f"Assunto {i:02d}",
                company=company2 if i % 3 == 0 else sales.company,
                at=start + dt.timedelta(minutes=i),
                next_contact_at=start + dt.timedelta(days=2, minutes=i),
            )
        )
    return out


def labels(keys: list[str]) -> list[str]:
    return [str(COLUMNS_BY_KEY[k].label) for k in keys]


def read_csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";"))


def read_xlsx(response: Any) -> Any:
    body = b"".join(response.streaming_content)
    return openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]


def test_csv_has_every_matching_row_in_the_chosen_columns(client, agent, tickets, settings):
    settings.LANGUAGE_CODE = "pt-br"  # the headers a Brazilian spreadsheet gets
    client.force_login(agent)
    with translation.override("pt-br"):
        expected_header = labels(["number", "opened", "person", "company"])
    response = client.get(CSV_URL, {"cols": "number,opened,person,company", "sort": "opened_at"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="ciclo-atendimentos-\d{8}-\d{4}\.csv"', response["Content-Disposition"])
    header, *rows = read_csv(response)
    assert header == expected_header
    assert [int(r[0]) for r in rows] == [t.pk for t in tickets]
    first = tickets[0]
    assert rows[0] == [str(first.pk), "01/03/2026 08:00", "Cliente 00", first.company.name]


def test_csv_dates_are_in_the_users_time_zone(client, agent, sales):
    # 01:30 UTC on the 2nd is still 22:30 on the 1st in São Paulo.
    make_ticket(sales, agent, at=dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC))
    client.force_login(agent)
    _header, row = read_csv(client.get(CSV_URL, {"cols": "opened"}))
    assert row == ["01/03/2026 22:30"]


def test_export_reads_in_batches_without_repeating_or_losing_rows(client, agent, tickets, monkeypatch):
    monkeypatch.setattr("ciclo.tickets.views.export.BATCH_SIZE", 7)
    client.force_login(agent)
    _header, *rows = read_csv(client.get(CSV_URL, {"cols": "number", "sort": "-opened_at"}))
    assert [int(r[0]) for r in rows] == [t.pk for t in reversed(tickets)]


def test_export_respects_the_filter(client, agent, tickets):
    client.force_login(agent)
    company2 = tickets[0].company
    _header, *rows = read_csv(client.get(CSV_URL, {"cols": "number", "company": company2.pk, "sort": "id"}))
    assert [int(r[0]) for r in rows] == [t.pk for t in tickets if t.company_id == company2.pk]
    cpf = format_document(tickets[15].person.document)
    _header, *rows = read_csv(client.get(CSV_URL, {"cols": "number", "person": cpf}))
    assert [int(r[0]) for r in rows] == [tickets[15].pk]


def test_export_respects_company_access_control(client, agent, admin_user, tickets, sales):
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    UserCompany.objects.create(user=agent, company=sales.company)
    client.force_login(agent)
    _header, *rows = read_csv(client.get(CSV_URL, {"cols": "number"}))
    assert sorted(int(r[0]) for r in rows) == sorted(t.pk for t in tickets if t.company_id == sales.company.pk)
    sheet = read_xlsx(client.get(XLSX_URL, {"cols": "number"}))
    assert sheet.max_row - 1 == 30
    client.force_login(admin_user)
    _header, *rows = read_csv(client.get(CSV_URL, {"cols": "number"}))
    assert len(rows) == 45


def test_export_takes_the_columns_from_the_session_when_the_url_has_none(client, agent, tickets):
    client.force_login(agent)
    client.get("/tickets/", {"cols": "person,priority"})
    header, *_rows = read_csv(client.get(CSV_URL))
    assert header == labels(["person", "priority"])


def test_every_column_exports(client, agent, tickets):
    client.force_login(agent)
    header, *rows = read_csv(client.get(CSV_URL, {"cols": ",".join(c.key for c in COLUMNS), "sort": "id"}))
    assert header == labels([c.key for c in COLUMNS])
    assert len(rows) == 45 and all(len(r) == len(COLUMNS) for r in rows)


def test_a_formula_looking_value_is_exported_as_text(client, agent, sales):
    make_ticket(sales, agent, subject='=HYPERLINK("http://example.com")')
    client.force_login(agent)
    _header, row = read_csv(client.get(CSV_URL, {"cols": "subject"}))
    assert row == ['\'=HYPERLINK("http://example.com")']
    sheet = read_xlsx(client.get(XLSX_URL, {"cols": "subject"}))
    cell = sheet.cell(row=2, column=1)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://example.com")'


def test_exports_hold_plain_values_as_typed_not_markup(client, agent, sales):
    """The page escapes what people typed; a spreadsheet gets it as it is, and choices by their label."""
    person = make_person(name="<script>alert('x')</script> & Cia")
    ticket = make_ticket(sales, agent, person=person, subject="Preço <b>especial</b>")
    client.force_login(agent)
    params = {"cols": "number,person,subject,status"}
    _header, row = read_csv(client.get(CSV_URL, params))
    assert row == [str(ticket.pk), "<script>alert('x')</script> & Cia", "Preço <b>especial</b>", "Open"]
    sheet = read_xlsx(client.get(XLSX_URL, params))
    assert next(sheet.iter_rows(min_row=2, values_only=True)) == (
        ticket.pk,
        "<script>alert('x')</script> & Cia",
        "Preço <b>especial</b>",
        "Open",
    )


def test_xlsx_has_every_matching_row_in_the_chosen_columns(client, agent, tickets):
    client.force_login(agent)
    response = client.get(XLSX_URL, {"cols": "number,opened,subject,priority", "sort": "opened_at"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.fullmatch(r'attachment; filename="ciclo-atendimentos-\d{8}-\d{4}\.xlsx"', response["Content-Disposition"])
    sheet = read_xlsx(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == labels(["number", "opened", "subject", "priority"])
    assert [r[0] for r in rows[1:]] == [t.pk for t in tickets]
    first = tickets[0]
    # The priority with its meaning, as the page shows it ("2 – high"): it still sorts by its number.
    assert rows[1] == (first.pk, dt.datetime(2026, 3, 1, 8, 0), "Assunto 00", Priority.describe(first.priority))
    assert sheet.cell(row=2, column=2).number_format == "dd/mm/yyyy hh:mm"


def test_xlsx_respects_the_filter(client, agent, tickets):
    client.force_login(agent)
    sheet = read_xlsx(client.get(XLSX_URL, {"cols": "number", "text": "Assunto 41"}))
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [tickets[41].pk]


def test_an_invalid_filter_shows_the_page_with_its_errors_and_exports_nothing(client, agent, tickets):
    client.force_login(agent)
    for url in (CSV_URL, XLSX_URL):
        response = client.get(url, {"person": "ab"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert "person" in response.context["errors"]


def test_the_page_links_to_both_exports_with_its_filter(client, agent, tickets):
    client.force_login(agent)
    response = client.get("/tickets/", {"status": "open", "cols": "number,person"})
    html = response.content.decode()
    assert f'href="{reverse("tickets_export_csv")}?status=open&amp;cols=number%2Cperson"' in html
    assert f'href="{reverse("tickets_export_xlsx")}?status=open&amp;cols=number%2Cperson"' in html


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_anonymous_users_are_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_export_is_read_only(client, agent, url):
    client.force_login(agent)
    assert client.post(url).status_code == 405

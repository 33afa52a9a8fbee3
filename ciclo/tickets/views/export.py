"""Exporting the ticket query: every matching row, in the visible columns, as CSV or XLSX.

Both read the rows in keyset batches (`query.walk_matching`), so memory stays constant however
many tickets match. Formats are the ones a Brazilian Excel opens as they are:

- CSV: UTF-8 with a byte-order mark (without it Excel reads the file as Windows-1252
  and garbles accents), ";" between fields (Excel in pt-BR takes "," as the decimal
  comma), dates as dd/mm/yyyy HH:MM in the user's time zone. It is streamed as written.
  A text cell that starts with =, +, -, @ or a tab gets a leading apostrophe, so a
  spreadsheet shows it instead of running it as a formula.
- XLSX: an openpyxl write-only workbook spooled to a temporary file, then streamed;
  dates are real date cells shown as dd/mm/yyyy hh:mm, in the user's time zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ciclo.accounts.decorators import ciclo_user
from ciclo.tickets import query
from ciclo.tickets.models import Ticket
from ciclo.tickets.views.query import (
    Column,
    QueryState,
    choice_labels,
    column_annotations,
    column_values,
    read_state,
    render_page,
)

BATCH_SIZE = 2000
CSV_DATETIME = "%d/%m/%Y %H:%M"
XLSX_DATETIME = "dd/mm/yyyy hh:mm"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_WIDTHS = {"number": 10, "opened": 17, "next_contact": 17, "priority": 10, "status": 12, "document": 20}


def _filename(extension: str) -> str:
    return f"ciclo-atendimentos-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _rows(request: HttpRequest, state: QueryState) -> Iterator[Ticket]:
    return query.walk_matching(request.user, state.filter, BATCH_SIZE, column_annotations(state.columns))


def _csv_value(value: Any, tz: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, tz).strftime(CSV_DATETIME)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    """A file that hands back what is written: csv.writer then formats one row at a time."""

    def write(self, value: str) -> str:
        return value


def _csv_chunks(columns: list[Column], rows: Iterator[Ticket], language: str, tz: Any) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";")
    # The response is written after the view returns: keep the request's language and time zone.
    with translation.override(language), timezone.override(tz):
        yield "\ufeff" + writer.writerow([str(c.label) for c in columns])
        labels = choice_labels(columns)
        chunk: list[str] = []
        for ticket in rows:
            chunk.append(writer.writerow([_csv_value(v, tz) for v in column_values(columns, ticket, labels)]))
            if len(chunk) >= 500:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)


@require_GET
@ciclo_user
def export_csv(request: HttpRequest) -> HttpResponse:
    state = read_state(request)
    if state.errors:
        return render_page(request, state)
    tz = timezone.get_current_timezone()
    chunks = _csv_chunks(state.columns, _rows(request, state), translation.get_language(), tz)
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response  # type: ignore[return-value]  # ciclo_user's View type says HttpResponse


def _xlsx_cell(sheet: Any, value: Any, tz: Any) -> Any:
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=timezone.localtime(value, tz).replace(tzinfo=None))
        cell.number_format = XLSX_DATETIME
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula
            return cell
    return value


@require_GET
@ciclo_user
def export_xlsx(request: HttpRequest) -> HttpResponse:
    state = read_state(request)
    if state.errors:
        return render_page(request, state)
    tz = timezone.get_current_timezone()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Tickets")[:31])
    for i, column in enumerate(state.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = XLSX_WIDTHS.get(column.key, 28)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in state.columns:
        cell = WriteOnlyCell(sheet, value=str(column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    labels = choice_labels(state.columns)
    for ticket in _rows(request, state):
        sheet.append([_xlsx_cell(sheet, v, tz) for v in column_values(state.columns, ticket, labels)])
    # Write-only workbooks keep rows in temporary files; the finished one goes to disk, not memory.
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes (and so deletes) it once sent
    workbook.save(spooled)
    spooled.seek(0)
    return FileResponse(  # type: ignore[return-value]  # ciclo_user's View type says HttpResponse
        spooled,
        as_attachment=True,
        filename=_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

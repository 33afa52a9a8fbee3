"""Receivables files: a CSV or XLSX sheet read into rows for ciclo.collections.receivables, each with its line.

The first row names the columns: the fields of ReceivableRow (company, document, instalment, person,
issue_date, due_date, amount, open_balance, kind, administrative_status), in any order and case,
or their Portuguese names (empresa, documento, parcela, pessoa, emissao, vencimento, valor, saldo,
modalidade, situacao). A CSV is UTF-8 (or Windows-1252, as spreadsheets save it), separated by
commas or semicolons. Dates are dd/mm/yyyy or yyyy-mm-dd (or a spreadsheet's date cells);
amounts are read as every number in Ciclo is ("1.234,56", "1234.56", a number cell). Empty
lines are skipped. A row is numbered by its line in the file (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from ciclo.collections.receivables import FIELDS, ReceivableRow, Refusal, read_row
from ciclo.tickets.values import parse_date

ALIASES = {
    "empresa": "company",
    "documento": "document",
    "parcela": "instalment",
    "pessoa": "person",
    "devedor": "person",
    "emissao": "issue_date",
    "data_emissao": "issue_date",
    "vencimento": "due_date",
    "data_vencimento": "due_date",
    "valor": "amount",
    "saldo": "open_balance",
    "saldo_aberto": "open_balance",
    "modalidade": "kind",
    "tipo": "kind",
    "situacao": "administrative_status",
    "situacao_administrativa": "administrative_status",
}
REQUIRED = tuple(f for f in FIELDS if f != "administrative_status")
FORMATS = ("csv", "xlsx")


class FileRefused(ValueError):
    """The file cannot be read as a receivables sheet at all (its format or its columns)."""


@dataclass
class Sheet:
    rows: list[ReceivableRow] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    lines: int = 0  # data lines read (empty ones not counted)


def _column(name: Any) -> str:
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode().strip().lower()
    text = "_".join(text.replace("-", " ").split())
    return ALIASES.get(text, text)


def guess_format(name: str) -> str | None:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix if suffix in FORMATS else None


def _csv_lines(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_lines(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileRefused(_("The file is not an XLSX workbook.")) from exc
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell(name: str, value: Any) -> Any:
    """A cell as ReceivableRow takes it; ValueError with the message for people when it cannot be."""
    if name == "person":
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 19:
            return int(text)
        raise ValueError(_("Give the person's id (a number)."))
    if name in ("issue_date", "due_date"):
        try:
            day = parse_date(value)
        except (ValueError, OverflowError):
            raise ValueError(_("Give a date as dd/mm/yyyy.")) from None
        return day
    if name in ("amount", "open_balance"):
        if isinstance(value, float):
            return Decimal(repr(value))
        return value if isinstance(value, (int, Decimal)) else str(value)
    if name == "administrative_status" and _blank(value):
        return None
    return "" if value is None else _text(value)


def read_sheet(data: bytes, fmt: str) -> Sheet:
    """The rows of a receivables file; FileRefused when it is not one (format, header)."""
    if fmt not in FORMATS:
        raise FileRefused(_("Send a CSV or an XLSX file."))
    if fmt == "xlsx" and not data.startswith(b"PK"):
        raise FileRefused(_("The file is not an XLSX workbook."))
    lines = _xlsx_lines(data) if fmt == "xlsx" else _csv_lines(data)
    header: list[str] | None = None
    sheet = Sheet()
    try:
        for number, values in enumerate(lines, start=1):
            if all(_blank(v) for v in values):
                continue
            if header is None:
                header = _header(values)
                continue
            sheet.lines += 1
            _read_line(sheet, header, values, number)
    except csv.Error as exc:
        raise FileRefused(_("The file is not a CSV sheet: %(problem)s") % {"problem": exc}) from None
    if header is None:
        raise FileRefused(_("The file is empty: its first line names the columns."))
    return sheet


def _header(values: list[Any]) -> list[str]:
    header = [_column(v) for v in values]
    while header and not header[-1]:
        header.pop()
    unknown = [str(v) for v, name in zip(values, header, strict=False) if name and name not in FIELDS]
    if unknown:
        raise FileRefused(
            _("Unknown columns: %(columns)s. The columns are: %(fields)s.")
            % {"columns": ", ".join(unknown), "fields": ", ".join(FIELDS)}
        )
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise FileRefused(_("Columns missing: %(columns)s.") % {"columns": ", ".join(missing)})
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        raise FileRefused(_("Columns given twice: %(columns)s.") % {"columns": ", ".join(repeated)})
    return header


def _read_line(sheet: Sheet, header: list[str], values: list[Any], number: int) -> None:
    data: dict[str, Any] = {}
    refused: list[Refusal] = []
    padded = [*values, *[None] * (len(header) - len(values))]
    for name, value in zip(header, padded, strict=False):
        if not name:
            continue
        if _blank(value) and name in REQUIRED and name != "instalment":
            refused.append(Refusal(number, name, _("This field is required.")))
            continue
        try:
            data[name] = _cell(name, value)
        except ValueError as exc:
            refused.append(Refusal(number, name, str(exc) or _("This value cannot be read.")))
    read = read_row(data, number)
    if isinstance(read, list):
        taken = {r.field for r in refused}
        refused.extend(r for r in read if r.field not in taken)
    elif not refused:
        sheet.rows.append(read)
        return
    sheet.refused.extend(refused)


def write_csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue()


def refusals_csv(refused: list[Refusal] | list[list[Any]]) -> str:
    """The refused rows as a CSV report: line, field, reason."""
    return write_csv([[_("row"), _("field"), _("reason")], *[list(r) for r in refused]])

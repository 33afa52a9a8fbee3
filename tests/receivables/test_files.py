"""Receivables files (CSV, XLSX) read into rows with their lines, and `ciclo receivables import`."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from ciclo.collections.files import FileRefused, read_sheet
from ciclo.collections.models import Receivable

HEADER = "company;document;instalment;person;issue_date;due_date;amount;open_balance;kind;administrative_status"


def csv_of(ledger, *lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").format(a=ledger.alice.pk, b=ledger.bruno.pk).encode()


def test_a_brazilian_csv_is_read_with_its_dates_and_amounts(ledger):
    data = csv_of(
        ledger,
        "MTZ;NF-1;1;{a};01/10/2026;01/11/2026;1.234,56;1.234,56;normal;",
        "",
        "MTZ ; NF-1 ;2;{b};2026-10-01;2026-12-01;R$ 99,90;0;Descontado;1.2",
    )
    sheet = read_sheet(data, "csv")
    assert sheet.refused == [] and sheet.lines == 2
    first, second = sheet.rows
    assert first.number == 2 and second.number == 4  # lines of the file; the empty one skipped
    assert first.issue_date == dt.date(2026, 10, 1) and first.amount == Decimal("1234.56")
    assert first.administrative_status is None
    assert (second.company, second.document, second.amount) == ("MTZ", "NF-1", Decimal("99.90"))


def test_a_windows_csv_with_commas_and_portuguese_headers(ledger):
    header = "Empresa,Documento,Parcela,Pessoa,Emissão,Vencimento,Valor,Saldo,Modalidade"
    text = f"{header}\nMTZ,Nº 7,1,{ledger.alice.pk},2026-10-01,2026-11-01,10.5,10.5,normal\n"
    sheet = read_sheet(text.encode("cp1252"), "csv")
    assert sheet.refused == []
    assert sheet.rows[0].document == "Nº 7"


def test_bad_cells_are_refused_by_line_and_field(ledger):
    data = csv_of(
        ledger,
        "MTZ;A;1;{a};31/02/2026;01/11/2026;10;10;normal;",
        "MTZ;B;1;fulano;01/10/2026;01/11/2026;-10;10,001;normal;",
        "MTZ;C;1;{a};01/10/2026;;10;10;normal;",
        "MTZ;D;1;{a};01/10/2026;01/11/2026;10;10;normal;",
    )
    sheet = read_sheet(data, "csv")
    assert [(r.row, r.field) for r in sheet.refused] == [
        (2, "issue_date"),
        (3, "person"),
        (3, "amount"),
        (3, "open_balance"),
        (4, "due_date"),
    ]
    assert [r.document for r in sheet.rows] == ["D"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("company;document;instalment;person;issue_date;due_date;amount;open_balance;kind;colour", "colour"),
        ("company;document;instalment;person;issue_date;due_date;amount;kind", "open_balance"),
        ("company;company;document;instalment;person;issue_date;due_date;amount;open_balance;kind", "twice"),
    ],
)
def test_a_file_without_the_right_columns_is_refused_whole(ledger, header, message):
    with pytest.raises(FileRefused, match=message):
        read_sheet(csv_of(ledger, "x", header=header), "csv")


def test_an_empty_or_foreign_file_is_refused(ledger):
    with pytest.raises(FileRefused):
        read_sheet(b"", "csv")
    with pytest.raises(FileRefused):
        read_sheet(b"not a workbook", "xlsx")
    with pytest.raises(FileRefused):
        read_sheet(b"a,b", "pdf")


def xlsx_of(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_sheet_with_date_and_number_cells(ledger):
    data = xlsx_of(
        [
            HEADER.split(";"),
            [
                "MTZ",
                12345,
                1,
                ledger.alice.pk,
                dt.datetime(2026, 10, 1),
                dt.date(2026, 11, 1),
                1234.5,
                1234.5,
                "normal",
            ],
            [None] * 10,
            ["MTZ", "X", 1, ledger.alice.pk, "01/10/2026", "01/11/2026", 10.125, 10, "normal", "1.2"],
        ]
    )
    sheet = read_sheet(data, "xlsx")
    (row,) = sheet.rows
    assert (row.document, row.instalment, row.amount) == ("12345", "1", Decimal("1234.50"))
    assert row.issue_date == dt.date(2026, 10, 1)
    assert [(r.row, r.field) for r in sheet.refused] == [(4, "amount")]


# ---- the command ----------------------------------------------------------------------------


@pytest.fixture
def sheet_file(ledger, tmp_path):
    path = tmp_path / "titulos.csv"
    path.write_bytes(
        csv_of(
            ledger,
            "MTZ;A;1;{a};01/10/2026;01/11/2026;10;10;normal;",
            "MTZ;B;1;{b};01/10/2026;01/11/2026;20;20;normal;",
        )
    )
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("receivables", "import", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_a_file(sheet_file, admin_user):
    out, _err = run(sheet_file)
    assert "2 created, 0 changed, 0 unchanged, 0 refused." in out
    assert Receivable.objects.count() == 2
    out, _err = run(sheet_file)
    assert "0 created, 0 changed, 2 unchanged, 0 refused." in out


def test_the_command_dry_run_changes_nothing(sheet_file, admin_user):
    out, _err = run(sheet_file, "--dry-run")
    assert "2 created" in out and "Dry run" in out
    assert not Receivable.objects.exists()


def test_the_command_lists_refused_rows_and_fails(ledger, tmp_path, admin_user):
    path = tmp_path / "t.csv"
    path.write_bytes(
        csv_of(
            ledger,
            "MTZ;A;1;{a};01/10/2026;01/11/2026;10;10;normal;",
            "NOPE;B;1;{b};01/10/2026;01/11/2026;20;20;normal;",
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 row was refused"):
        call_command("receivables", "import", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert "line 3, company:" in err.getvalue()
    assert list(Receivable.objects.values_list("document", flat=True)) == ["A"]


def test_the_command_all_or_nothing_applies_none(ledger, tmp_path, admin_user):
    path = tmp_path / "t.csv"
    path.write_bytes(
        csv_of(
            ledger, "MTZ;A;1;{a};01/10/2026;01/11/2026;10;10;normal;", "MTZ;B;1;{b};01/13/2026;01/11/2026;20;20;normal;"
        )
    )
    with pytest.raises(CommandError):
        call_command(
            "receivables",
            "import",
            str(path),
            "--all-or-nothing",
            "--no-progress",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert not Receivable.objects.exists()


def test_the_command_refuses_a_missing_file_or_user(ledger, tmp_path, sheet_file):
    with pytest.raises(CommandError, match="no file"):
        run(tmp_path / "none.csv")
    with pytest.raises(CommandError, match="--user"):
        run(sheet_file, "--user", "nobody")
    with pytest.raises(CommandError, match=r"csv or \.xlsx"):
        run(tmp_path / "t.txt")

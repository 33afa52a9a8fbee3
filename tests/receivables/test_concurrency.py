"""Loads and payments at the same moment, on PostgreSQL: no row twice, no change lost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from ciclo.collections.models import Payment, Receivable
from ciclo.collections.receivables import add_payment, read_rows, upsert_receivables
from ciclo.history.models import Change
from ciclo.tickets.errors import InvalidInput
from tests.receivables.conftest import Ledger
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL (make test runs the suite there too)")


def rows(ledger, count, **kw):
    read, refused = read_rows(enumerate((ledger.row(document=f"D{i}", **kw) for i in range(count)), start=1))
    assert refused == []
    return read


def test_two_loads_of_the_same_new_rows_at_once_make_each_receivable_once(supervisor):
    ledger = Ledger()
    reports = run_at_once(
        [lambda: upsert_receivables(rows(ledger, 1500), by=supervisor, source="api") for _ in range(2)]
    )
    assert all(not isinstance(r, Exception) for r in reports), reports
    assert Receivable.objects.count() == 1500
    assert sum(r.created for r in reports) == 1500
    assert all(r.refused == [] for r in reports)
    created = Change.objects.filter(
        content_type=ContentType.objects.get_for_model(Receivable), action=Change.Action.CREATED
    )
    assert created.count() == 1500


def test_two_payments_at_once_never_pay_more_than_the_balance(supervisor):
    ledger = Ledger()
    upsert_receivables(rows(ledger, 1), by=supervisor, source="api")
    receivable = Receivable.objects.get()

    def pay():
        return add_payment(
            Receivable.objects.get(pk=receivable.pk), paid_on=dt.date(2026, 11, 5), amount="1000", by=supervisor
        )

    results = run_at_once([pay, pay])
    assert sorted(type(r).__name__ for r in results) == ["InvalidInput", "Payment"]
    assert isinstance(next(r for r in results if not isinstance(r, Payment)), InvalidInput)
    receivable.refresh_from_db()
    assert receivable.open_balance == Decimal("500.00") and Payment.objects.count() == 1

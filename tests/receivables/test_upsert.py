"""upsert_receivables and add_payment, the one home of loading receivables and their payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role
from ciclo.collections.models import Payment, Receivable
from ciclo.collections.receivables import add_payment, read_rows, upsert_receivables
from ciclo.configurator.models import CrmOptions
from ciclo.history.models import Change
from ciclo.tickets.errors import InvalidInput
from tests.factory import make_user


def rows(*items):
    read, refused = read_rows(enumerate(items, start=1))
    assert refused == []
    return read


def history(model=Receivable):
    return Change.objects.filter(content_type=ContentType.objects.get_for_model(model))


def test_it_creates_receivables_with_a_history_row_each(ledger, supervisor):
    report = upsert_receivables(
        rows(ledger.row(), ledger.row(instalment="2", administrative_status="1.2")), by=supervisor, source="api"
    )
    assert (report.created, report.changed, report.unchanged, report.refused) == (2, 0, 0, [])
    assert report.applied
    first, second = Receivable.objects.order_by("instalment")
    assert first.company == ledger.company and first.person == ledger.alice and first.kind == ledger.normal
    assert first.amount == Decimal("1500.00") and first.due_date == dt.date(2026, 11, 1)
    assert second.administrative_status == ledger.agreement
    rows_ = history()
    assert rows_.count() == 2
    assert {c.action for c in rows_} == {Change.Action.CREATED}
    assert all(c.by == supervisor for c in rows_)


def test_sending_the_same_rows_again_changes_nothing_and_writes_no_history(ledger, supervisor):
    upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    before = Receivable.objects.get()
    report = upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    assert (report.created, report.changed, report.unchanged) == (0, 0, 1)
    after = Receivable.objects.get()
    assert after.version == before.version and after.updated_at == before.updated_at
    assert history().count() == 1


def test_a_changed_row_changes_the_receivable_with_its_version_and_history(ledger, supervisor):
    upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    report = upsert_receivables(
        rows(ledger.row(open_balance="0", administrative_status="1.1")), by=supervisor, source="api"
    )
    assert (report.created, report.changed, report.unchanged) == (0, 1, 0)
    receivable = Receivable.objects.get()
    assert receivable.open_balance == 0 and receivable.is_paid
    assert receivable.version == 2
    change = history().filter(action=Change.Action.CHANGED).get()
    assert change.changes["open_balance"] == ["1500.00", "0.00"]
    assert change.changes["version"] == [1, 2]
    # The ERP reopens it: open again.
    upsert_receivables(rows(ledger.row(open_balance="200")), by=supervisor, source="api")
    assert Receivable.objects.get().open_balance == Decimal("200.00")


def test_a_refused_row_names_its_field_and_the_others_are_applied(ledger, supervisor):
    report = upsert_receivables(
        rows(
            ledger.row(document="OK"),
            ledger.row(document="A", company="NOPE"),
            ledger.row(document="B", person=999999),
            ledger.row(document="C", kind="fiado"),
            ledger.row(document="D", administrative_status="9.9"),
            ledger.row(document="E", administrative_status="1"),
            ledger.row(document="F", issue_date="2026-12-01", due_date="2026-11-01"),
        ),
        by=supervisor,
        source="api",
    )
    assert report.created == 1 and report.refused_rows == 6
    assert [(r.row, r.field) for r in report.refused] == [
        (2, "company"),
        (3, "person"),
        (4, "kind"),
        (5, "administrative_status"),
        (6, "administrative_status"),
        (7, "due_date"),
    ]
    assert "NOPE" in report.refused[0].message
    assert "synthetic" in report.refused[4].message
    assert list(Receivable.objects.values_list("document", flat=True)) == ["OK"]


def test_a_row_with_several_problems_is_refused_whole(ledger, supervisor):
    report = upsert_receivables(
        rows(ledger.row(person=999999, kind="fiado", issue_date="2026-12-01")), by=supervisor, source="api"
    )
    assert {r.field for r in report.refused} == {"person", "kind", "due_date"}
    assert report.refused_rows == 1
    assert not Receivable.objects.exists()


def test_the_same_receivable_twice_in_one_load_is_refused_in_both_rows(ledger, supervisor):
    report = upsert_receivables(
        rows(ledger.row(), ledger.row(document="OTHER"), ledger.row(amount="10", open_balance="10")),
        by=supervisor,
        source="import",
    )
    assert [(r.row, r.field) for r in report.refused] == [(1, "document"), (3, "document")]
    assert "1, 3" in report.refused[0].message
    assert list(Receivable.objects.values_list("document", flat=True)) == ["OTHER"]


def test_all_or_nothing_writes_nothing_when_a_row_is_refused(ledger, supervisor):
    report = upsert_receivables(
        rows(ledger.row(), ledger.row(document="X", company="NOPE")),
        by=supervisor,
        source="api",
        all_or_nothing=True,
    )
    assert not report.applied and report.refused_rows == 1
    assert report.created == 1  # what the valid rows would have done
    assert not Receivable.objects.exists() and not history().exists()
    report = upsert_receivables(rows(ledger.row()), by=supervisor, source="api", all_or_nothing=True)
    assert report.applied and Receivable.objects.count() == 1


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(ledger, supervisor):
    upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    report = upsert_receivables(
        rows(ledger.row(open_balance="100"), ledger.row(instalment="2"), ledger.row(company="NOPE", document="Z")),
        by=supervisor,
        source="api",
        dry_run=True,
    )
    assert (report.created, report.changed, report.unchanged, report.refused_rows) == (1, 1, 0, 1)
    assert not report.applied and report.dry_run
    changed = next(s for s in report.samples if s.status == "changed")
    assert changed.changes == {"open_balance": ("1500.00", "100.00")}
    assert Receivable.objects.get().open_balance == Decimal("1500.00")
    assert history().count() == 1


def test_an_inactive_kind_is_refused_unless_the_receivable_already_has_it(ledger, supervisor):
    upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    ledger.normal.active = False
    ledger.normal.save()
    report = upsert_receivables(
        rows(ledger.row(open_balance="10"), ledger.row(document="NEW")), by=supervisor, source="api"
    )
    assert report.changed == 1
    assert [(r.row, r.field) for r in report.refused] == [(2, "kind")]
    assert "no longer in use" in report.refused[0].message


def test_a_user_restricted_to_some_companies_loads_only_theirs(ledger):
    CrmOptions.objects.filter(pk=CrmOptions.current().pk).update(access_control_user_company=True)
    supervisor = make_user("restricted", Role.SUPERVISOR)
    UserCompany.objects.create(user=supervisor, company=ledger.company)
    report = upsert_receivables(rows(ledger.row(), ledger.row(company=ledger.branch.code)), by=supervisor, source="api")
    assert report.created == 1
    assert [(r.row, r.field) for r in report.refused] == [(2, "company")]


def test_progress_is_told_up_to_the_total(ledger, supervisor):
    told = []
    items = [ledger.row(document=f"D{i}") for i in range(2500)] + [ledger.row(document="BAD", person=999999)]
    upsert_receivables(rows(*items), by=supervisor, source="import", progress=lambda d, t: told.append((d, t)))
    assert told[-1] == (2501, 2501)
    assert [d for d, _t in told] == sorted(d for d, _t in told)
    assert Receivable.objects.count() == 2500


# ---- payments -------------------------------------------------------------------------------


@pytest.fixture
def receivable(ledger, supervisor):
    upsert_receivables(rows(ledger.row()), by=supervisor, source="api")
    return Receivable.objects.get()


def test_a_partial_payment_lowers_the_open_balance_with_history(receivable, supervisor):
    payment = add_payment(
        receivable, paid_on=dt.date(2026, 11, 5), amount="500,50", by=supervisor, at=dt.date(2026, 12, 1)
    )
    assert payment.amount == Decimal("500.50") and payment.source == Payment.Source.API
    receivable.refresh_from_db()
    assert receivable.open_balance == Decimal("999.50") and receivable.version == 2
    assert history(Payment).filter(action=Change.Action.CREATED, by=supervisor).count() == 1
    change = history().filter(action=Change.Action.CHANGED).get()
    assert change.changes["open_balance"] == ["1500.00", "999.50"]


def test_a_total_payment_pays_the_receivable(receivable, supervisor):
    add_payment(receivable, paid_on=dt.date(2026, 11, 5), amount=1500, by=supervisor, at=dt.date(2026, 12, 1))
    receivable.refresh_from_db()
    assert receivable.is_paid


@pytest.mark.parametrize(
    ("paid_on", "amount", "field"),
    [
        (dt.date(2026, 11, 5), "1500.01", "amount"),
        (dt.date(2026, 11, 5), "0", "amount"),
        (dt.date(2026, 11, 5), "-5", "amount"),
        (dt.date(2026, 11, 5), "10.005", "amount"),
        (dt.date(2026, 11, 5), "dez", "amount"),
        (dt.date(2026, 12, 2), "10", "paid_on"),
    ],
)
def test_a_bad_payment_is_refused_on_its_field_and_changes_nothing(receivable, supervisor, paid_on, amount, field):
    with pytest.raises(InvalidInput) as refused:
        add_payment(receivable, paid_on=paid_on, amount=amount, by=supervisor, at=dt.date(2026, 12, 1))
    assert list(refused.value.errors) == [field]
    receivable.refresh_from_db()
    assert receivable.open_balance == Decimal("1500.00") and receivable.version == 1
    assert not Payment.objects.exists()

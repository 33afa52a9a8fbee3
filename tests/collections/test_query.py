"""The ticket query's collection filters (days overdue, open amount, delegated user) and columns, and their export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from ciclo.collections.models import Receivable
from ciclo.collections.update import update_collections
from ciclo.tickets.models import Ticket
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

NOW = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)


@pytest.fixture
def three(collections: CollectionSetup) -> dict[str, Ticket]:
    """Old (due 2026-09-30, R$ 900 open), mid (due 2026-10-20, R$ 300), recent (due 2026-11-02, R$ 50)."""
    names = {}
    for name, due, amount in (
        ("old", dt.date(2026, 9, 30), "900.00"),
        ("mid", dt.date(2026, 10, 20), "300.00"),
        ("recent", dt.date(2026, 11, 2), "50.00"),
    ):
        person = make_person(name=f"Devedor {name}")
        collections.receivable(person, due_date=due, amount=Decimal(amount))
        names[name] = person
    with time_machine.travel(NOW, tick=False):
        update_collections(at=NOW)
    return {name: Ticket.objects.get(person=p) for name, p in names.items()}


def found(client: Any, **params: Any) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("tickets"), params)


def ids(response: Any) -> set[int]:
    return {row.ticket.pk for row in response.context["results"].rows}


def test_collections_are_filtered_by_days_overdue(client: Any, agent: Any, three: dict[str, Ticket]) -> None:
    client.force_login(agent)

    assert ids(found(client, overdue_min="20")) == {three["old"].pk, three["mid"].pk}
    assert ids(found(client, overdue_min="10", overdue_max="30")) == {three["mid"].pk}
    assert ids(found(client, overdue_max="7")) == {three["recent"].pk}


def test_collections_are_filtered_by_open_amount_and_a_payment_changes_it(
    client: Any, agent: Any, three: dict[str, Ticket]
) -> None:
    client.force_login(agent)
    assert ids(found(client, open_min="100", open_max="500,00")) == {three["mid"].pk}

    Receivable.objects.filter(person=three["old"].person).update(open_balance=Decimal("200.00"))

    assert ids(found(client, open_min="100", open_max="500")) == {three["mid"].pk, three["old"].pk}


def test_collections_are_filtered_by_the_delegated_user(
    client: Any, agent: Any, three: dict[str, Ticket], collections: CollectionSetup
) -> None:
    client.force_login(agent)

    assert ids(found(client, next_contact_user=str(collections.collector.pk))) == {t.pk for t in three.values()}
    assert ids(found(client, next_contact_user=str(agent.pk))) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"overdue_min": "abc"}, "overdue_min"),
        ({"overdue_min": "-3"}, "overdue_min"),
        ({"open_min": "1e5"}, "open_min"),
        ({"open_min": "-10"}, "open_min"),
        ({"overdue_min": "30", "overdue_max": "10"}, "overdue_max"),
        ({"open_min": "500", "open_max": "100"}, "open_max"),
    ],
)
def test_a_bad_collection_filter_is_named_and_nothing_is_searched(
    client: Any, agent: Any, three: dict[str, Ticket], params: dict[str, str], field: str
) -> None:
    client.force_login(agent)

    response = found(client, **params)

    assert response.context["results"] is None
    assert field in response.context["field_errs"]


def test_the_days_overdue_and_open_amount_columns_show_and_export(
    client: Any, agent: Any, three: dict[str, Ticket]
) -> None:
    client.force_login(agent)
    response = found(client, cols="number,days_overdue,open_amount", sort="id")
    values = [{c.key: c.value for c in row.cells} for row in response.context["results"].rows]
    assert {(v["number"], v["days_overdue"], v["open_amount"]) for v in values} == {
        (three["old"].pk, 40, Decimal("900.00")),
        (three["mid"].pk, 20, Decimal("300.00")),
        (three["recent"].pk, 7, Decimal("50.00")),
    }

    with time_machine.travel(NOW, tick=False):
        exported = client.get(reverse("tickets_export_csv"), {"cols": "number,days_overdue,open_amount", "sort": "id"})
        text = b"".join(exported.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [str(three["old"].pk), "40", "900.00"] in rows

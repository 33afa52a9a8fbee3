"""The collection ticket's receivables card and the promise to pay, per role, through real HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from ciclo.collections.models import Payment, Receivable
from ciclo.collections.update import update_collections
from ciclo.tickets.models import Note, Ticket
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

NOW = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)  # 10:00 in São Paulo


@pytest.fixture
def collection(collections: CollectionSetup) -> Ticket:
    debtor = make_person(name="Bruno Devedor")
    collections.receivable(
        debtor,
        document="NF-1",
        due_date=dt.date(2026, 10, 30),
        amount=Decimal("300.00"),
        open_balance=Decimal("200.00"),
    )
    paid = collections.receivable(debtor, document="NF-2", due_date=dt.date(2026, 11, 1), amount=Decimal("50.00"))
    with time_machine.travel(NOW, tick=False):
        update_collections(at=NOW)
    Payment.objects.create(
        receivable=Receivable.objects.get(document="NF-1"), paid_on=dt.date(2026, 11, 5), amount=Decimal("100.00")
    )
    Receivable.objects.filter(pk=paid.pk).update(open_balance=0)
    return Ticket.objects.get(person=debtor)


def page(client: Any, ticket: Ticket) -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("ticket", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def promise(client: Any, ticket: Ticket, day: str, **extra: Any) -> Any:
    with time_machine.travel(NOW, tick=False):
        return client.post(
            reverse("collection_promise", args=[ticket.pk]), {"promise_date": day, **extra}, **extra.pop("headers", {})
        )


def test_the_collection_ticket_shows_its_receivables_with_days_overdue_payments_and_totals(
    client: Any, agent: Any, collection: Ticket
) -> None:
    client.force_login(agent)

    html = page(client, collection)

    assert 'data-testid="collection-card"' in html
    assert html.count('data-testid="collection-row"') == 2
    assert "NF-1/1" in html and "NF-2/1" in html
    assert ">10<" in html  # due 30 October, 9 November: 10 days
    assert "R$ 300.00" in html and "R$ 350.00" in html and "R$ 200.00" in html  # amount, total, open
    assert "paid R$ 100.00" in html and "05/11/2026" in html  # the payment


def test_a_ticket_of_another_type_has_no_receivables_card(client: Any, agent: Any, sales: Any) -> None:
    from tests.factory import make_ticket

    ticket = make_ticket(sales, agent)
    client.force_login(agent)

    assert "collection-card" not in page(client, ticket)


def test_a_promise_to_pay_records_a_note_and_becomes_the_next_contact(
    client: Any, agent: Any, collection: Ticket
) -> None:
    client.force_login(agent)

    response = promise(client, collection, "2026-11-16", text="Vai pagar via PIX")

    assert response.status_code == 302
    collection.refresh_from_db()
    assert timezone.localtime(collection.next_contact_at) == timezone.make_aware(dt.datetime(2026, 11, 16, 9, 0))
    note = collection.notes.filter(kind=Note.Kind.CONTACT).get()
    assert note.author == agent and "Promise to pay on 16/11/2026" in note.text and "PIX" in note.text
    assert note.next_contact_at == collection.next_contact_at


def test_a_promise_through_htmx_refreshes_the_page(client: Any, agent: Any, collection: Ticket) -> None:
    client.force_login(agent)

    response = promise(client, collection, "2026-11-16", headers={"HTTP_HX_REQUEST": "true"})

    assert response.status_code == 200 and response.headers["HX-Refresh"] == "true"


@pytest.mark.parametrize(
    ("day", "message"),
    [("", "Give the date"), ("16/11/2026", "Give the date"), ("2026-11-08", "cannot be in the past")],
)
def test_a_bad_promise_date_is_refused_beside_its_field_and_changes_nothing(
    client: Any, agent: Any, collection: Ticket, day: str, message: str
) -> None:
    client.force_login(agent)
    notes = collection.notes.count()

    response = promise(client, collection, day)

    assert response.status_code == 422
    assert message in response.content.decode() and 'data-testid="promise-error"' in response.content.decode()
    assert collection.notes.count() == notes


def test_a_stale_promise_is_refused(client: Any, agent: Any, collection: Ticket) -> None:
    client.force_login(agent)

    response = promise(client, collection, "2026-11-16", version=str(collection.version + 5))

    assert response.status_code == 409


def test_an_agent_outside_the_phase_cannot_record_a_promise(
    client: Any, agent: Any, outsider: Any, collection: Ticket, collections: CollectionSetup
) -> None:
    collections.cr_contact.members.add(agent)
    client.force_login(outsider)

    response = promise(client, collection, "2026-11-16")

    assert response.status_code == 403
    assert not collection.notes.filter(kind=Note.Kind.CONTACT).exists()


def test_the_promise_takes_only_post_and_a_logged_in_user(client: Any, agent: Any, collection: Ticket) -> None:
    url = reverse("collection_promise", args=[collection.pk])
    assert client.post(url, {"promise_date": "2026-11-16"}).status_code == 302  # to the login page
    client.force_login(agent)
    assert client.get(url).status_code == 405

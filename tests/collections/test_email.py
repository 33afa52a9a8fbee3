"""The debtor's e-mail when a collection opens: through a task, to a real SMTP server, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import time_machine

from ciclo.collections.models import CollectionPreference
from ciclo.collections.update import update_collections
from ciclo.mail.models import Message
from ciclo.people.models import Email
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person
from tests.test_mail import Inbox

MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)


def debtor_with_email(address: str, **kw: Any) -> Any:
    person = make_person(**kw)
    Email.objects.create(person=person, address=address)
    return person


def test_the_debtor_gets_an_email_listing_the_receivables_in_brl_once(
    collections: CollectionSetup, inbox: Inbox, run_worker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    collections.options(email_debtor_on_collection=True)
    debtor = debtor_with_email("ana@example.com", name="Ana <Devedora>")
    collections.receivable(debtor, document="NF-77", amount=Decimal("1500.00"), open_balance=Decimal("1234.50"))
    collections.receivable(debtor, document="NF-78", amount=Decimal("10.00"))

    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = update_collections(at=MONDAY)
        update_collections(at=MONDAY)
    run_worker()

    assert result.counts["emailed"] == 1
    [received] = inbox.received
    assert received.rcpt_tos == ["ana@example.com"]
    text, html = received.part("plain"), received.part("html")
    assert "NF-77/1" in text and "R$ 1,234.50" in text and "R$ 1,500.00" in text
    assert "R$ 1,244.50" in text  # the total
    assert "Ana &lt;Devedora&gt;" in html and "NF-78" in html
    assert "Matriz" in received.message["Subject"]
    assert Message.objects.get().status == Message.Status.SENT


def test_no_email_when_the_option_is_off_the_person_has_no_address_or_asked_for_none(
    collections: CollectionSetup, django_capture_on_commit_callbacks: Any
) -> None:
    collections.receivable(debtor_with_email("off@example.com"))
    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert update_collections(at=MONDAY).counts["emailed"] == 0

    collections.options(email_debtor_on_collection=True)
    collections.receivable(make_person())
    refusing = debtor_with_email("no@example.com")
    CollectionPreference.objects.create(person=refusing, no_collection_emails=True)
    collections.receivable(refusing)
    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = update_collections(at=MONDAY)

    assert result.counts["opened"] == 2 and result.counts["emailed"] == 0
    assert not Message.objects.exists()

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factory import make_ticket


def test_home_lists_my_due_and_overdue_contacts_with_counts_per_phase(client, sales, agent, supervisor):
    now = timezone.now()
    due = make_ticket(sales, agent, subject="Vence hoje", next_contact_at=now)
    late = make_ticket(sales, agent, subject="Atrasado", next_contact_at=now - dt.timedelta(days=3))
    make_ticket(sales, agent, subject="Futuro", next_contact_at=now + dt.timedelta(days=3))
    make_ticket(sales, supervisor, subject="Do supervisor", next_contact_at=now)
    client.force_login(agent)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert "Vence hoje" in html and "Atrasado" in html
    assert "Futuro" not in html and "Do supervisor" not in html
    assert response.context["total"] == 2
    assert [(p["cr__code"], p["n"]) for p in response.context["per_phase"]] == [("1", 2)]
    assert html.index("Atrasado") < html.index("Vence hoje")
    assert due.pk and late.pk


def test_home_filters_by_phase(client, sales, agent):
    make_ticket(sales, agent, next_contact_at=timezone.now())
    client.force_login(agent)
    response = client.get(reverse("home"), {"phase": sales.cr_proposal.pk})
    assert response.context["tickets"] == []


def test_home_queries_do_not_grow_with_rows(client, sales, agent):
    client.force_login(agent)
    make_ticket(sales, agent, next_contact_at=timezone.now())
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    for _ in range(15):
        make_ticket(sales, agent, next_contact_at=timezone.now())
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("home"))
    assert len(few) == len(many)


def test_home_needs_login(client, db):
    assert client.get(reverse("home")).status_code == 302

"""Home: the contacts due, overdue apart from today's, paged; a supervisor's team view; the admin's links."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.accounts.roles import Role
from tests.factory import make_ticket, make_user

SP = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 5, 14, 15, 0, tzinfo=SP)


@pytest.fixture(autouse=True)
def _afternoon():
    with time_machine.travel(NOW, tick=False):
        yield


def section_ids(response: Any, key: str) -> list[int]:
    listing = next(x for x in response.context["lists"] if x.key == key)
    return [t.pk for t in listing.tickets]


def test_overdue_and_today_are_two_lists_each_in_due_order(client, sales, agent, supervisor):
    today_late = make_ticket(sales, agent, subject="Hoje à tarde", next_contact_at=NOW + dt.timedelta(hours=2))
    today_early = make_ticket(sales, agent, subject="Hoje cedo", next_contact_at=NOW.replace(hour=8))
    late = make_ticket(sales, agent, subject="Atrasado", next_contact_at=NOW - dt.timedelta(days=3))
    yesterday = make_ticket(
        sales, agent, subject="Ontem à noite", next_contact_at=NOW.replace(hour=23) - dt.timedelta(days=1)
    )
    make_ticket(sales, agent, subject="Futuro", next_contact_at=NOW + dt.timedelta(days=1))
    make_ticket(sales, supervisor, subject="Do supervisor", next_contact_at=NOW)
    client.force_login(agent)
    response = client.get(reverse("home"))
    assert section_ids(response, "overdue") == [late.pk, yesterday.pk]
    assert section_ids(response, "today") == [today_early.pk, today_late.pk]
    html = response.content.decode()
    assert "Futuro" not in html and "Do supervisor" not in html
    assert response.context["total"] == 4
    assert html.index('data-testid="overdue"') < html.index('data-testid="today"')
    assert re.search(r'data-testid="overdue-count">2<', html) and re.search(r'data-testid="today-count">2<', html)


def test_each_list_pages_on_its_own(client, sales, agent):
    overdue = [make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=2, minutes=i)) for i in range(25)]
    today = make_ticket(sales, agent, next_contact_at=NOW)
    client.force_login(agent)
    first = client.get(reverse("home"))
    assert len(section_ids(first, "overdue")) == 20
    assert section_ids(first, "today") == [today.pk]
    overdue_list = next(x for x in first.context["lists"] if x.key == "overdue")
    assert overdue_list.previous_url == "" and overdue_list.next_url == "?overdue_page=2"
    second = client.get(reverse("home") + overdue_list.next_url)
    oldest_first = [t.pk for t in reversed(overdue)]
    assert section_ids(second, "overdue") == oldest_first[20:]
    assert section_ids(second, "today") == [today.pk]  # the other list stays on its page
    assert "page 2 of 2" in second.content.decode()


@pytest.mark.parametrize("page", ["abc", "0", "-1", "9" * 5000, "99"])
def test_a_bad_or_past_the_end_page_number_is_not_an_error(client, sales, agent, page):
    make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1))
    client.force_login(agent)
    response = client.get(reverse("home"), {"overdue_page": page})
    assert response.status_code == 200
    assert len(section_ids(response, "overdue")) == 1


def test_a_phone_gets_a_card_per_contact_a_wider_screen_the_table(client, sales, agent):
    t = make_ticket(sales, agent, subject="No celular", next_contact_at=NOW)
    client.force_login(agent)
    html = client.get(reverse("home")).content.decode()
    cards = html.split('data-testid="today-cards"', 1)[1].split("</ul>", 1)[0]
    assert 'class="list-unstyled d-md-none' in html.split('data-testid="today-cards"', 1)[0][-80:]
    assert f'data-ticket="{t.pk}"' in cards and "No celular" in cards
    assert '<div class="card d-none d-md-block">' in html


def test_a_supervisor_sees_the_team_or_one_user(client, sales, agent, supervisor):
    colleague = make_user("colega_t", Role.AGENT, first_name="Colega")
    mine = make_ticket(sales, supervisor, next_contact_at=NOW)
    agents = make_ticket(sales, agent, next_contact_at=NOW)
    colleagues = make_ticket(sales, colleague, next_contact_at=NOW - dt.timedelta(days=1))
    client.force_login(supervisor)
    assert section_ids(client.get(reverse("home")), "today") == [mine.pk]
    team = client.get(reverse("home"), {"user": "team"})
    assert team.context["whose"] == "team"
    assert section_ids(team, "today") == [mine.pk, agents.pk] and section_ids(team, "overdue") == [colleagues.pk]
    assert "Colega" in team.content.decode()  # whose contact it is shows in the team view
    one = client.get(reverse("home"), {"user": colleague.pk})
    assert section_ids(one, "overdue") == [colleagues.pk] and section_ids(one, "today") == []
    assert (colleague.pk, "Colega") in one.context["team"]
    # A phase's link keeps whose contacts are shown.
    (phase,) = one.context["per_phase"]
    assert phase["url"] == f"?phase={phase['cr_id']}&user={colleague.pk}"


def test_an_agent_sees_only_their_own_whatever_they_ask(client, sales, agent, supervisor):
    mine = make_ticket(sales, agent, next_contact_at=NOW)
    make_ticket(sales, supervisor, next_contact_at=NOW)
    client.force_login(agent)
    for asked in ("team", str(supervisor.pk)):
        response = client.get(reverse("home"), {"user": asked})
        assert response.context["whose"] == "me"
        assert section_ids(response, "today") == [mine.pk]
    assert 'data-testid="whose-form"' not in response.content.decode()


def test_an_unknown_user_shows_the_supervisors_own(client, sales, supervisor):
    client.force_login(supervisor)
    for asked in ("12345678", "9" * 5000, "x"):
        response = client.get(reverse("home"), {"user": asked})
        assert response.status_code == 200 and response.context["whose"] == "me"


def test_the_admins_home_links_to_the_configuration(client, admin_user, agent):
    client.force_login(admin_user)
    html = client.get(reverse("home")).content.decode()
    links = html.split('data-testid="admin-links"', 1)[1].split("</nav>", 1)[0]
    for name in ("admin:index", "admin:configurator_servicetype_changelist", "admin:auth_user_changelist"):
        assert f'href="{reverse(name)}"' in links
    assert client.get(reverse("admin:index")).status_code == 200
    client.force_login(agent)
    assert 'data-testid="admin-links"' not in client.get(reverse("home")).content.decode()


def test_home_filters_by_phase(client, sales, agent):
    make_ticket(sales, agent, next_contact_at=NOW)
    client.force_login(agent)
    response = client.get(reverse("home"), {"phase": sales.cr_proposal.pk})
    assert section_ids(response, "today") == [] and section_ids(response, "overdue") == []


@pytest.mark.parametrize("asked", ["", "team"], ids=["mine", "team"])
def test_home_queries_do_not_grow_with_rows(client, sales, supervisor, asked):
    client.force_login(supervisor)
    url = reverse("home") + (f"?user={asked}" if asked else "")
    make_ticket(sales, supervisor, next_contact_at=NOW)
    make_ticket(sales, supervisor, next_contact_at=NOW - dt.timedelta(days=1))
    client.get(url)  # the session's first request may write it
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(15):
        make_ticket(sales, supervisor, next_contact_at=NOW - dt.timedelta(days=i % 2))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)


def test_home_needs_login(client, db):
    assert client.get(reverse("home")).status_code == 302

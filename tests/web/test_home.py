"""Home: the contacts due, overdue apart from today's, paged by keyset, counts capped; a supervisor's team view;
the admin's links."""

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
from ciclo.tickets.models import Ticket
from ciclo.tickets.views import home
from tests.factory import make_ticket, make_user

SP = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 5, 14, 15, 0, tzinfo=SP)


@pytest.fixture(autouse=True)
def _afternoon():
    with time_machine.travel(NOW, tick=False):
        yield


def listing(response: Any, key: str) -> Any:
    return next(x for x in response.context["lists"] if x.key == key)


def section_ids(response: Any, key: str) -> list[int]:
    return [t.pk for t in listing(response, key).tickets]


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
    assert response.context["total"].shown == 4 and not response.context["total"].more
    assert html.index('data-testid="overdue"') < html.index('data-testid="today"')
    assert re.search(r'data-testid="overdue-count">2<', html) and re.search(r'data-testid="today-count">2<', html)


def test_each_list_pages_on_its_own(client, sales, agent):
    overdue = [make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=2, minutes=i)) for i in range(25)]
    today = make_ticket(sales, agent, next_contact_at=NOW)
    client.force_login(agent)
    first = client.get(reverse("home"))
    assert len(section_ids(first, "overdue")) == 20
    assert section_ids(first, "today") == [today.pk]
    overdue_list = listing(first, "overdue")
    assert overdue_list.previous_url == "" and overdue_list.next_url.startswith("?overdue_after=")
    second = client.get(reverse("home") + overdue_list.next_url)
    oldest_first = [t.pk for t in reversed(overdue)]
    assert section_ids(second, "overdue") == oldest_first[20:]
    assert section_ids(second, "today") == [today.pk]  # the other list stays on its page
    html = second.content.decode()
    assert 'data-testid="overdue-first"' in html and 'data-testid="overdue-next"' not in html
    assert re.search(r'data-testid="overdue-count">25<', html)  # the count is the list's, not the page's
    back = client.get(reverse("home") + listing(second, "overdue").previous_url)
    assert section_ids(back, "overdue") == oldest_first[:20]
    assert listing(back, "overdue").previous_url == "" and listing(back, "overdue").next_url


def test_a_page_keeps_the_other_lists_page_and_the_phase(client, sales, agent):
    for i in range(22):
        make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1, minutes=i))
        make_ticket(sales, agent, next_contact_at=NOW.replace(hour=9, minute=i))
    client.force_login(agent)
    first = client.get(reverse("home"), {"phase": sales.cr_prospect.pk})
    today_next = listing(first, "today").next_url
    assert f"phase={sales.cr_prospect.pk}" in today_next
    both = client.get(reverse("home") + today_next)
    overdue_next = listing(both, "overdue").next_url
    assert "today_after=" in overdue_next and "overdue_after=" in overdue_next
    last = client.get(reverse("home") + overdue_next)
    assert len(section_ids(last, "overdue")) == 2 and len(section_ids(last, "today")) == 2


def test_pages_by_keyset_see_every_contact_once_in_order(client, sales, agent):
    """Contacts due at the same minute are told apart by their number: none is skipped or repeated."""
    same_minute = NOW.replace(hour=10, minute=0)
    made = [make_ticket(sales, agent, next_contact_at=same_minute).pk for _ in range(45)]
    client.force_login(agent)
    seen: list[int] = []
    url = ""
    while True:
        response = client.get(reverse("home") + url)
        seen += section_ids(response, "today")
        url = listing(response, "today").next_url
        if not url:
            break
    assert seen == sorted(made)


@pytest.mark.parametrize(
    "cursor",
    ["abc", "0", "-1", "9" * 5000, "W10", "WyIyMDI2LTA1LTEwVDEwOjAwOjAwKzAwOjAwIiwxLCJob21lLXRvZGF5Il0", "\x00"],
    ids=["text", "zero", "negative", "huge", "empty-list", "other-list", "nul"],
)
@pytest.mark.parametrize("name", ["overdue_after", "overdue_before"])
def test_a_bad_cursor_shows_the_first_page(client, sales, agent, cursor, name):
    late = make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1))
    client.force_login(agent)
    response = client.get(reverse("home"), {name: cursor})
    assert response.status_code == 200
    assert section_ids(response, "overdue") == [late.pk]
    assert listing(response, "overdue").previous_url == ""


def test_a_cursor_past_the_end_shows_the_first_page(client, sales, agent):
    tickets = [make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1, minutes=i)) for i in range(21)]
    client.force_login(agent)
    next_url = listing(client.get(reverse("home")), "overdue").next_url
    Ticket.objects.filter(pk=tickets[0].pk).update(status=Ticket.Status.CLOSED)  # the only row of page 2
    response = client.get(reverse("home") + next_url)
    assert len(section_ids(response, "overdue")) == 20 and listing(response, "overdue").next_url == ""


def test_counts_past_the_cap_show_the_cap_and_a_plus(client, sales, agent, monkeypatch):
    monkeypatch.setattr(home, "COUNT_CAP", 5)
    for i in range(6):
        make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1, minutes=i))
    for i in range(5):
        make_ticket(sales, agent, next_contact_at=NOW.replace(hour=9, minute=i))
    proposal = make_ticket(sales, agent, next_contact_at=NOW)
    Ticket.objects.filter(pk=proposal.pk).update(cr=sales.cr_proposal)
    client.force_login(agent)
    response = client.get(reverse("home"))
    html = response.content.decode()
    # Overdue: 6, past the cap of 5; today: 5 of prospecting and 1 of proposal, also past it.
    assert re.search(r'data-testid="overdue-count" title="More than 5">5\+<', html)
    assert re.search(r'data-testid="today-count" title="More than 5">5\+<', html)
    assert "More than 5 contacts" in html
    counts = {p["code"]: (p["count"].shown, p["count"].more) for p in response.context["per_phase"]}
    assert counts == {sales.cr_prospect.code: (5, True), sales.cr_proposal.code: (1, False)}
    # The total is at least the phases' figures: 5 + 1, and more.
    total = response.context["total"]
    assert (total.shown, total.more) == (6, True)
    assert re.search(r'data-testid="total-count" title="More than 6">6\+<', html)
    # The lists still show every contact, whatever the count shows.
    assert len(section_ids(response, "overdue")) == 6 and len(section_ids(response, "today")) == 6


def test_a_count_under_the_cap_is_exact(client, sales, agent):
    for i in range(3):
        make_ticket(sales, agent, next_contact_at=NOW - dt.timedelta(days=1, minutes=i))
    client.force_login(agent)
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert re.search(r'data-testid="overdue-count">3<', html) and "3 contacts" in html
    assert "More than" not in html


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
    assert phase["url"] == f"?phase={phase['id']}&user={colleague.pk}"


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
    for i in range(45):
        make_ticket(sales, supervisor, next_contact_at=NOW - dt.timedelta(days=i % 2, minutes=i))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(section_ids(response, "overdue")) == 20 and len(section_ids(response, "today")) == 20
    assert len(few) == len(many)
    with CaptureQueriesContext(connection) as deeper:
        client.get(reverse("home") + listing(response, "overdue").next_url)
    assert len(deeper) == len(few)


def test_home_needs_login(client, db):
    assert client.get(reverse("home")).status_code == 302

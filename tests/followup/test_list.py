"""The follow-up list (ciclo.sales.followup): whose contacts, the four groups, the columns, filters, sort,
pages, the weighted pipeline, days in phase in business days and the stale flag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ciclo.accounts.roles import Role
from ciclo.configurator.models import ServiceType
from ciclo.sales import followup
from ciclo.sales.followup import FollowupFilter, Whose, followup_list, parse_filter
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket, make_user
from tests.followup.conftest import NOW, at, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def keys(listing, group):
    return [r.pk for r in listing.group(group).rows]


def test_the_contacts_are_split_into_overdue_today_upcoming_and_without_a_next_contact(world, agent):
    overdue = make_contact(world, agent, next_contact_at=at(24, 15))
    today = make_contact(world, agent, next_contact_at=at(25, 17))
    upcoming = make_contact(world, agent, next_contact_at=at(26, 8))
    nobody = make_contact(world, agent, no_next_contact=True)
    listing = followup_list(agent)
    assert keys(listing, "overdue") == [overdue.pk]
    assert keys(listing, "today") == [today.pk]
    assert keys(listing, "upcoming") == [upcoming.pk]
    assert keys(listing, "no_next_contact") == [nobody.pk]
    assert [g.count for g in listing.groups] == [1, 1, 1, 1]
    assert listing.count == 4
    assert listing.group("no_next_contact").rows[0].next_contact_at is None


def test_only_the_user_s_open_sales_contacts_are_listed(world, agent, outsider):
    mine = make_contact(world, agent)
    make_contact(world, outsider)  # someone else's
    service = ServiceType.objects.create(
        code="2.1", description="Suporte", kind=ServiceType.Kind.ANALYTICAL, workflow=world.workflow
    )
    make_ticket(world, agent, service_type=service, next_contact_user=agent, next_contact_at=NOW)  # not sales
    closed = make_contact(world, agent)
    Ticket.objects.filter(pk=closed.pk).update(status=Ticket.Status.CLOSED)
    assert keys(followup_list(agent), "today") == [mine.pk]


def test_a_type_under_a_sales_group_is_a_sales_type(world, agent):
    assert world.type.sales is False and world.group.sales is True
    ticket = make_contact(world, agent)
    assert keys(followup_list(agent), "today") == [ticket.pk]


def test_a_supervisor_sees_the_team_or_one_user_an_agent_only_their_own(world, agent, outsider, supervisor):
    mine = make_contact(world, agent)
    theirs = make_contact(world, outsider)
    team = followup_list(supervisor, users=followup.whose(supervisor, followup.TEAM))
    assert sorted(keys(team, "today")) == sorted([mine.pk, theirs.pk])
    one = followup_list(supervisor, users=followup.whose(supervisor, str(outsider.pk)))
    assert keys(one, "today") == [theirs.pk]
    # An agent asking for the team, or for another user, gets their own list.
    assert followup.whose(agent, followup.TEAM) == Whose("me", agent.pk)
    assert followup.whose(agent, str(outsider.pk)) == Whose("me", agent.pk)
    assert keys(followup_list(agent, users=followup.whose(agent, followup.TEAM)), "today") == [mine.pk]


def test_a_row_carries_every_column(world, agent):
    from ciclo.people.models import Person
    from ciclo.sales.models import SalesContact

    referral = Person.objects.create(name="Ana Indicadora", document="")
    ticket = make_contact(world, agent, success=40, value="10000.00", channel="whatsapp", entered=at(19, 9))
    SalesContact.objects.filter(ticket=ticket).update(referral=referral)
    save_answers(ticket, [AnswerInput(world.q_text.pk, "Carlos")], by=agent)
    row = followup_list(agent).group("today").rows[0]
    assert row.person == ticket.person.name
    assert row.channel == "whatsapp" and row.channel_label == "WhatsApp"
    assert row.service_type == "Venda nova"
    assert row.referral == "Ana Indicadora"
    assert row.success == 40
    assert row.expected_value == Decimal("10000.00")
    assert row.weighted_value == Decimal("4000.00")
    assert row.phase == "Prospecção"
    # Prospecção asks 8 questions, one of them (1.07 Origem) required.
    assert row.progress == followup.Progress(answered=1, total=8, required_missing=1)
    # Thursday 19 → Wednesday 25: 23, 24, 25 (Friday 20 a holiday, then the weekend).
    assert row.days_in_phase == 3
    assert row.stale is False  # 3 days in a phase that goes stale after 3


def test_days_in_phase_skip_the_holiday_and_the_company_s_days_off_and_flag_stale(world, agent):
    from ciclo.sales.models import DayOff

    ticket = make_contact(world, agent, entered=at(18, 9))  # Wednesday 18: 19, 23, 24, 25 → 4
    row = followup_list(agent).group("today").rows[0]
    assert (row.days_in_phase, row.stale) == (4, True)
    DayOff.objects.create(date=dt.date(2026, 11, 24), company=world.company, description="Inventário")
    row = followup_list(agent).group("today").rows[0]
    assert (row.days_in_phase, row.stale) == (3, False)
    assert row.pk == ticket.pk


def test_stale_only_is_exact_in_the_query(world, agent):
    stale = make_contact(world, agent, entered=at(18, 9))  # 4 business days, stale after 3
    make_contact(world, agent, entered=at(19, 23))  # 3 business days: not stale
    make_contact(world, agent, entered=at(25, 8))
    listing = followup_list(agent, filters=FollowupFilter(stale=True))
    assert keys(listing, "today") == [stale.pk]
    assert listing.count == 1


def test_the_filters_type_phase_channel_success_and_text(world, agent):
    low = make_contact(world, agent, success=10, channel="email", subject="Proposta de ERP")
    high = make_contact(world, agent, success=80, channel="phone", subject="Renovação")
    save_answers(high, [AnswerInput(world.q_single.pk, [{"option": world.o_site.pk}])], by=agent)
    record_note(high, by=agent, text="Cliente pediu desconto", move_on=True)
    assert Ticket.objects.get(pk=high.pk).cr == world.cr_proposal

    def shown(**kw):
        return keys(followup_list(agent, filters=FollowupFilter(**kw)), "today")

    assert shown(crs=[world.cr_proposal.pk]) == [high.pk]
    assert shown(channel="email") == [low.pk]
    assert shown(success_min=50) == [high.pk]
    assert shown(success_max=50) == [low.pk]
    assert shown(text="desconto") == [high.pk]
    assert shown(service_types=[world.type.pk], sort="success") == [high.pk, low.pk]


def test_sorts_and_keyset_pages_within_a_group(world, agent):
    tickets = [make_contact(world, agent, value=str(100 * i), next_contact_at=at(25, 11 + i % 8)) for i in range(7)]
    by_value = sorted(tickets, key=lambda t: -int(Ticket.objects.get(pk=t.pk).sales.expected_value))
    f = FollowupFilter(sort="value")
    first = followup_list(agent, filters=f, size=3)
    page = first.group("today")
    assert [r.pk for r in page.rows] == [t.pk for t in by_value[:3]]
    second = followup_list(agent, filters=f, size=3, cursors={"today": page.next_cursor})
    assert [r.pk for r in second.group("today").rows] == [t.pk for t in by_value[3:6]]
    third = followup_list(agent, filters=f, size=3, cursors={"today": second.group("today").next_cursor})
    assert [r.pk for r in third.group("today").rows] == [by_value[6].pk]
    assert third.group("today").next_cursor is None
    # A cursor of another group or sort is refused.
    with pytest.raises(followup.query.BadCursor):
        followup_list(agent, filters=FollowupFilter(), cursors={"today": page.next_cursor})
    with pytest.raises(followup.query.BadCursor):
        followup_list(agent, filters=f, cursors={"overdue": page.next_cursor})
    with pytest.raises(followup.query.BadCursor):
        followup_list(agent, filters=f, cursors={"today": "not-a-cursor"})


def test_the_weighted_pipeline_sums_what_the_filter_matches_not_only_the_page(world, agent):
    make_contact(world, agent, success=50, value="1000.00", next_contact_at=at(24))
    make_contact(world, agent, success=25, value="400.00")
    make_contact(world, agent, success=None, value="999.00")  # no success: adds nothing
    make_contact(world, agent, success=90, value=None)
    listing = followup_list(agent, size=1)
    assert listing.pipeline == Decimal("600.00")
    assert listing.expected_total == Decimal("2399.00")
    assert followup_list(agent, filters=FollowupFilter(success_min=40)).pipeline == Decimal("500.00")


def test_parse_filter_names_each_bad_field():
    _f, errors = parse_filter(
        {"crs": ["x"], "channel": "fax", "stale": "maybe", "success_min": "101", "text": "ab", "sort": "nope"}
    )
    assert set(errors) == {"crs", "channel", "stale", "success_min", "text", "sort"}
    _f, errors = parse_filter({"success_min": "60", "success_max": "20"})
    assert set(errors) == {"success_max"}
    f, errors = parse_filter({"stale": "1", "success_min": "0", "sort": "-next_contact", "service_types": ["3"]})
    assert not errors and f.stale and f.success_min == 0 and f.sort == "-next_contact" and f.service_types == [3]


def test_the_queries_do_not_grow_with_the_rows(world, agent, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            listing = followup_list(agent, filters=FollowupFilter(stale=True, sort="value"))
            [r.progress for g in listing.groups for r in g.rows]
        return len(ctx.captured_queries)

    # One contact in each group: a group with none reads no rows.
    for day in (24, 25, 26):
        make_contact(world, agent, entered=at(10), next_contact_at=at(day))
    make_contact(world, agent, entered=at(10), no_next_contact=True)
    few = count()
    for i in range(40):
        make_contact(world, agent, entered=at(10 + i % 5), next_contact_at=at(20 + i % 10), success=i, value=str(i))
    for _ in range(10):
        make_contact(world, agent, entered=at(10), no_next_contact=True)
    with django_assert_max_num_queries(few):
        listing = followup_list(agent, filters=FollowupFilter(stale=True, sort="value"))
    assert sum(len(g.rows) for g in listing.groups) > 40


def test_a_user_without_a_role_sees_nothing(world, agent):
    from django.contrib.auth.models import User

    make_contact(world, agent)
    nobody = User.objects.create_user("nobody", password="x")
    listing = followup_list(nobody, users=Whose("team"))
    assert listing.count == 0


def test_the_morning_digest_reads_today_s_list(world, agent):
    make_contact(world, agent)
    make_user("another", Role.AGENT)
    assert followup_list(agent).today_group.count == 1

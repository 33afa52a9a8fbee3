"""/tickets: opening, reading, finding (filters, cursor pages, query counts)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ciclo.accounts.models import UserCompany
from ciclo.configurator.models import CrmOptions, DecisionOption, ServiceType, Workflow, WorkflowStep
from ciclo.people.models import Company
from ciclo.tickets.models import Note, PhaseMove, Ticket
from ciclo.tickets.routing import record_note
from tests.api.helpers import assert_error
from tests.factory import make_company, make_person, make_ticket

SP = dt.timezone(dt.timedelta(hours=-3))


def restrict_companies(*grants: tuple[Any, Any]) -> None:
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    for user, company in grants:
        UserCompany.objects.create(user=user, company=company)


# ---- opening ----------------------------------------------------------------------------------


def test_an_agent_opens_a_ticket_naming_configuration_by_code_and_records_by_id(api_as, agent, sales):
    person = make_person(name="Cliente Um")
    body = {
        "person": person.pk,
        "service_type": "1.1",
        "company": sales.company.pk,
        "subject": "Quer um ERP",
        "channel": "whatsapp",
        "next_contact_user": "agent_t",
        "text": "Primeiro contato pelo site",
    }
    response = api_as(agent).post("/tickets", body)
    assert response.status_code == 201, response.body
    ticket = Ticket.objects.get()
    assert response.body["id"] == ticket.pk and response.body["cr"]["code"] == "1"
    assert response.body["step"] == {"id": sales.step_prospect.pk, "order": 0, "kind": "cr"}
    assert ticket.next_contact_at is not None and ticket.channel == "whatsapp"
    note = Note.objects.get(ticket=ticket)
    assert note.kind == Note.Kind.OPENING and note.text == "Primeiro contato pelo site"
    move = PhaseMove.objects.get(ticket=ticket)
    assert move.kind == PhaseMove.Kind.OPEN and move.to_cr == sales.cr_prospect and move.by == agent


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service_type": 10}, "service_type"),  # a type by its code, never its id
        ({"company": "EMP"}, "company"),  # a company by its id, never its code
        ({"person": "1"}, "person"),
        ({"next_contact_user": 1}, "next_contact_user"),  # a user by username
        ({"extra": 1}, "extra"),
    ],
)
def test_each_field_takes_one_kind_of_reference(api_as, agent, sales, change, field):
    body = {"person": make_person().pk, "service_type": "1.1", "company": sales.company.pk, "subject": "X"} | change
    assert_error(api_as(agent).post("/tickets", body), 422, "invalid", field)
    assert not Ticket.objects.exists()


def test_opening_needs_a_token(anonymous, sales):
    body = {"person": make_person().pk, "service_type": "1.1", "company": sales.company.pk, "subject": "X"}
    assert_error(anonymous.post("/tickets", body), 401)
    assert not Ticket.objects.exists()


def test_opening_in_a_cr_with_other_members_is_403(api_as, agent, outsider, sales):
    sales.cr_prospect.members.add(agent)
    body = {"person": make_person().pk, "service_type": "1.1", "company": sales.company.pk, "subject": "X"}
    assert_error(api_as(outsider).post("/tickets", body), 403, "not_allowed")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"service_type": "1"}, "service_type"),  # a group
        ({"service_type": "7.7"}, "service_type"),
        ({"company": 999999}, "company"),
        ({"person": 999999}, "person"),
        ({"next_contact_user": "ghost"}, "next_contact_user"),
        ({"next_contact_at": "2026-03-05T10:00:00"}, "next_contact_at"),  # no time zone
        ({"next_contact_at": "9999-12-31T23:00:00-05:00"}, "next_contact_at"),
        ({"channel": "pigeon"}, "channel"),
        ({"contact_person": 999999}, "contact_person"),
    ],
)
def test_a_bad_ticket_is_422_naming_the_field_and_nothing_is_written(api_as, agent, sales, change, field):
    body = {"person": make_person().pk, "service_type": "1.1", "company": sales.company.pk, "subject": "X"}
    body.update(change)
    assert_error(api_as(agent).post("/tickets", body), 422, None, field)
    assert not Ticket.objects.exists() and not Note.objects.exists()


def test_a_decision_before_the_first_phase_is_asked_for(api_as, agent, sales):
    workflow = Workflow.objects.create(code="triagem", description="Triagem")
    decision = WorkflowStep.objects.create(workflow=workflow, order=0, kind="decision", question="Venda ou suporte?")
    to_sales = DecisionOption.objects.create(step=decision, label="Venda", target_order=5)
    DecisionOption.objects.create(step=decision, label="Suporte", target_order=10)
    WorkflowStep.objects.create(workflow=workflow, order=5, kind="cr", cr=sales.cr_prospect, next_order=10)
    WorkflowStep.objects.create(workflow=workflow, order=10, kind="cr", cr=sales.cr_closed)
    ServiceType.objects.create(code="1.5", description="Triagem", workflow=workflow)
    body = {"person": make_person().pk, "service_type": "1.5", "company": sales.company.pk, "subject": "X"}
    error = assert_error(api_as(agent).post("/tickets", body), 422, "decision_required")
    assert error["decision"]["step"] == 0 and error["decision"]["question"] == "Venda ou suporte?"
    assert error["decision"]["workflow"] == "triagem"
    assert [o["label"] for o in error["decision"]["options"]] == ["Venda", "Suporte"]
    assert not Ticket.objects.exists()
    body["choices"] = [{"step": 0, "option": to_sales.pk}]  # the step by its order in the type's workflow
    response = api_as(agent).post("/tickets", body)
    assert response.status_code == 201 and response.body["cr"]["code"] == "1"


# ---- reading ----------------------------------------------------------------------------------


def test_a_ticket_reads_with_its_phase_and_people(api_as, agent, sales):
    ticket = make_ticket(sales, agent)
    body = api_as(agent).get(f"/tickets/{ticket.pk}").body
    assert body["workflow"] == "vendas" and body["opened_by"]["username"] == "agent_t"
    assert body["person"]["id"] == ticket.person_id and body["closes_process"] is False
    assert body["version"] == 1 and body["status"] == "open"


def test_reading_a_ticket_needs_a_token(anonymous, agent, sales):
    ticket = make_ticket(sales, agent)
    assert_error(anonymous.get(f"/tickets/{ticket.pk}"), 401)
    assert_error(anonymous.get("/tickets"), 401)


def test_a_ticket_of_a_company_the_user_may_not_see_is_404(api_as, agent, outsider, sales):
    ticket = make_ticket(sales, agent)
    restrict_companies((agent, sales.company))
    assert api_as(agent).get(f"/tickets/{ticket.pk}").status_code == 200
    assert_error(api_as(outsider).get(f"/tickets/{ticket.pk}"), 404, "not_found")
    assert api_as(outsider).get("/tickets").body["items"] == []
    assert_error(api_as(agent).get(f"/tickets/{ticket.pk + 1000}"), 404)


# ---- finding ----------------------------------------------------------------------------------


@pytest.fixture
def population(sales, agent, supervisor):
    """Tickets spread over phases, people, companies, users and dates."""
    other_company = make_company(code="FIL", name="Filial")
    maria = make_person(name="Maria Sílva")
    jose = make_person(name="José Souza")
    with_dates = [
        ("t1", maria, sales.company, agent, "2026-03-02 09:00", "2026-03-03 09:00"),
        ("t2", maria, other_company, supervisor, "2026-03-04 09:00", "2026-03-10 09:00"),
        ("t3", jose, sales.company, agent, "2026-03-06 09:00", "2026-03-07 09:00"),
        ("t4", jose, other_company, supervisor, "2026-03-08 09:00", "2026-03-20 09:00"),
    ]
    tickets = {}
    for key, person, company, user, opened, next_contact in with_dates:
        tickets[key] = make_ticket(
            sales,
            agent,
            person=person,
            company=company,
            subject=f"Assunto {key}",
            next_contact_user=user,
            at=dt.datetime.fromisoformat(opened).replace(tzinfo=SP),
            next_contact_at=dt.datetime.fromisoformat(next_contact).replace(tzinfo=SP),
        )
    record_note(tickets["t3"], by=agent, text="Cliente pediu desconto especial")
    Ticket.objects.filter(pk=tickets["t4"].pk).update(
        status=Ticket.Status.CLOSED, cr=sales.cr_closed, step=sales.step_closed
    )
    return tickets


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.body
    return [t["id"] for t in response.body["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["t4", "t3", "t2", "t1"]),
        ({"service_type": "1.1"}, ["t4", "t3", "t2", "t1"]),
        ({"service_type": "1"}, ["t4", "t3", "t2", "t1"]),  # a group includes its types
        ({"cr": "9"}, ["t4"]),
        ({"status": "open"}, ["t3", "t2", "t1"]),
        ({"status": "closed"}, ["t4"]),
        ({"person_search": "mari"}, ["t2", "t1"]),
        ({"person_search": "jose"}, ["t4", "t3"]),
        ({"company": "FIL"}, ["t4", "t2"]),  # the company's id (looked up below)
        ({"next_contact_user": "supervisor_t"}, ["t4", "t2"]),
        ({"next_contact_from": "2026-03-07", "next_contact_to": "2026-03-10"}, ["t3", "t2"]),
        ({"opened_from": "2026-03-04", "opened_to": "2026-03-06"}, ["t3", "t2"]),
        ({"text": "desconto"}, ["t3"]),
        ({"text": "assunto T1"}, ["t1"]),
        ({"status": "open", "company": "FIL", "next_contact_user": "supervisor_t"}, ["t2"]),
        ({"sort": "next_contact_at", "order": "asc"}, ["t1", "t3", "t2", "t4"]),
        ({"sort": "id", "order": "asc"}, ["t1", "t2", "t3", "t4"]),
    ],
)
def test_every_filter_of_the_ticket_query(api_as, agent, population, params, expected):
    if "company" in params:
        params = params | {"company": Company.objects.get(code=params["company"]).pk}
    assert ids(api_as(agent).get("/tickets", **params)) == [population[k].pk for k in expected]


def test_a_person_is_filtered_by_id_and_searched_by_name(api_as, agent, population):
    api = api_as(agent)
    t1 = population["t1"]
    assert ids(api.get("/tickets", person=t1.person_id)) == ids(api.get("/tickets", person_search="maria"))
    assert_error(api.get("/tickets", person="maria"), 422, "invalid", "person")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cr": "77"}, "cr"),
        ({"service_type": "8"}, "service_type"),
        ({"company": "nope"}, "company"),  # an id
        ({"next_contact_user": "ghost"}, "next_contact_user"),
        ({"opened_from": "2026-03-05", "opened_to": "2026-03-01"}, "opened_to"),
        ({"opened_from": "05/03/2026"}, "opened_from"),
        ({"person_search": "ma"}, "person_search"),  # too short to search by
        ({"sort": "subject"}, "sort"),
        ({"order": "up"}, "order"),
        ({"limit": 201}, "limit"),
        ({"status": "pending"}, "status"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ],
)
def test_a_bad_filter_is_422_naming_it(api_as, agent, population, params, field):
    assert_error(api_as(agent).get("/tickets", **params), 422, "invalid", field)


def test_a_cursor_of_another_sort_is_refused(api_as, agent, population):
    api = api_as(agent)
    cursor = api.get("/tickets", limit=1).body["next_cursor"]
    assert cursor
    assert_error(api.get("/tickets", limit=1, cursor=cursor, sort="priority"), 422, "invalid", "cursor")


# ---- keyset pages -----------------------------------------------------------------------------


SORTS = ["opened_at", "next_contact_at", "id", "priority", "person"]


@pytest.fixture
def many(sales, agent):
    """25 tickets with ties in every sort key."""
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SP)
    tickets = []
    for i in range(25):
        tickets.append(
            make_ticket(
                sales,
                agent,
                at=start + dt.timedelta(hours=i // 3),  # three tickets per opening time
                next_contact_at=start + dt.timedelta(days=i % 4),
            )
        )
    for i, ticket in enumerate(tickets):
        Ticket.objects.filter(pk=ticket.pk).update(priority=1 + i % 3)
    return Ticket.objects.filter(pk__in=[t.pk for t in tickets])


def expected_order(tickets: Any, sort: str, order: str) -> list[int]:
    rows = list(tickets)
    desc = order == "desc"
    if sort == "id":
        return sorted((t.pk for t in rows), reverse=desc)
    if sort == "person":
        return [t.pk for t in sorted(rows, key=lambda t: (t.person.search_name, t.pk), reverse=desc)]
    return [t.pk for t in sorted(rows, key=lambda t: (getattr(t, sort), t.pk), reverse=desc)]


@pytest.mark.parametrize(
    ("sort", "order", "limit"),
    list(itertools.product(SORTS, ["asc", "desc"], [1, 7, 25, 200])),
)
def test_cursor_pages_walk_every_ticket_exactly_once(api_as, agent, many, sort, order, limit):
    api = api_as(agent)
    seen: list[int] = []
    cursor = None
    for _page in range(100):
        params = {"sort": sort, "order": order, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = api.get("/tickets", **params)
        assert response.status_code == 200, response.body
        assert len(response.body["items"]) <= limit
        seen += [t["id"] for t in response.body["items"]]
        cursor = response.body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected_order(many, sort, order)


@pytest.mark.parametrize("sort", ["opened_at", "next_contact_at"])
def test_cursor_pages_within_a_date_range(api_as, agent, many, sort):
    api = api_as(agent)
    params = {"sort": sort, "order": "asc", "limit": 3, "opened_from": "2026-03-02", "opened_to": "2026-03-02"}
    params.update(next_contact_from="2026-03-03", next_contact_to="2026-03-04")
    seen, cursor = [], None
    while True:
        response = api.get("/tickets", **params, **({"cursor": cursor} if cursor else {}))
        seen += ids(response)
        cursor = response.body["next_cursor"]
        if not cursor:
            break
    low = dt.datetime(2026, 3, 3, tzinfo=SP)
    high = dt.datetime(2026, 3, 5, tzinfo=SP)
    within = many.filter(next_contact_at__gte=low, next_contact_at__lt=high)
    assert seen == expected_order(within, sort, "asc") and seen


def list_queries(api: Any, **params: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/tickets", **params)
    assert response.status_code == 200
    return len(ctx)


def test_the_list_makes_the_same_queries_for_5_or_50_tickets_and_any_page_size(api_as, agent, supervisor, sales):
    api = api_as(agent)
    api.get("/me")  # the token's first use writes last_used_at
    for i in range(5):
        make_ticket(sales, agent, next_contact_user=supervisor if i % 2 else agent)
    small = [list_queries(api, limit=20), list_queries(api, limit=200)]
    for i in range(45):
        make_ticket(sales, agent, next_contact_user=supervisor if i % 2 else agent)
    large = [list_queries(api, limit=20), list_queries(api, limit=200)]
    assert small == large == [small[0], small[0]]
    assert small[0] == 2  # the token with its user, role and whether user × company access control is on; the page
    with_filters = {"cr": "1", "service_type": "1.1", "company": sales.company.pk, "next_contact_user": "agent_t"}
    assert list_queries(api, limit=20, **with_filters) == list_queries(api, limit=200, **with_filters)


@pytest.mark.parametrize("sort", ["next_contact_at", "id", "priority", "person"])
def test_every_sort_makes_the_same_queries_as_the_default(api_as, agent, sales, sort):
    api = api_as(agent)
    api.get("/me")
    for _i in range(30):
        make_ticket(sales, agent)
    base = list_queries(api, limit=20)
    first = api.get("/tickets", sort=sort, limit=10).body["next_cursor"]
    assert list_queries(api, limit=20, sort=sort) == base
    assert list_queries(api, limit=200, sort=sort, cursor=first) == base


def test_the_open_queue_uses_the_partial_index(agent, sales):
    """The filter the API builds for "open tickets of a CR and type by next contact" reads the index."""
    from ciclo.api import cursor
    from ciclo.api.tickets import TicketFilters, ticket_filter
    from ciclo.tickets.query import list_queryset

    if connection.vendor != "sqlite":
        pytest.skip("reads SQLite's plan")
    qs = list_queryset(agent, ticket_filter(TicketFilters(cr="1", service_type="1.1", status="open")))
    qs = qs.filter(cursor.after("next_contact_at", timezone.now(), 10, descending=False))
    qs = qs.order_by("next_contact_at", "id")
    sql, params = qs[:20].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "ticket_queue_open" in plan and "next_contact_at>" in plan, plan

"""The ticket query page (Consulta de Atendimentos): filters, sort, keyset pages, columns, scenarios, access."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role
from ciclo.configurator.models import CrmOptions, Priority, ServiceType
from ciclo.people.documents import format_document
from ciclo.people.models import Person
from ciclo.tickets import query
from ciclo.tickets.models import Channel, Scenario, Ticket
from ciclo.tickets.views.query import COLUMNS, DEFAULT_COLUMNS, SESSION_COLUMNS
from tests.factory import SalesSetup, make_cnpj, make_company, make_cpf, make_person, make_ticket, make_user

# Until the routes are in ciclo/tickets/urls.py; harmless after.

SP = ZoneInfo("America/Sao_Paulo")
URL = "/tickets/"


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SP)


def ids(response: Any) -> list[int]:
    results = response.context["results"]
    return [row.ticket.pk for row in results.rows] if results else []


def get(client: Any, **params: Any) -> Any:
    params.setdefault("size", 200)
    response = client.get(URL, params)
    assert response.status_code == 200, response.content[:500]
    return response


def place(ticket: Ticket, step: Any, **fields: Any) -> Ticket:
    """Put a ticket where a test wants it (the engine's moves are tested elsewhere)."""
    closed = bool(step.cr.closes_process)
    fields.setdefault("status", Ticket.Status.CLOSED if closed else Ticket.Status.OPEN)
    fields.setdefault("closed_at", ticket.opened_at if closed else None)
    Ticket.objects.filter(pk=ticket.pk).update(step=step, cr=step.cr, **fields)
    return Ticket.objects.get(pk=ticket.pk)


@dataclass
class World:
    sales: SalesSetup
    agent: Any
    colleague: Any
    type2: ServiceType
    company2: Any
    a: Ticket
    b: Ticket
    c: Ticket
    d: Ticket

    @property
    def all(self) -> set[int]:
        return {self.a.pk, self.b.pk, self.c.pk, self.d.pk}


@pytest.fixture
def world(sales: SalesSetup, agent: Any) -> World:
    colleague = make_user("colega", Role.AGENT, first_name="Colega")
    type2 = ServiceType.objects.create(
        code="1.2",
        description="Renovação",
        kind=ServiceType.Kind.ANALYTICAL,
        category=ServiceType.Category.SALES,
        workflow=sales.workflow,
        cycle=sales.cycle,
        colour="#d63384",
    )
    company2 = make_company(name="Filial Sul")
    s = sales
    a = make_ticket(
        s,
        agent,
        person=make_person(name="Sílvia Souza", document=make_cpf()),
        subject="Interesse no ERP",
        at=local(2026, 3, 1, 9, 0),
        next_contact_at=local(2026, 3, 10, 14, 0),
        next_contact_user=agent,
    )
    b = make_ticket(
        s,
        agent,
        person=make_person(name="Silvana Lima", document=make_cpf()),
        service_type=type2,
        company=company2,
        subject="Renovação de contrato",
        channel=Channel.EMAIL,
        at=local(2026, 2, 1, 8, 0),
        next_contact_at=local(2026, 3, 20, 10, 0),
        next_contact_user=colleague,
    )
    c = make_ticket(
        s,
        agent,
        person=make_person(name="Bruno Alves Ltda", kind=Person.Kind.LEGAL, document=make_cnpj()),
        subject="Visita técnica",
        text="O cliente pediu desconto na visita",
        channel=Channel.VISIT,
        at=local(2026, 1, 15, 16, 0),
        next_contact_at=local(2026, 4, 5, 9, 0),
        next_contact_user=colleague,
    )
    d = make_ticket(
        s,
        agent,
        person=make_person(name="Carla Dias", document=make_cpf()),
        service_type=type2,
        company=company2,
        subject="Proposta enviada por e-mail",
        at=local(2026, 3, 31, 23, 59),
        # Late on the 10th in São Paulo is already the 11th in UTC: the range is the user's day.
        next_contact_at=local(2026, 3, 10, 23, 30),
        next_contact_user=agent,
    )
    b = place(b, s.step_proposal, priority=5)
    c = place(c, s.step_closed, priority=1)
    d = place(d, s.step_negotiation)
    return World(s, agent, colleague, type2, company2, a, b, c, d)


# --- the page ------------------------------------------------------------------------------------------------------


def test_it_lists_the_visible_tickets_with_links_to_each_ticket_and_its_cycle(client, world):
    client.force_login(world.agent)
    response = get(client)
    assert set(ids(response)) == world.all
    html = response.content.decode()
    for t in (world.a, world.b, world.c, world.d):
        url = reverse("ticket", args=[t.pk])
        assert f'href="{url}"' in html
        assert f'href="{url}#cycle"' in html
    assert 'id="filter-form"' in html and 'hx-get="/tickets/"' in html
    assert response.context["results"].count == 4


def test_dates_show_in_the_users_time_zone_and_locale(client, world, settings):
    settings.LANGUAGE_CODE = "pt-br"
    client.force_login(world.agent)
    html = get(client, cols="number,opened,next_contact").content.decode()
    # 23:30 on 10/03 in São Paulo, stored as 02:30 UTC on the 11th.
    assert "10/03/2026 23:30" in html
    assert "01/03/2026 09:00" in html


def offered(response, select_id: str) -> list[int]:
    """The values of a select's options, in order."""
    select = response.content.decode().split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return [int(pk) for pk in re.findall(r'<option value="(\d+)"', select)]


def ticked(response, name: str) -> dict[int, bool]:
    """A multiple choice's checkboxes: value → ticked."""
    html = response.content.decode()
    boxes = re.findall(
        rf'<input class="form-check-input" type="checkbox" name="{name}" value="(\d+)"[^>]*?( checked)?>', html
    )
    return {int(pk): bool(checked) for pk, checked in boxes}


def test_the_service_type_select_offers_analytical_types_only(client, world):
    client.force_login(world.agent)
    response = get(client)
    types = set(ticked(response, "service_types"))
    assert types == {world.sales.type.pk, world.type2.pk}
    assert world.sales.group.pk not in types


def test_the_selects_keep_the_filter_chosen_and_escape_what_they_show(client, world):
    world.sales.cr_prospect.description = "Prospecção <b>quente</b>"
    world.sales.cr_prospect.save()
    client.force_login(world.agent)
    response = get(client, crs=[world.sales.cr_prospect.pk], next_contact_user=world.agent.pk)
    html = response.content.decode()
    crs = ticked(response, "crs")
    assert crs[world.sales.cr_prospect.pk] is True
    assert crs[world.sales.cr_closed.pk] is False  # not chosen: not ticked
    assert f'<option value="{world.agent.pk}" selected>' in html
    assert "Prospecção &lt;b&gt;quente&lt;/b&gt;" in html and "<b>quente</b>" not in html


# --- every filter narrows ------------------------------------------------------------------------------------------


FILTERS = [
    ("type", lambda w: {"service_types": [w.sales.type.pk]}, "ac"),
    ("two types", lambda w: {"service_types": [w.sales.type.pk, w.type2.pk]}, "abcd"),
    ("CRs", lambda w: {"crs": [w.sales.cr_prospect.pk, w.sales.cr_closed.pk]}, "ac"),
    ("open", lambda w: {"status": "open"}, "abd"),
    ("closed", lambda w: {"status": "closed"}, "c"),
    ("all statuses", lambda w: {"status": ""}, "abcd"),
    ("name prefix, accents ignored", lambda w: {"person": "silv"}, "ab"),
    ("name with accents", lambda w: {"person": "Sílvia"}, "a"),
    ("formatted CPF", lambda w: {"person": format_document(w.a.person.document)}, "a"),
    ("CNPJ digits prefix", lambda w: {"person": w.c.person.document[:8]}, "c"),
    ("company", lambda w: {"company": w.company2.pk}, "bd"),
    ("next-contact user", lambda w: {"next_contact_user": w.colleague.pk}, "bc"),
    (
        "next contact on one local day",
        lambda w: {"next_contact_from": "2026-03-10", "next_contact_to": "2026-03-10"},
        "ad",
    ),
    ("next contact from", lambda w: {"next_contact_from": "2026-03-11"}, "bc"),
    ("opened between", lambda w: {"opened_from": "2026-02-01", "opened_to": "2026-03-01"}, "ab"),
    ("opened from, dd/mm/yyyy", lambda w: {"opened_from": "01/03/2026"}, "ad"),
    ("text in the subject", lambda w: {"text": "contrato"}, "b"),
    ("text in a note", lambda w: {"text": "desconto"}, "c"),
    ("open, one company", lambda w: {"status": "open", "company": w.sales.company.pk}, "a"),
]


@pytest.mark.parametrize(("params", "expected"), [(p, e) for _n, p, e in FILTERS], ids=[n for n, _p, _e in FILTERS])
def test_each_filter_narrows_the_results(client, world, params, expected):
    client.force_login(world.agent)
    response = get(client, **params(world))
    assert set(ids(response)) == {getattr(world, key).pk for key in expected}


def test_the_form_shows_the_filter_it_ran(client, world):
    client.force_login(world.agent)
    response = get(client, crs=world.sales.cr_proposal.pk, person="silv", next_contact_from="2026-03-01")
    html = response.content.decode()
    assert ticked(response, "crs")[world.sales.cr_proposal.pk] is True
    assert 'name="person" value="silv"' in html
    assert 'value="2026-03-01"' in html


# --- invalid values ------------------------------------------------------------------------------------------------


def test_invalid_filter_values_show_beside_their_fields_and_run_no_ticket_query(client, world):
    client.force_login(world.agent)
    params = {
        "service_types": "abc",
        "status": "maybe",
        "person": "ab",
        "next_contact_from": "31/02/2026",
        "opened_from": "2026-05-01",
        "opened_to": "2026-04-01",
    }
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    assert response.status_code == 200
    assert response.context["results"] is None
    assert not [q for q in ctx.captured_queries if "tickets_ticket" in q["sql"]]
    html = response.content.decode()
    errors = response.context["errors"]
    assert set(errors) == {"service_types", "status", "person", "next_contact_from", "opened_to"}
    for name, messages in errors.items():
        block = re.search(rf'<div id="err-{name}"[^>]*>(.*?)</div>', html, re.S)
        assert block is not None and messages[0] in block.group(1).replace("&quot;", '"').replace("&#x27;", "'")
    assert 'data-testid="filter-errors"' in html
    assert 'data-testid="results-table"' not in html


def test_with_htmx_the_errors_swap_in_beside_the_fields_and_the_url_is_left_alone(client, world):
    client.force_login(world.agent)
    response = client.get(URL, {"person": "ab"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<div id="err-person"[^>]*hx-swap-oob="true"[^>]*>\s*\S', html)
    assert re.search(r'<div id="err-crs"[^>]*hx-swap-oob="true"[^>]*></div>', html)  # cleared
    assert "HX-Push-Url" not in response.headers


def test_a_bad_sort_is_an_error_not_a_crash(client, world):
    client.force_login(world.agent)
    response = client.get(URL, {"sort": "colour"})
    assert response.status_code == 200
    assert "sort" in response.context["errors"]
    assert response.context["results"] is None


def test_a_forged_cursor_asks_to_start_again(client, world):
    client.force_login(world.agent)
    response = client.get(URL, {"after": "not-a-cursor"})
    assert response.status_code == 200
    assert response.context["results"].error
    assert 'data-testid="page-error"' in response.content.decode()


# --- htmx ----------------------------------------------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_results_fragment_and_a_clean_url(client, world):
    client.force_login(world.agent)
    params = {"status": "open", "person": "", "company": "", "text": "", "cols": ["", "number", "person"]}
    response = client.get(URL, params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="filter-form"' not in html
    assert 'data-testid="results-table"' in html
    assert 'id="f-sort"' in html and 'hx-swap-oob="true"' in html
    pushed = urlsplit(response.headers["HX-Push-Url"])
    assert pushed.path == URL
    assert parse_qs(pushed.query) == {"status": ["open"], "cols": ["number,person"]}
    assert "HX-Request" in response.headers["Vary"]
    assert set(ids(response)) == {world.a.pk, world.b.pk, world.d.pk}


def test_an_htmx_history_restore_gets_the_whole_page(client, world):
    client.force_login(world.agent)
    response = client.get(URL, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert 'id="filter-form"' in response.content.decode()


# --- sorting -------------------------------------------------------------------------------------------------------

SORTABLE = [c for c in COLUMNS if c.sort]


@pytest.fixture
def many(sales: SalesSetup, agent: Any) -> list[Ticket]:
    """45 tickets with ties in every sort field but the number (and tickets with no next-contact user)."""
    names = ["ana", "bruno", "carla", "ana", "daniel"]
    times = [local(2026, 1, 5, 10, 0), local(2026, 1, 5, 11, 0), local(2026, 1, 6, 9, 0)]
    people = [make_person(name=n) for n in names]
    subjects = ["Visita", "Proposta", "Contrato", "Visita"]
    users = [
        make_user("u_lima", Role.AGENT, first_name="Bia", last_name="Lima"),
        None,
        make_user("u_ana", Role.AGENT, first_name="Ana"),
        make_user("nameless", Role.AGENT),  # sorts by the username it shows
    ]
    types = [sales.type, ServiceType.objects.create(code="1.3", description="Assistência", workflow=sales.workflow)]
    companies = [sales.company, make_company(name="Filial Norte")]
    steps = [sales.step_prospect, sales.step_proposal, sales.step_closed]
    tickets = []
    for i in range(45):
        t = make_ticket(
            sales,
            agent,
            person=people[i % 5],
            subject=subjects[i % 4],
            service_type=types[i % 2],
            company=companies[(i // 2) % 2],
            at=times[i % 3],
            next_contact_at=times[(i // 3) % 3] + dt.timedelta(days=3),
            next_contact_user=users[i % 4],
        )
        Ticket.objects.filter(pk=t.pk).update(priority=1 + i % 4, next_contact_user=users[i % 4])
        place(t, steps[i % 3])
        tickets.append(t)
    related = ("person", "service_type", "cr", "company", "next_contact_user")
    return list(Ticket.objects.select_related(*related).filter(pk__in=[t.pk for t in tickets]))


def expected_order(tickets: list[Ticket], sort: str) -> list[int]:
    field_name = query.SORTS[sort.lstrip("-")][0]

    def key(t: Ticket) -> tuple[Any, int]:
        if field_name == "sort_next_contact_user":
            user = t.next_contact_user
            return ((user.get_full_name() or user.username) if user else ""), t.pk
        value: Any = t
        for part in field_name.split("__"):
            value = getattr(value, part)
        return value, t.pk

    return [t.pk for t in sorted(tickets, key=key, reverse=sort.startswith("-"))]


@pytest.mark.parametrize("direction", ["", "-"], ids=["ascending", "descending"])
@pytest.mark.parametrize("column", SORTABLE, ids=[c.key for c in SORTABLE])
def test_sorting_by_each_sortable_column_both_ways(client, agent, many, column, direction):
    client.force_login(agent)
    sort = direction + column.sort
    response = get(client, sort=sort, cols=",".join(c.key for c in COLUMNS))
    assert ids(response) == expected_order(many, sort)
    header = next(h for h in response.context["headers"] if h["key"] == column.key)
    assert header["aria_sort"] == ("descending" if direction else "ascending")
    # The header's link toggles the direction.
    toggled = parse_qs(urlsplit(header["url"]).query).get("sort", [query.DEFAULT_SORT])
    assert toggled == [(column.sort if direction else "-" + column.sort)]
    html = response.content.decode()
    assert f'data-col="{column.key}" aria-sort="{header["aria_sort"]}"' in html


def test_only_the_sorted_column_carries_aria_sort(client, agent, many):
    client.force_login(agent)
    response = get(client, sort="-next_contact_at")
    assert [(h["key"], h["aria_sort"]) for h in response.context["headers"] if h["aria_sort"]] == [
        ("next_contact", "descending")
    ]


# --- keyset pages ----------------------------------------------------------------------------------------------------


def walk_pages(client: Any, first_url: str) -> tuple[list[list[int]], list[str]]:
    pages, urls, url = [], [], first_url
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(ids(response))
        urls.append(url)
        url = response.context["paging"]["next"]
        assert len(pages) < 10, "paging does not end"
    return pages, urls


@pytest.mark.parametrize(
    "sort", ["-opened_at", "opened_at", "priority", "-priority", "person", "-next_contact_at", "id"]
)
def test_keyset_pages_walk_every_row_exactly_once(client, agent, many, sort):
    client.force_login(agent)
    pages, urls = walk_pages(client, f"{URL}?sort={sort}")
    assert [len(p) for p in pages] == [20, 20, 5]
    walked = [pk for p in pages for pk in p]
    assert walked == expected_order(many, sort)
    # "Previous" goes back one page at a time, and "First page" to the start.
    response = client.get(urls[2])
    back = client.get(response.context["paging"]["previous"])
    assert ids(back) == pages[1]
    back = client.get(back.context["paging"]["previous"])
    assert ids(back) == pages[0]
    assert back.context["paging"]["previous"] == "" and back.context["paging"]["first"] == ""
    first = client.get(response.context["paging"]["first"])
    assert ids(first) == pages[0]


@pytest.mark.parametrize("sort", ["next_contact_at", "-next_contact_at", "opened_at", "-opened_at"])
def test_keyset_pages_within_a_date_range_walk_every_row_exactly_once(client, agent, many, sort):
    """Past the first page the cursor replaces the range bound on its side: the rows stay the same."""
    client.force_login(agent)
    params = "next_contact_from=2026-01-08&next_contact_to=2026-01-09&opened_from=2026-01-05&opened_to=2026-01-05"
    pages, _urls = walk_pages(client, f"{URL}?sort={sort}&{params}")
    inside = [
        t
        for t in many
        if dt.date(2026, 1, 8) <= t.next_contact_at.astimezone(SP).date() <= dt.date(2026, 1, 9)
        and t.opened_at.astimezone(SP).date() == dt.date(2026, 1, 5)
    ]
    assert len(inside) > 20
    assert [pk for p in pages for pk in p] == expected_order(inside, sort)


def summary(response: Any) -> str:
    html = response.content.decode()
    block = re.search(r'data-testid="summary">(.*?)<span id="results-indicator"', html, re.S)
    assert block is not None
    return " ".join(re.sub(r"<[^>]+>", " ", block.group(1)).split())


def test_every_page_tells_the_total(client, agent, many):
    client.force_login(agent)
    response = client.get(URL)
    results = response.context["results"]
    assert results.count == 45 and not results.count_capped
    assert summary(response) == "45 tickets"
    second = client.get(response.context["paging"]["next"])
    assert second.context["results"].count == 45
    assert second.context["page_number"] == 2
    assert summary(second) == "45 tickets · page 2"
    third = client.get(second.context["paging"]["next"])
    assert third.context["results"].next_cursor is None
    assert summary(third) == "45 tickets · page 3"


def test_a_date_sorted_later_page_counts_the_whole_range_not_the_pages_seek(client, agent, many):
    client.force_login(agent)
    response = client.get(URL, {"sort": "opened_at", "opened_from": "2026-01-05", "size": 20})
    second = client.get(response.context["paging"]["next"])
    assert response.context["results"].count == second.context["results"].count == 45


def test_one_ticket_is_one_ticket_and_none_is_no_tickets(client, world):
    client.force_login(world.agent)
    assert summary(get(client, person="sílvia")) == "1 ticket"
    assert summary(get(client, person="ninguém")) == "No tickets"


def test_a_text_search_is_not_counted_and_says_what_the_page_shows(client, agent, many):
    client.force_login(agent)
    response = client.get(URL, {"text": "Visita"})
    assert response.context["results"].count is None
    assert summary(response) == "20 tickets on this page, more on the next pages…"


def test_the_count_is_capped(client, agent, many, monkeypatch):
    monkeypatch.setattr("ciclo.tickets.views.query.COUNT_CAP", 30)
    client.force_login(agent)
    response = client.get(URL)
    results = response.context["results"]
    assert results.count == 30 and results.count_capped
    assert summary(response) == "More than 30 tickets"
    second = client.get(response.context["paging"]["next"])
    assert summary(second) == "More than 30 tickets · page 2"


def test_page_sizes(client, agent, many):
    client.force_login(agent)
    assert len(ids(client.get(URL, {"size": 50}))) == 45
    assert len(ids(client.get(URL, {"size": 7}))) == 20  # not one of the sizes: the default


# --- columns -------------------------------------------------------------------------------------------------------


def test_the_columns_choice_is_kept_in_the_url_and_the_session(client, world):
    client.force_login(world.agent)
    response = get(client, cols=["", "company", "number", "priority"])
    assert [h["key"] for h in response.context["headers"]] == ["number", "company", "priority"]
    assert client.session[SESSION_COLUMNS] == ["number", "company", "priority"]
    html = response.content.decode()
    assert 'id="col-company" checked' in html and 'id="col-person" checked' not in html
    assert "cols=number%2Ccompany%2Cpriority" in response.context["paging"]["first"] + response.context["querystring"]
    # No cols in the URL: the session's choice.
    again = get(client)
    assert [h["key"] for h in again.context["headers"]] == ["number", "company", "priority"]
    row = again.context["results"].rows[0]
    assert [c.value for c in row.cells][1] == row.ticket.company.name


def test_no_column_ticked_leaves_the_number_and_unknown_ones_are_ignored(client, world):
    client.force_login(world.agent)
    assert [h["key"] for h in get(client, cols="").context["headers"]] == ["number"]
    assert [h["key"] for h in get(client, cols="bogus,channel").context["headers"]] == ["channel"]


def row_html(response: Any, ticket: Ticket) -> str:
    """The table row of a ticket, as the page sends it."""
    html = response.content.decode()
    return html.split(f'<tr data-ticket="{ticket.pk}">', 1)[1].split("</tr>", 1)[0]


def cell_texts(row: str) -> list[str]:
    """Each cell's text, its markup dropped and its spaces folded."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def test_every_column_renders(client, world, settings):
    settings.LANGUAGE_CODE = "pt-br"
    client.force_login(world.agent)
    response = get(client, cols=",".join(c.key for c in COLUMNS), person="sílvia")
    (row,) = response.context["results"].rows
    values = {cell.key: cell.value for cell in row.cells}
    assert list(values) == [c.key for c in COLUMNS]
    a = world.a
    assert values["number"] == a.pk
    assert values["person"] == "Sílvia Souza"
    assert values["document"] == format_document(a.person.document)
    assert values["phase"] == "1 · Prospecção"
    assert values["next_contact_user"] == world.agent.username
    assert values["company"] == world.sales.company.name
    assert values["priority"] == f"{a.priority} – {Priority(a.priority).label}"
    assert values["channel"] == "Telefone"  # the choice's label, in the user's language
    html = row_html(response, a)
    url = reverse("ticket", args=[a.pk])
    assert f'<a href="{url}">{a.pk}</a>' in html
    assert f'<circle cx="1" cy="1" r="1" fill="{world.sales.type.colour}"/>' in html
    assert '<span class="badge text-bg-primary">Aberto</span>' in html
    assert '<span class="text-nowrap">01/03/2026 09:00</span>' in html
    assert f'href="{url}#cycle"' in html and 'title="Abrir o atendimento"' in html
    assert cell_texts(html) == [
        str(a.pk),
        "01/03/2026 09:00",
        "Sílvia Souza",
        format_document(a.person.document),
        a.subject,
        world.sales.type.description,
        "1 · Prospecção",
        "Aberto",
        "10/03/2026 14:00",
        world.agent.username,
        world.sales.company.name,
        f"{a.priority} – {Priority(a.priority).label}",
        "Telefone",
        "",  # outcome, won value, lost reason: not a sales ticket
        "",
        "",
        "",  # days overdue, open amount: not a collection ticket
        "",
        "Abrir Ciclo",
    ]


def test_a_closed_ticket_has_the_closed_badge_and_no_one_to_contact_is_a_blank_cell(client, world):
    client.force_login(world.agent)
    Ticket.objects.filter(pk=world.c.pk).update(next_contact_user=None)
    html = row_html(get(client, cols="number,status,next_contact_user"), world.c)
    assert '<span class="badge text-bg-success">Closed</span>' in html
    assert cell_texts(html)[2] == "" and "None" not in html


def test_what_people_typed_shows_as_text_never_as_markup(client, world):
    s = world.sales
    person = make_person(name="<script>alert('x')</script>", document=make_cpf())
    ticket = make_ticket(s, world.agent, person=person, subject='<img src=x onerror="alert(1)">')
    s.cr_prospect.description = "<b>Prospecção</b>"
    s.cr_prospect.save()
    world.company2.name = "<i>Filial</i>"
    world.company2.save()
    Ticket.objects.filter(pk=ticket.pk).update(company=world.company2)
    client.force_login(world.agent)
    for htmx in (True, False):  # the fragment, then the whole page
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.get(URL, {"cols": "number,person,subject,phase,company"}, **headers)
        html = response.content.decode()
        row = row_html(response, ticket)
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in row  # escaped as MarkupSafe writes it
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in row
        assert "&lt;b&gt;Prospecção&lt;/b&gt;" in row and "&lt;i&gt;Filial&lt;/i&gt;" in row
        for markup in ("<script>alert", "<img src=x", "<b>Prospecção", "<i>Filial"):
            assert markup not in html
    # The filter's options and checkboxes escape them too.
    assert "&lt;i&gt;Filial&lt;/i&gt;</option>" in html
    assert 'data-label="1 · &lt;b&gt;Prospecção&lt;/b&gt;"' in html


def test_default_columns_for_a_new_session(client, world):
    client.force_login(world.agent)
    assert [h["key"] for h in get(client).context["headers"]] == DEFAULT_COLUMNS


# --- query counts --------------------------------------------------------------------------------------------------


def count_queries(client: Any, url: str, **headers: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_the_page_makes_the_same_number_of_queries_for_5_and_40_tickets(client, sales, agent, htmx):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.force_login(agent)
    url = f"{URL}?size=50&cols=" + ",".join(c.key for c in COLUMNS)
    other = make_user("other_ncu", Role.AGENT)
    for i in range(5):
        make_ticket(sales, agent, next_contact_user=other if i % 2 else agent)
    client.get(url)  # the session learns the columns
    few = count_queries(client, url, **headers)
    assert len(ids(client.get(url))) == 5
    for _i in range(35):
        make_ticket(sales, agent, company=make_company(), next_contact_user=make_user(role=Role.AGENT))
    many = count_queries(client, url, **headers)
    assert len(ids(client.get(url))) == 40
    assert few == many
    # The session; the user with its role and whether user × company access control is on; the rows (all
    # fit: no count). The whole page adds the filter's types, CRs, companies and users, and the scenarios.
    assert many == (3 if htmx else 8)


def test_a_deep_page_makes_no_more_queries_than_the_first(client, sales, agent):
    client.force_login(agent)
    for _i in range(45):
        make_ticket(sales, agent)
    first = client.get(URL)
    url = first.context["paging"]["next"]
    url = client.get(url).context["paging"]["next"]
    assert count_queries(client, url) <= count_queries(client, URL)


def reads_of(client: Any, url: str, table: str, **headers: Any) -> int:
    """How many of the request's queries read `table` itself (not through a join)."""
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, **headers).status_code == 200
    return sum(f'FROM "{table}"' in q["sql"] for q in ctx.captured_queries)


@pytest.mark.parametrize("table", ["configurator_servicetype", "configurator_responsibilitycenter"])
def test_types_and_crs_are_read_once_a_page_and_by_the_fragment_only_when_its_chips_name_some(client, world, table):
    client.force_login(world.agent)
    s = world.sales
    filtered = f"{URL}?service_types={s.type.pk}&crs={s.cr_prospect.pk}&crs={s.cr_closed.pk}"
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert reads_of(client, URL, table) == 1  # the filter's choices
    assert reads_of(client, filtered, table) == 1  # the same list names the chips
    assert reads_of(client, URL, table, **htmx) == 0
    assert reads_of(client, filtered, table, **htmx) == 1
    response = client.get(filtered, **htmx)
    assert {f"Type: {s.type.code} · {s.type.description}", "Phase: 1 · Prospecção", "Phase: 9 · Encerrado"} <= set(
        chips(response)
    )


# --- scenarios -----------------------------------------------------------------------------------------------------


def save(client: Any, name: str, query_string: str, **extra: Any) -> Any:
    return client.post(reverse("scenario_save"), {"name": name, "query": query_string, **extra})


def test_saving_a_private_scenario_keeps_the_filter_and_columns(client, world):
    client.force_login(world.agent)
    qs = f"crs={world.sales.cr_prospect.pk}&status=open&person=silv&sort=priority&cols=number,person"
    response = save(client, "Prospecção aberta", qs)
    scenario = Scenario.objects.get(owner=world.agent, name="Prospecção aberta")
    assert response.status_code == 302
    assert f"scenario={scenario.pk}" in response.url
    f, _errors = query.parse_filter(
        {"crs": [str(world.sales.cr_prospect.pk)], "status": "open", "person": "silv", "sort": "priority"}
    )
    assert scenario.params == f.as_params()
    assert scenario.columns == ["number", "person"]
    assert scenario.shared is False


def test_reopening_a_scenario_runs_its_filter_with_its_columns(client, world):
    client.force_login(world.agent)
    save(client, "Empresa 2", f"company={world.company2.pk}&cols=number,company", shared="on")
    scenario = Scenario.objects.get(name="Empresa 2")
    assert scenario.shared
    response = client.get(reverse("scenario_open", args=[scenario.pk]))
    assert response.status_code == 302
    page = client.get(response.url)
    assert set(ids(page)) == {world.b.pk, world.d.pk}
    assert [h["key"] for h in page.context["headers"]] == ["number", "company"]
    assert page.context["current_scenario"] == scenario
    assert 'data-testid="current-scenario"' in page.content.decode()


def test_another_user_sees_shared_scenarios_but_not_private_ones(client, world):
    mine = Scenario.objects.create(owner=world.agent, name="Meu", params={"status": "open"})
    shared = Scenario.objects.create(owner=world.agent, name="Da equipe", params={"status": "closed"}, shared=True)
    client.force_login(world.colleague)
    listed = [s.pk for s in get(client).context["scenarios"]]
    assert listed == [shared.pk]
    assert client.get(reverse("scenario_open", args=[mine.pk])).status_code == 404
    opened = client.get(client.get(reverse("scenario_open", args=[shared.pk])).url)
    assert set(ids(opened)) == {world.c.pk}


def test_others_shared_scenarios_cannot_be_changed_or_deleted(client, world):
    shared = Scenario.objects.create(owner=world.agent, name="Da equipe", shared=True)
    private = Scenario.objects.create(owner=world.agent, name="Meu")
    client.force_login(world.colleague)
    assert client.post(reverse("scenario_delete", args=[shared.pk])).status_code == 403
    assert client.post(reverse("scenario_rename", args=[shared.pk]), {"name": "Meu agora"}).status_code == 403
    assert client.post(reverse("scenario_delete", args=[private.pk])).status_code == 404
    assert Scenario.objects.filter(pk__in=[shared.pk, private.pk]).count() == 2
    shared.refresh_from_db()
    assert shared.name == "Da equipe"
    # Saving under the same name makes the colleague's own scenario; the shared one is untouched.
    save(client, "Da equipe", "status=open")
    assert Scenario.objects.filter(name="Da equipe").count() == 2


def test_deleting_my_scenario(client, world):
    scenario = Scenario.objects.create(owner=world.agent, name="Velho")
    client.force_login(world.agent)
    response = client.post(reverse("scenario_delete", args=[scenario.pk]), {"query": "status=open"})
    assert response.status_code == 302
    assert not Scenario.objects.filter(pk=scenario.pk).exists()
    assert "status=open" in response.url


def test_deleting_with_htmx_answers_the_panel(client, world):
    scenario = Scenario.objects.create(owner=world.agent, name="Velho")
    client.force_login(world.agent)
    response = client.post(reverse("scenario_delete", args=[scenario.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="scenarios"') and "Velho" in html


def test_the_same_name_asks_before_overwriting(client, world):
    client.force_login(world.agent)
    save(client, "Minha fila", "status=open")
    scenario = Scenario.objects.get(name="Minha fila")
    response = save(client, "Minha fila", "status=closed&cols=number")
    assert response.status_code == 200
    assert 'data-testid="confirm-overwrite"' in response.content.decode()
    scenario.refresh_from_db()
    assert scenario.params == {"status": "open"}
    response = save(client, "Minha fila", "status=closed&cols=number", overwrite="Minha fila")
    assert response.status_code == 302
    assert Scenario.objects.filter(owner=world.agent, name="Minha fila").count() == 1
    scenario.refresh_from_db()
    assert scenario.params == {"status": "closed"} and scenario.columns == ["number"]


def test_renaming_my_scenario(client, world):
    scenario = Scenario.objects.create(owner=world.agent, name="Velho")
    Scenario.objects.create(owner=world.agent, name="Outro")
    client.force_login(world.agent)
    response = client.post(reverse("scenario_rename", args=[scenario.pk]), {"name": "Outro"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "You already have a scenario with this name." in response.content.decode() or "já tem" in (
        response.content.decode()
    )
    response = client.post(reverse("scenario_rename", args=[scenario.pk]), {"name": "Novo"})
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.name == "Novo"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101], ids=["empty", "blank", "too long"])
def test_a_scenario_needs_a_name_of_at_most_100_characters(client, world, name):
    client.force_login(world.agent)
    response = save(client, name, "status=open")
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="scenario-name-error">\s*\S', html)
    assert not Scenario.objects.exists()
    htmx = client.post(reverse("scenario_save"), {"name": name, "query": "status=open"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200
    assert re.search(r'id="scenario-name-error">\s*\S', htmx.content.decode())
    assert not Scenario.objects.exists()


def test_a_scenario_of_an_invalid_filter_is_refused(client, world):
    client.force_login(world.agent)
    response = save(client, "Ruim", "person=ab")
    assert response.status_code == 422
    assert not Scenario.objects.exists()


def test_with_htmx_the_scenario_takes_the_filter_from_the_address_bar(client, world):
    client.force_login(world.agent)
    response = client.post(
        reverse("scenario_save"),
        {"name": "Da barra", "query": "status=closed"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{URL}?status=open&cols=number",
    )
    assert response.status_code == 200
    assert 'data-testid="scenario-notice"' in response.content.decode()
    scenario = Scenario.objects.get(name="Da barra")
    assert scenario.params == {"status": "open"} and scenario.columns == ["number"]


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "scenario_save", []),
        ("get", "scenario_delete", [1]),
        ("get", "scenario_rename", [1]),
        ("post", "scenario_open", [1]),
        ("post", "tickets", []),
    ],
)
def test_wrong_methods_are_refused(client, world, method, name, args):
    client.force_login(world.agent)
    assert getattr(client, method)(reverse(name, args=args)).status_code == 405


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "tickets", []),
        ("post", "scenario_save", []),
        ("get", "scenario_open", [1]),
        ("post", "scenario_delete", [1]),
    ],
)
def test_anonymous_users_are_sent_to_log_in(client, db, method, name, args):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_refused(client, db):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


# --- visibility ----------------------------------------------------------------------------------------------------


def test_company_access_control_applies_to_results_and_choices(client, world, admin_user):
    options = CrmOptions.current()
    options.access_control_user_company = True
    options.save()
    UserCompany.objects.create(user=world.agent, company=world.sales.company)
    client.force_login(world.agent)
    response = get(client)
    assert set(ids(response)) == {world.a.pk, world.c.pk}
    assert offered(response, "f-company") == [world.sales.company.pk]
    # Asking for the other company by hand finds nothing.
    assert ids(get(client, company=world.company2.pk)) == []
    client.force_login(admin_user)
    assert set(ids(get(client))) == world.all


# --- the filters in force, as chips --------------------------------------------------------------------------------


def chips(response: Any) -> dict[str, str]:
    """Each chip's text → the URL that removes it."""
    html = response.content.decode()
    block = html.split('data-testid="filter-chips"', 1)[1].split("</ul>", 1)[0]
    found = re.findall(r'<a class="badge[^"]*filter-chip[^"]*" href="([^"]+)"[^>]*>(.*?)<span aria-hidden', block, re.S)
    return {" ".join(re.sub(r"<[^>]+>", " ", text).split()): url.replace("&amp;", "&") for url, text in found}


def test_each_filter_in_force_is_a_chip_that_removes_it_and_keeps_the_others(client, world):
    client.force_login(world.agent)
    s = world.sales
    response = get(
        client,
        service_types=[s.type.pk, world.type2.pk],
        status="open",
        company=world.company2.pk,
        next_contact_user=world.colleague.pk,
        opened_from="2026-02-01",
        text="contrato",
        sort="priority",
    )
    shown = chips(response)
    assert set(shown) == {
        f"Type: {s.type.code} · {s.type.description}",
        f"Type: {world.type2.code} · {world.type2.description}",
        "Status: Open",
        f"Company: {world.company2.code} · Filial Sul",
        "Next contact with: Colega",
        "Opened from: 01/02/2026",
        "Text: contrato",
    }
    without_type2 = parse_qs(urlsplit(shown[f"Type: {world.type2.code} · {world.type2.description}"]).query)
    assert without_type2["service_types"] == [str(s.type.pk)]
    assert without_type2["status"] == ["open"] and without_type2["text"] == ["contrato"]
    assert without_type2["sort"] == ["priority"]  # the sort and the columns stay
    assert "after" not in without_type2  # back to the first page
    # Following a chip runs the query without that filter alone.
    assert set(ids(client.get(shown["Text: contrato"]))) == {world.b.pk}  # b and d are in company2; d is not open?
    without_status = parse_qs(urlsplit(shown["Status: Open"]).query)
    assert "status" not in without_status and without_status["company"] == [str(world.company2.pk)]
    assert 'data-testid="clear-filters"' in response.content.decode()


def test_no_filter_no_chips(client, world):
    client.force_login(world.agent)
    assert 'data-testid="filter-chips"' not in get(client).content.decode()


def test_chips_escape_what_they_show(client, world):
    client.force_login(world.agent)
    response = get(client, text="<b>x</b>")
    assert "Text: &lt;b&gt;x&lt;/b&gt;" in chips(response)
    assert "<b>x</b>" not in response.content.decode()


def test_the_multiple_choices_list_what_is_ticked_on_their_face(client, world):
    client.force_login(world.agent)
    html = get(client, crs=[world.sales.cr_prospect.pk, world.sales.cr_closed.pk]).content.decode()
    face = html.split('id="f-crs"', 1)[1].split("</summary>", 1)[0]
    assert "1 · Prospecção; 9 · Encerrado" in face
    types_face = html.split('id="f-service_types"', 1)[1].split("</summary>", 1)[0]
    assert ">All<" in types_face


def test_a_page_reads_only_what_its_columns_show(client, world):
    """The rows' query joins a related row only for a column that shows it, and reads none of a person's notes."""
    client.force_login(world.agent)

    def rows_query(cols: str, **params: Any) -> str:
        with CaptureQueriesContext(connection) as ctx:
            get(client, cols=cols, **params)
        return next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "tickets_ticket"."id"'))

    narrow = rows_query("number,subject")
    for table in ("people_person", "people_company", "configurator_servicetype", "auth_user"):
        assert f'JOIN "{table}"' not in narrow
    wide = rows_query("number,person,company,next_contact_user")
    assert 'JOIN "people_person"' in wide and 'JOIN "people_company"' in wide and 'JOIN "auth_user"' in wide
    assert '"people_person"."notes"' not in wide and '"people_person"."name"' in wide
    # A sort by a column not shown still reads its key, for the next page's cursor.
    by_company = rows_query("number", sort="company", size=20)
    assert 'JOIN "people_company"' in by_company

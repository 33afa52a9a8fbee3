"""Never a 500: arbitrary values in every page's query and every form's fields answer a 4xx or a page.

The pages come from the URL configuration (every named URL of the site, the admin's
changelists for an administrator); the forms and their fields from the pages as each
role sees them. Each request starts from the form as the page offers it and replaces
some of its fields (or adds others a view reads) with hostile values: huge digit
strings (beyond Python's 4,300-digit limit and beyond 2^63), unicode digits, NUL
bytes, lists. Each request runs in a transaction rolled back afterwards, so every
example sees the same data.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciclo.accounts.roles import Role
from ciclo.http import get_id, parse_id, parse_int
from ciclo.people.models import ContactPerson
from ciclo.tickets.models import Scenario, Ticket
from tests.factory import SalesSetup, make_person, make_ticket, make_user

# Random examples per page or form and role (with the sweep, about 12 requests each: ~60 s a database);
# CICLO_FUZZ_EXAMPLES=200 for a deeper run.
EXAMPLES = int(os.environ.get("CICLO_FUZZ_EXAMPLES", "6"))
HUGE = "9" * 5000
NASTY = [
    HUGE,
    "1" * 4301,
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 20,
    "0" * 30 + "1",
    "0",
    "-1",
    "+1",
    " 1",
    "1.5",
    "1e5",
    "1,5",
    "²",
    "٣",
    "１２",
    "\x00",
    "1\x00",
    "a\x00b",
    "",
    " ",
    "😀",
    "null",
    "[]",
    "2026-02-30",
    "9999-99-99T99:99",
    "-" + HUGE,
    "a" * 5000,
]
# What views read from request data beyond the fields their pages render.
READ_NAMES = [
    "size",
    "scenario",
    "company",
    "crs",
    "service_types",
    "status",
    "person",
    "text",
    "sort",
    "cols",
    "after",
    "prev",
    "phase",
    "q",
    "next_contact_user",
    "next_contact_at",
    "next_contact_from",
    "next_contact_to",
    "opened_from",
    "opened_to",
    "step",
    "version",
    "reason",
    "override_reason",
    "move_on",
    "channel",
    "query",
    "name",
    "shared",
    "overwrite",
    "next",
    "language",
]

# The hostile values twice as likely as the rest.
SWEEP = [HUGE, str(2**64), "\x00"]  # every field at once, before the random examples
value = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.from_regex(r"\A[0-9]{1,25}\Z"),
    st.integers(min_value=4300, max_value=6000).map(lambda n: "7" * n),
)
field_value = st.one_of(value, st.lists(value, max_size=3))


# ---- the site: one of each thing a page can show ------------------------------------------------


@dataclasses.dataclass
class Site:
    sales: SalesSetup
    users: dict[str, User]
    ticket: Ticket
    scenario: Scenario


@pytest.fixture
def site(db) -> Site:
    sales = SalesSetup()
    users = {
        "admin": make_user("admin_f", Role.ADMIN, is_superuser=True, is_staff=True),
        "supervisor": make_user("supervisor_f", Role.SUPERVISOR),
        "agent": make_user("agent_f", Role.AGENT),
    }
    person = make_person()
    ContactPerson.objects.create(person=person, name="Contato")
    ticket = make_ticket(sales, users["agent"], person=person)
    scenario = Scenario.objects.create(name="Abertos", owner=users["agent"], shared=True, params={"status": "open"})
    return Site(sales, users, ticket, scenario)


# ---- the pages, from the URL configuration ------------------------------------------------------


def site_patterns() -> Iterator[tuple[str, URLPattern]]:
    """Every named URL of the site with its namespace, the API's and the admin's left to their own tests."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route.startswith(("admin/", "api/")):
                    continue
                yield from walk(entry.url_patterns, route)
            elif entry.name:
                yield route, entry

    yield from walk(get_resolver().url_patterns, "")


def path_of(pattern: URLPattern, site: Site) -> str:
    kwargs: dict[str, int] = {}
    for name in pattern.pattern.converters:  # type: ignore[attr-defined]
        if name == "cr_id":
            kwargs[name] = site.sales.cr_prospect.pk
        elif pattern.name and pattern.name.startswith("scenario_"):
            kwargs[name] = site.scenario.pk
        else:
            kwargs[name] = site.ticket.pk
    return reverse(pattern.name, kwargs=kwargs)  # type: ignore[arg-type]


@dataclasses.dataclass
class Form:
    action: str
    method: str
    fields: dict[str, list[str]]


class _Forms(HTMLParser):
    """The forms of a page: where each goes and the values it would send as the page shows it."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.forms: list[Form] = []
        self._select: str | None = None
        self._selected: list[str] = []
        self._first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action") or self.url, (a.get("method") or "get").lower(), {}))
            return
        if not self.forms:
            return
        fields = self.forms[-1].fields
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            fields.setdefault(name, [])
            if kind not in ("checkbox", "radio", "submit", "button") or "checked" in a:
                fields[name].append(a.get("value", ""))
        elif tag == "button" and name:
            fields.setdefault(name, [])
        elif tag == "select" and name:
            self._select, self._selected, self._first = name, [], None
        elif tag == "option" and self._select is not None:
            option = a.get("value", "")
            self._first = option if self._first is None else self._first
            if "selected" in a:
                self._selected.append(option)
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1].fields[self._textarea] = [data]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self.forms:
            chosen = self._selected or ([self._first] if self._first is not None else [])
            self.forms[-1].fields[self._select] = chosen
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str, url: str) -> list[Form]:
    parser = _Forms(url)
    parser.feed(html)
    return parser.forms


def link_names(html: str) -> set[str]:
    """The query parameters the page's own links use (the admin's filters)."""
    names: set[str] = set()
    for chunk in html.split('href="?')[1:]:
        query = chunk.split('"', 1)[0].replace("&amp;", "&")
        names |= {k for k, _v in parse_qsl(query, keep_blank_values=True)}
    return names


@dataclasses.dataclass
class Target:
    method: str
    path: str
    baseline: dict[str, list[str]]
    names: list[str]


def request(client: Client, user: User, method: str, path: str, data: dict[str, Any]) -> Any:
    """One request as `user`, its writes rolled back; a form is posted as a browser posts it."""
    with transaction.atomic():
        client.force_login(user)
        if method == "get":
            response = client.get(path, data)
        else:
            body = urlencode(data, doseq=True)
            response = client.post(path, body, content_type="application/x-www-form-urlencoded")
        transaction.set_rollback(True)
    return response


def failure(response: Any, what: str) -> str:
    """What failed, with the end of the server's traceback."""
    trace = "".join(traceback.format_exception(*response.exc_info)[-3:]) if response.exc_info else ""
    return f"{what}: {response.status_code}\n{trace[-3000:]}"


def targets_for(client: Client, user: User, site: Site, paths: list[str]) -> list[Target]:
    """For each path, GET and POST unless the view refuses the method; forms found on the pages join them."""
    found: dict[tuple[str, str], Target] = {}
    extra = [f"choice-{site.sales.decision.pk}", f"choice-{HUGE}"]
    for path in paths:
        for method in ("get", "post"):
            response = request(client, user, method, path, {})
            assert response.status_code < 500, failure(response, f"{method.upper()} {path}")
            if response.status_code == 405:
                continue
            found.setdefault((method, path), Target(method, path, {}, []))
            if method == "get" and "html" in response.get("Content-Type", ""):
                html = response.content.decode()
                for form in forms_of(html, path):
                    action = urlsplit(form.action).path or path
                    target = found.setdefault((form.method, action), Target(form.method, action, {}, []))
                    for name, values in form.fields.items():
                        target.baseline.setdefault(name, values)
                found[(method, path)].names += sorted(link_names(html))
    every_field = {name for target in found.values() for name in target.baseline}
    for target in found.values():
        target.names = sorted(set(target.names) | every_field | set(READ_NAMES) | set(extra))
    return list(found.values())


def fuzz(client: Client, user: User, target: Target, examples: int = EXAMPLES) -> None:
    for nasty in SWEEP:
        for data in ({name: nasty for name in target.names}, {**target.baseline, **dict.fromkeys(READ_NAMES, nasty)}):
            response = request(client, user, target.method, target.path, data)
            assert response.status_code < 500, failure(
                response, f"{target.method.upper()} {target.path} as {user}, every field {nasty[:20]!r}"
            )

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        changes=st.dictionaries(
            st.one_of(st.sampled_from(target.names), st.text(max_size=10)), field_value, min_size=1, max_size=12
        ),
        keep=st.booleans(),
    )
    def check(changes: dict[str, Any], keep: bool) -> None:
        data = {**(target.baseline if keep else {}), **changes}
        response = request(client, user, target.method, target.path, data)
        shown = {k[:30]: (str(v)[:40] + f"… ({len(str(v))} chars)" if len(str(v)) > 40 else v) for k, v in data.items()}
        assert response.status_code < 500, failure(
            response, f"{target.method.upper()} {target.path} as {user}: {shown}"
        )

    check()


# ---- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "supervisor", "agent"])
def test_no_page_or_form_answers_a_server_error(site, role):
    client = Client(raise_request_exception=False)
    user = site.users[role]
    patterns = list(site_patterns())
    targets = targets_for(client, user, site, [path_of(p, site) for _route, p in patterns])
    assert len(targets) >= len(patterns)  # every URL answers one method at least
    for target in targets:
        fuzz(client, user, target)


def admin_changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


def test_no_admin_changelist_answers_a_server_error(site):
    client = Client(raise_request_exception=False)
    user = site.users["admin"]
    targets = targets_for(client, user, site, admin_changelists())
    for target in targets:
        target.names = sorted(set(target.names) | {"q", "o", "p", "all", "e", "_popup", "_to_field"})
        fuzz(client, user, target, examples=max(1, EXAMPLES // 2))  # twenty models: half as many each


# ---- each case that answered 500 ----------------------------------------------------------------

BEYOND_64_BITS = str(2**63)  # one more than the largest id: SQLite refuses to bind it
TOO_LONG = [HUGE, BEYOND_64_BITS, str(2**64)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        (str(2**63 - 1), 2**63 - 1),
        ("0" * 18 + "7", 7),
        ("0" * 19 + "7", None),  # more than 19 digits: not read, whatever their value
        (BEYOND_64_BITS, None),
        (HUGE, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1_000", None),
        ("٣", None),
        ("²", None),
        ("１", None),
        ("", None),
        ("1\x00", None),
        (None, None),
        (["1"], None),
    ],
)
def test_an_id_is_ascii_digits_of_a_positive_64_bit_number(raw, expected):
    assert parse_id(raw) == expected


def test_a_number_is_read_within_its_bounds():
    assert parse_int("20", minimum=1, maximum=200) == 20
    assert parse_int("0") == 0
    assert parse_int("0", minimum=1) is None
    assert parse_int("201", maximum=200) is None
    assert parse_int(HUGE) is None


def test_an_id_is_read_from_the_last_value_of_its_name():
    assert get_id(QueryDict("crs=1&crs=2"), "crs") == 2
    assert get_id(QueryDict(f"crs={HUGE}"), "crs") is None


@pytest.fixture
def web(client, site):
    client.raise_request_exception = True  # a server error fails the test with its traceback
    client.force_login(site.users["supervisor"])
    return client


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize("name", ["size", "scenario", "phase"])
def test_a_page_ignores_an_address_value_that_is_no_number(web, raw, name):
    page = reverse("home") if name == "phase" else reverse("tickets")
    assert web.get(page, {name: raw}).status_code == 200


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize("name", ["company", "crs", "service_types", "next_contact_user"])
def test_the_query_page_names_the_filter_whose_id_is_no_id(web, raw, name):
    for page in (reverse("tickets"), reverse("tickets_export_csv")):
        response = web.get(page, {name: raw})
        assert response.status_code in (200, 400, 422)
    response = web.get(reverse("tickets"), {name: raw})
    html = response.content.decode()
    assert "is not a valid id" in html
    assert f'id="err-{name}"' in html or f'name="{name}"' in html


@pytest.mark.parametrize("raw", TOO_LONG)
def test_the_new_ticket_form_names_a_person_that_is_no_id(web, site, raw):
    assert web.get(reverse("ticket_new"), {"person": raw}).status_code == 200
    assert web.get(reverse("person_contacts"), {"person": raw}).status_code == 200
    data = {
        "person": raw,
        "service_type": site.sales.type.pk,
        "subject": "Interesse",
        "company": site.sales.company.pk,
        "channel": "phone",
        "next_contact_user": raw,
    }
    response = web.post(reverse("ticket_new"), data)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) >= {"person", "next_contact_user"}
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("raw", TOO_LONG)
def test_a_note_names_a_next_contact_user_that_is_no_id(web, site, raw):
    response = web.post(reverse("ticket_note", args=[site.ticket.pk]), {"text": "Ligação", "next_contact_user": raw})
    assert response.status_code == 422
    assert response.context["errors"]["next_contact_user"] == ["Choose an active user."]
    assert not site.ticket.notes.filter(text="Ligação").exists()


@pytest.mark.parametrize("raw", TOO_LONG)
def test_a_move_to_a_step_that_is_no_id_is_refused(web, site, raw):
    response = web.post(reverse("ticket_move", args=[site.ticket.pk]), {"step": raw, "reason": "Teste"})
    assert response.status_code == 302
    assert web.get(response["Location"]).content.decode().count("Choose a step of this ticket") == 1
    assert web.get(reverse("ticket_move_decisions", args=[site.ticket.pk]), {"step": raw}).status_code == 200


@pytest.mark.parametrize("raw", TOO_LONG)
def test_an_answer_naming_an_option_that_is_no_id_is_refused(web, site, raw):
    question = site.sales.q_single
    data = {f"shown-{question.pk}": "1", f"q-{question.pk}": raw, f"v-{question.pk}": raw, f"o-{question.pk}": ""}
    response = web.post(reverse("ticket_answers", args=[site.ticket.pk]), data)
    assert response.status_code < 500
    assert not site.ticket.answers.filter(question=question).exists()


@pytest.mark.parametrize("raw", TOO_LONG)
def test_a_path_id_that_is_no_id_is_not_found(web, raw):
    assert web.get(f"/tickets/{raw}/").status_code == 404
    assert web.get(f"/tickets/scenarios/{raw}/").status_code == 404


@pytest.mark.parametrize("year", [str(2**63 - 1), "9999", HUGE])
@pytest.mark.parametrize("changelist", ["admin:tickets_phasemove_changelist", "admin:history_change_changelist"])
def test_the_admin_date_hierarchy_refuses_a_year_past_the_calendar_as_a_bad_address(client, site, changelist, year):
    client.force_login(site.users["admin"])
    response = client.get(reverse(changelist), {"at__year": year})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert client.get(reverse(changelist), {"at__year": "2026"}).status_code == 200

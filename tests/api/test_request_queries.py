"""What one API request asks the database: the token, its user and role in one query; whether
user × company access control is on; a code given in the filter; then the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciclo.accounts.roles import Role, set_role
from ciclo.configurator.models import ServiceType
from tests.api.helpers import assert_error
from tests.factory import make_ticket, make_user

FIRST_PAGE = {
    "cr": "1",
    "service_type": "1.1",
    "status": "open",
    "next_contact_from": "2000-01-01",
    "next_contact_to": "2999-12-31",
    "sort": "next_contact_at",
    "order": "asc",
}


def captured(api: Any, path: str, **params: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(path, **params)
    return response, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("limit", [20, 200])
def test_the_first_page_by_codes_makes_four_queries(api_as, agent, sales, limit):
    for _i in range(3):
        make_ticket(sales, agent)
    api = api_as(agent)
    api.get("/tickets", **FIRST_PAGE)  # warm-up: the token's last use is written at most once a minute
    response, queries = captured(api, "/tickets", **FIRST_PAGE, limit=limit)
    assert response.status_code == 200 and len(response.body["items"]) == 3
    assert len(queries) == 4, queries
    token_query, types, crs, page = queries
    # The token, its user, their role and whether user × company access control is on: one query.
    for table in ("accounts_apitoken", "auth_user", "auth_group", "configurator_crmoptions"):
        assert table in token_query
    assert "configurator_servicetype" in types and "configurator_responsibilitycenter" in crs
    assert "tickets_ticket" in page


def test_a_group_code_finds_the_tickets_of_its_types(api_as, agent, sales):
    tickets = [make_ticket(sales, agent) for _i in range(2)]
    other = ServiceType.objects.create(code="2.1", description="Suporte", workflow=sales.workflow)
    make_ticket(sales, agent, service_type=other)
    api = api_as(agent)
    api.get("/tickets")
    expected = sorted(t.pk for t in tickets)
    for params in ({"service_type": "1", "cr": "1"}, {"service_type": "1.1"}, {"service_type": "01"}):
        response, queries = captured(api, "/tickets", **params)
        assert response.status_code == 200, (params, response.body)
        assert sorted(item["id"] for item in response.body["items"]) == expected, params
        assert len(queries) == 2 + len(params), (params, queries)  # a query per code given


def test_unknown_codes_are_still_refused_by_field(api_as, agent, sales):
    error = assert_error(api_as(agent).get("/tickets", cr="7", service_type="8.1"), 422)
    assert set(error["fields"]) == {"cr", "service_type"}


def test_a_renamed_cr_or_a_new_type_is_seen_by_the_next_request(api_as, admin_user, agent, sales):
    ticket = make_ticket(sales, agent)
    api, admin = api_as(agent), api_as(admin_user)
    assert [i["id"] for i in api.get("/tickets", cr="1").body["items"]] == [ticket.pk]
    assert admin.patch("/config/crs/1", {"code": "1.5"}).status_code == 200
    assert_error(api.get("/tickets", cr="1"), 422, field="cr")
    assert [i["id"] for i in api.get("/tickets", cr="1.5").body["items"]] == [ticket.pk]
    ServiceType.objects.create(code="1.2", description="Renovação", workflow=sales.workflow)
    assert api.get("/tickets", service_type="1.2").body["items"] == []


def test_the_role_read_with_the_token_follows_a_change_of_role(api_as, agent):
    api = api_as(agent)
    assert api.get("/me").body["role"] == "agent"
    set_role(agent, Role.SUPERVISOR)
    assert api.get("/me").body["role"] == "supervisor"
    agent.groups.clear()
    assert_error(api.get("/me"), 403, "forbidden")


def test_a_user_with_two_role_groups_has_the_highest(api_as, db):
    from django.contrib.auth.models import Group

    user = make_user("both", Role.AGENT)
    user.groups.add(Group.objects.get(name=Role.SUPERVISOR.value))
    assert api_as(user).get("/me").body["role"] == "supervisor"


def test_a_superuser_without_groups_is_an_admin(api_as, db):
    user = make_user("root", Role.AGENT, is_superuser=True)
    user.groups.clear()
    assert api_as(user).get("/me").body["role"] == "admin"


def test_the_token_and_its_user_are_read_as_the_orm_reads_them(agent):
    from django.contrib.auth.models import User

    from ciclo.accounts.models import ApiToken
    from ciclo.accounts.tokens import authenticate, create_token

    created, raw = create_token(agent, name="ERP")
    found = authenticate(raw)
    assert found is not None
    orm = ApiToken.objects.get(pk=created.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(orm, field.attname), field.name
    user = User.objects.get(pk=agent.pk)
    for field in User._meta.concrete_fields:
        value = getattr(found.user, field.attname)
        assert value == getattr(user, field.attname) and type(value) is type(getattr(user, field.attname)), field.name
    assert found.created_at.tzinfo is not None and found.user.is_active is True
    assert found.user._state.db == "default" and not found.user._state.adding
    assert authenticate(raw.replace("_", "-")) is None and authenticate(raw + "x") is None

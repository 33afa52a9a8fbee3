"""POST /collections/update and following it, and GET /collections, per role."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ciclo.accounts.models import UserCompany
from ciclo.collections.models import CollectionRun
from ciclo.configurator.models import CrmOptions
from ciclo.jobs.worker import run_queued_tasks
from tests.api.helpers import assert_error
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

TODAY = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup(db):
    return CollectionSetup()


@pytest.fixture
def overdue(setup):
    alice = make_person(name="Alice")
    first = setup.receivable(alice, due_date=dt.date(2026, 11, 2), amount=100)
    second = setup.receivable(alice, due_date=dt.date(2026, 11, 10), amount=50)
    other = setup.receivable(company=setup.other_company, due_date=dt.date(2026, 11, 3))
    return alice, first, second, other


@time_machine.travel(TODAY, tick=False)
def test_a_supervisor_starts_the_update_and_follows_it_to_its_run(api_as, supervisor, overdue):
    api = api_as(supervisor)
    started = api.post("/collections/update", {})
    assert started.status_code == 202, started.body
    assert started.body["status"] == "queued" and started.body["run"] is None
    update_id = started.body["id"]
    assert api.get(f"/collections/update/{update_id}").body["status"] == "queued"
    run_queued_tasks()
    done = api.get(f"/collections/update/{update_id}").body
    assert done["status"] == "done" and done["finished_at"]
    run = done["run"]
    assert run["status"] == "done" and run["trigger"] == "api" and run["started_by"]["username"] == "supervisor_t"
    assert run["counts"]["opened"] == 2 and run["counts"]["receivables"] == 3
    assert CollectionRun.objects.get().started_by == supervisor


@time_machine.travel(TODAY, tick=False)
def test_a_second_start_while_one_waits_answers_that_one_and_queues_nothing(api_as, supervisor, admin_user, overdue):
    first = api_as(supervisor).post("/collections/update", {})
    again = api_as(admin_user).post("/collections/update", {"dry_run": True})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.body["id"] == first.body["id"] and again.body["status"] == "queued"
    assert len(run_queued_tasks()) == 1
    run = api_as(admin_user).get(f"/collections/update/{first.body['id']}").body["run"]
    assert run["dry_run"] is False and (run["done"], run["total"]) == (2, 2)
    assert CollectionRun.objects.count() == 1
    # Once it is done, starting again queues another.
    assert api_as(supervisor).post("/collections/update", {}).status_code == 202


@time_machine.travel(TODAY, tick=False)
def test_a_dry_run_through_the_api_changes_nothing(api_as, admin_user, overdue):
    api = api_as(admin_user)
    update_id = api.post("/collections/update", {"dry_run": True}).body["id"]
    run_queued_tasks()
    run = api.get(f"/collections/update/{update_id}").body["run"]
    assert run["dry_run"] is True and run["counts"]["opened"] == 2
    assert api.get("/collections").body["items"] == []


def test_agents_may_not_start_or_follow_the_update(api_as, agent, supervisor, setup):
    assert_error(api_as(agent).post("/collections/update", {}), 403, "forbidden")
    update_id = api_as(supervisor).post("/collections/update", {}).body["id"]
    assert_error(api_as(agent).get(f"/collections/update/{update_id}"), 403, "forbidden")
    assert_error(api_as(None).post("/collections/update", {}), 401)


def test_an_unknown_update_is_404_and_a_bad_body_422(api_as, supervisor, setup):
    api = api_as(supervisor)
    assert_error(api.get("/collections/update/not-an-id"), 404, "not_found")
    assert_error(api.get("/collections/update/5f0c1e9a-7a4e-4a63-9d1e-4b1b8e7f6a01"), 404, "not_found")
    assert_error(api.post("/collections/update", {"dry_run": 1}), 422, "invalid", "dry_run")
    assert_error(api.post("/collections/update", {"now": True}), 422, "invalid", "now")
    assert_error(api.get("/collections/update"), 405)


@time_machine.travel(TODAY, tick=False)
def test_the_open_collections_with_their_receivables_and_totals(api_as, supervisor, agent, setup, overdue):
    alice, first, second, _other = overdue
    api_as(supervisor).post("/collections/update", {})
    run_queued_tasks()
    listed = api_as(agent).get("/collections").body
    assert listed["next_cursor"] is None and len(listed["items"]) == 2
    mine = next(c for c in listed["items"] if c["person"]["id"] == alice.pk)
    assert [r["document"] for r in mine["receivables"]] == [first.document, second.document]
    assert [r["days_overdue"] for r in mine["receivables"]] == [29, 21]
    assert (mine["total_amount"], mine["total_open_balance"]) == ("150.00", "150.00")
    assert mine["next_contact_user"]["username"] == "collector_t" and mine["cr"] == "3.01"
    api = api_as(agent)
    assert [c["person"]["id"] for c in api.get("/collections", person=alice.pk).body["items"]] == [alice.pk]
    assert len(api.get("/collections", company=setup.other_company.code).body["items"]) == 1
    page = api.get("/collections", limit=1).body
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.get("/collections", limit=1, cursor=page["next_cursor"]).body
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    # With access control user × company, an agent given only the second company sees only its collection.
    CrmOptions.objects.filter(pk=1).update(access_control_user_company=True)
    UserCompany.objects.create(user=agent, company=setup.other_company)
    seen = api_as(agent).get("/collections").body["items"]
    assert [c["company"]["code"] for c in seen] == [setup.other_company.code]


@time_machine.travel(TODAY, tick=False)
def test_the_collections_list_reads_the_same_queries_whatever_it_shows(api_as, supervisor, agent, setup):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_as(agent)
    counts = []
    for debtors in (1, 4):
        for _i in range(debtors):
            person = make_person()
            setup.receivable(person, due_date=dt.date(2026, 11, 2))
            setup.receivable(person, due_date=dt.date(2026, 11, 3))
        api_as(supervisor).post("/collections/update", {})
        run_queued_tasks()
        api.get("/collections")  # the token's first use of the test is recorded once
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get("/collections").body["items"]) == (1 if debtors == 1 else 5)
        counts.append(len(queries))
    assert counts[0] == counts[1]

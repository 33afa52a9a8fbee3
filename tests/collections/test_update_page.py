"""The web's "Update collections": the last runs, the button (a task), its progress and result, per role."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from ciclo.collections.models import CollectionItem, CollectionRun, QueuedUpdate
from ciclo.collections.tasks import _recording, start_update
from ciclo.collections.update import update_collections
from ciclo.jobs.worker import run_queued_tasks
from ciclo.tickets.models import Ticket
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def login(client, user):
    client.force_login(user)
    return client


def start(client, follow=False, **data):
    return client.post(reverse("collections_update_start"), data, follow=follow)


def test_agents_get_403_on_every_page_and_do_not_see_the_link(client, agent, collections):
    login(client, agent)
    assert client.get(reverse("collections")).status_code == 403
    assert start(client).status_code == 403
    assert not QueuedUpdate.objects.exists()
    assert client.get(reverse("collections_update", args=["x"])).status_code == 403
    assert client.get(reverse("collections_update_state", args=["x"])).status_code == 403
    assert reverse("collections") not in client.get(reverse("home")).content.decode()


def test_anonymous_users_are_sent_to_log_in(client, collections):
    response = start(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not QueuedUpdate.objects.exists()


@pytest.mark.parametrize("role", ["admin_user", "supervisor"])
def test_administrators_and_supervisors_see_the_page_and_the_link(client, role, request, collections):
    login(client, request.getfixturevalue(role))
    page = client.get(reverse("collections")).content.decode()
    assert 'data-testid="start-update"' in page and "csrfmiddlewaretoken" in page
    assert reverse("collections") in client.get(reverse("home")).content.decode()


def test_the_button_only_takes_a_post(client, supervisor, collections):
    login(client, supervisor)
    assert client.get(reverse("collections_update_start")).status_code == 405


@time_machine.travel(NOW, tick=False)
def test_the_button_starts_the_update_and_the_page_shows_its_result(client, supervisor, collections):
    debtor = make_person(name="Débora")
    collections.receivable(debtor, due_date=dt.date(2026, 11, 2))
    collections.receivable(debtor, due_date=dt.date(2026, 11, 3))
    login(client, supervisor)

    response = start(client)
    assert response.status_code == 302
    follow = response["Location"]
    task_id = follow.rstrip("/").rsplit("/", 1)[-1]
    queued = client.get(follow).content.decode()
    assert 'data-status="queued"' in queued and "every 1s" in queued
    assert not CollectionRun.objects.exists()

    run_queued_tasks()  # what the worker does

    state = client.get(reverse("collections_update_state", args=[task_id])).content.decode()
    assert 'data-status="done"' in state and "every 1s" not in state
    run = CollectionRun.objects.get()
    assert (run.trigger, run.started_by, run.dry_run, run.status) == ("manual", supervisor, False, "done")
    assert run.task_id == task_id and (run.done, run.total) == (1, 1)
    assert 'data-testid="count-opened">1<' in state and 'data-testid="count-receivables">2<' in state
    assert f"/tickets/?service_types={collections.type.pk}" in state
    assert Ticket.objects.filter(service_type=collections.type, person=debtor).count() == 1
    # The page of the last runs lists it, linked to its update.
    listing = client.get(reverse("collections")).content.decode()
    assert f'data-testid="run-{run.pk}"' in listing and reverse("collections_update", args=[task_id]) in listing
    row = listing.split(f'data-testid="run-{run.pk}"')[1].split("</tr>")[0]
    assert "supervisor_t · By hand" in row and "Done" in row
    assert row.count('<td class="text-end">') == 4 and '<td class="text-end">2</td>' in row  # opened … receivables


@time_machine.travel(NOW, tick=False)
def test_a_second_click_while_one_waits_follows_that_one(client, supervisor, admin_user, collections):
    login(client, supervisor)
    first = start(client)["Location"]
    login(client, admin_user)
    second = start(client, follow=True)
    assert second.redirect_chain[-1][0] == first
    assert "already queued or running" in second.content.decode()
    assert len(run_queued_tasks()) == 1
    assert CollectionRun.objects.count() == 1
    # Once it is done, the button starts another.
    assert start(client)["Location"] != first


@time_machine.travel(NOW, tick=False)
def test_a_running_update_shows_its_progress_and_a_second_click_follows_it(client, supervisor, collections):
    started = start_update(by=supervisor, trigger=CollectionRun.Trigger.MANUAL)
    from django_tasks_db.models import DBTaskResult

    # As a worker does: the task is claimed (running) and its run, created, tells how far it is.
    DBTaskResult.objects.filter(id=started.result.id).update(status="RUNNING", started_at=NOW)
    run = CollectionRun.objects.create(started_by=supervisor, task_id=str(started.result.id), done=3, total=12)
    login(client, supervisor)
    again = start(client)
    assert again["Location"] == reverse("collections_update", args=[str(started.result.id)])
    state = client.get(again["Location"]).content.decode()
    assert 'data-status="running"' in state and 'value="25"' in state and "3 of 12 debtors" in state
    # Not known yet (SQLite tells it only at the end): an indeterminate bar and the time it has run.
    CollectionRun.objects.filter(pk=run.pk).update(total=None, done=0)
    with time_machine.travel(NOW + dt.timedelta(seconds=42), tick=False):
        state = client.get(again["Location"]).content.decode()
    assert "42 s so far" in state and "<progress" in state and 'value="' not in state.split("<progress")[1][:80]
    assert 'data-testid="update-state"' in client.get(reverse("collections")).content.decode()


@time_machine.travel(NOW, tick=False)
def test_without_a_collection_type_the_page_says_why_nothing_ran(client, admin_user, collections):
    collections.receivable(make_person())
    collections.options(collection_analytical_type=None)
    login(client, admin_user)
    follow = start(client)["Location"]
    run_queued_tasks()
    state = client.get(follow).content.decode()
    assert 'data-testid="update-error"' in state
    assert "Choose the analytical collection type in the CRM options first." in state
    assert CollectionRun.objects.get().status == "failed" and not Ticket.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_dry_run_says_what_it_would_do_and_changes_nothing(client, supervisor, collections):
    collections.receivable(make_person())
    login(client, supervisor)
    follow = start(client, dry_run="on")["Location"]
    run_queued_tasks()
    state = client.get(follow).content.decode()
    assert "Dry run: nothing was changed" in state and 'data-testid="count-opened">1<' in state
    assert CollectionRun.objects.get().dry_run
    assert not Ticket.objects.exists() and not CollectionItem.objects.exists()


def test_an_unknown_update_is_404(client, supervisor, collections):
    login(client, supervisor)
    assert client.get(reverse("collections_update", args=["not-a-task"])).status_code == 404
    assert (
        client.get(reverse("collections_update_state", args=["5f0c1e9a-7a4e-4a63-9d1e-4b1b8e7f6a01"])).status_code
        == 404
    )
    assert client.get(reverse("collections_update", args=["9" * 80])).status_code == 404


@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite has one writer: the run holds it")
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_progress_is_seen_while_the_update_still_runs(supervisor):
    collections = CollectionSetup()
    for _i in range(3):
        collections.receivable(make_person())
    seen: list[tuple[int, int | None]] = []

    def read_from_another_connection() -> None:
        from django.db import connections

        try:
            seen.append(CollectionRun.objects.filter(task_id="t-1").values_list("done", "total").get())
        finally:
            connections.close_all()

    with _recording("t-1") as writer:

        def progress(done: int, total: int) -> None:
            writer.tell(done, total)
            if done == total == 3 and not seen:  # the last debtor: the run's transaction is still open
                time.sleep(0.8)
                reader = threading.Thread(target=read_from_another_connection)
                reader.start()
                reader.join()

        with time_machine.travel(NOW, tick=True):
            run = update_collections(by=supervisor, progress=progress)
    assert run.status == "done" and run.counts["opened"] == 3
    assert seen == [(3, 3)]

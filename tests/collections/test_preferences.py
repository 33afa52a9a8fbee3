""" "No collection e-mails": one function behind the admin and the API, a history row on the person each time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.collections.models import CollectionPreference
from ciclo.collections.preferences import set_collection_emails
from ciclo.collections.update import update_collections
from ciclo.history.models import Change
from ciclo.people.models import Email, Person
from tests.api.helpers import Api, assert_error
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person

MONDAY = dt.datetime(2026, 11, 9, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def role_groups(db: Any) -> None:
    ensure_role_groups()


def history(person: Person) -> list[tuple[Any, ...]]:
    rows = Change.objects.filter(content_type=ContentType.objects.get_for_model(Person), object_id=str(person.pk))
    return list(rows.order_by("id").values_list("action", "changes", "by__username"))


def api_as(user: Any) -> Api:
    return Api(create_token(user, name="tests")[1] if user is not None else None)


def test_marking_a_person_writes_one_history_row_each_way_and_nothing_when_already_so(db: Any, agent: Any) -> None:
    person = make_person()
    set_collection_emails(person, refused=True, by=agent)
    set_collection_emails(person, refused=True, by=agent)  # already so
    set_collection_emails(person, refused=False, by=agent)

    assert CollectionPreference.objects.get(person=person).no_collection_emails is False
    assert history(person) == [
        ("changed", {"no_collection_emails": [False, True]}, "agent_t"),
        ("changed", {"no_collection_emails": [True, False]}, "agent_t"),
    ]


def test_through_the_api_any_role_that_changes_people_reads_and_sets_it(db: Any, agent: Any) -> None:
    person = make_person()
    api = api_as(agent)
    assert api.get(f"/collections/preferences/{person.pk}").body == {"person": person.pk, "no_collection_emails": False}

    put = api.put(f"/collections/preferences/{person.pk}", {"no_collection_emails": True})
    assert put.status_code == 200 and put.body == {"person": person.pk, "no_collection_emails": True}
    assert api.get(f"/collections/preferences/{person.pk}").body["no_collection_emails"] is True
    assert history(person) == [("changed", {"no_collection_emails": [False, True]}, "agent_t")]


def test_the_api_refuses_a_bad_body_an_unknown_person_and_no_token_changing_nothing(db: Any, agent: Any) -> None:
    person = make_person()
    api = api_as(agent)
    path = f"/collections/preferences/{person.pk}"
    assert_error(api.put(path, {"no_collection_emails": "yes"}), 422, "invalid", "no_collection_emails")
    assert_error(api.put(path, {}), 422, "invalid", "no_collection_emails")
    assert_error(api.put(path, {"no_collection_emails": True, "why": "x"}), 422, "invalid", "why")
    assert_error(api.put("/collections/preferences/999999", {"no_collection_emails": True}), 404, "not_found")
    assert_error(api_as(None).put(path, {"no_collection_emails": True}), 401)
    no_role = User.objects.create_user("norole_t", password="x")
    assert_error(api_as(no_role).put(path, {"no_collection_emails": True}), 403, "forbidden")
    assert not CollectionPreference.objects.filter(no_collection_emails=True).exists() and not history(person)


def test_in_the_admin_an_administrator_adds_and_changes_it_with_the_persons_history(
    client: Any, db: Any, admin_user: Any
) -> None:
    person = make_person()
    client.force_login(admin_user)
    added = client.post(
        reverse("admin:collections_collectionpreference_add"), {"person": person.pk, "no_collection_emails": "on"}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    preference = CollectionPreference.objects.get(person=person)
    assert preference.no_collection_emails is True
    changed = client.post(reverse("admin:collections_collectionpreference_change", args=[preference.pk]), {})
    assert changed.status_code == 302
    assert CollectionPreference.objects.get(pk=preference.pk).no_collection_emails is False
    assert [(c[1], c[2]) for c in history(person)] == [
        ({"no_collection_emails": [False, True]}, admin_user.username),
        ({"no_collection_emails": [True, False]}, admin_user.username),
    ]
    delete = reverse("admin:collections_collectionpreference_delete", args=[preference.pk])
    assert client.post(delete).status_code == 403


def test_the_update_emails_no_one_marked_through_the_api(
    collections: CollectionSetup, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    collections.options(email_debtor_on_collection=True)
    refusing, willing = make_person(), make_person()
    for person, address in ((refusing, "no@example.com"), (willing, "yes@example.com")):
        Email.objects.create(person=person, address=address)
        collections.receivable(person)
    api_as(agent).put(f"/collections/preferences/{refusing.pk}", {"no_collection_emails": True})

    with time_machine.travel(MONDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        run = update_collections(at=MONDAY)

    assert run.counts["opened"] == 2 and run.counts["emailed"] == 1

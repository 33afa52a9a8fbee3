"""Administrative statuses through the configuration's one home, and the CRM options' collection rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from ciclo.collections.models import AdministrativeStatus
from ciclo.configurator.changes import (
    ConfigurationInvalid,
    delete,
    save_administrative_status,
    save_crm_options,
    set_active,
)
from ciclo.configurator.items import AdministrativeStatusItem
from ciclo.configurator.models import ServiceType
from ciclo.configurator.validation import Rule
from ciclo.history.models import Change
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person


def item(code: str, **kw: Any) -> AdministrativeStatusItem:
    kw.setdefault("description", f"Situação {code}")
    return AdministrativeStatusItem(code=code, **kw)


def test_statuses_make_a_tree_with_a_history_row_each(collections: CollectionSetup, admin_user: Any) -> None:
    group = save_administrative_status(item("1", kind="synthetic"), admin_user)
    child = save_administrative_status(item("1.1", enters_collection=False), admin_user)

    assert child.parent == group and not child.enters_collection
    assert Change.objects.filter(action=Change.Action.CREATED, object_id=str(child.pk)).exists()
    changed = save_administrative_status(item("1.1", description="Em acordo"), admin_user, child)
    assert changed.description == "Em acordo" and changed.enters_collection
    assert Change.objects.filter(action=Change.Action.CHANGED, object_id=str(child.pk)).exists()


def test_a_repeated_classification_is_refused_naming_the_field(collections: CollectionSetup, admin_user: Any) -> None:
    save_administrative_status(item("2"), admin_user)

    with pytest.raises(ConfigurationInvalid) as err:
        save_administrative_status(item("2"), admin_user)

    assert err.value.rules == {Rule.DUPLICATE} and err.value.problems[0].path == "code"
    assert AdministrativeStatus.objects.count() == 1


def test_a_status_receivables_carry_keeps_its_kind_and_is_not_deleted(
    collections: CollectionSetup, admin_user: Any
) -> None:
    status = save_administrative_status(item("3"), admin_user)
    collections.receivable(make_person(), administrative_status=status)

    with pytest.raises(ConfigurationInvalid) as err:
        save_administrative_status(item("3", kind="synthetic"), admin_user, status)
    assert err.value.rules == {Rule.USED_TYPE_KIND}
    with pytest.raises(ConfigurationInvalid) as err:
        delete(status, admin_user)
    assert err.value.rules == {Rule.IN_USE}
    assert set_active(status, False, admin_user)
    status.refresh_from_db()
    assert not status.active


def test_a_group_with_statuses_under_it_stays_a_group(collections: CollectionSetup, admin_user: Any) -> None:
    group = save_administrative_status(item("4", kind="synthetic"), admin_user)
    save_administrative_status(item("4.1"), admin_user)

    with pytest.raises(ConfigurationInvalid) as err:
        save_administrative_status(item("4", kind="analytical"), admin_user, group)
    assert err.value.rules == {Rule.ORPHANED_TYPES}


def test_an_administrator_adds_a_status_in_the_admin_and_a_repeated_one_is_refused_on_its_field(
    client: Any, collections: CollectionSetup, admin_user: Any
) -> None:
    client.force_login(admin_user)
    url = reverse("admin:collections_administrativestatus_add")
    data = {"code": "5", "description": "Jurídico", "kind": "analytical", "active": "on"}

    assert client.post(url, data).status_code == 302
    status = AdministrativeStatus.objects.get(code="5")
    assert not status.enters_collection  # the checkbox left off
    assert Change.objects.filter(object_id=str(status.pk), by=admin_user).exists()
    again = client.post(url, data)
    assert again.status_code == 200 and "Another administrative status" in again.content.decode()


def test_the_collection_types_must_be_an_analytical_type_under_the_synthetic_one(
    collections: CollectionSetup, admin_user: Any
) -> None:
    stray = ServiceType.objects.create(
        code="9.1", description="Outro", kind="analytical", workflow=collections.workflow
    )

    with pytest.raises(ConfigurationInvalid) as err:
        save_crm_options({"collection_analytical_type": stray}, by=admin_user)
    assert Rule.COLLECTION_UNDER in err.value.rules
    with pytest.raises(ConfigurationInvalid) as err:
        save_crm_options({"collection_analytical_type": collections.group}, by=admin_user)
    assert Rule.INVALID in err.value.rules


def test_the_collection_types_are_locked_once_a_collection_exists(
    collections: CollectionSetup, admin_user: Any
) -> None:
    import datetime as dt

    import time_machine

    from ciclo.collections.update import update_collections

    other = ServiceType.objects.create(
        code="3.2", description="Outra cobrança", kind="analytical", workflow=collections.workflow
    )
    save_crm_options({"collection_analytical_type": other}, by=admin_user)  # no collection yet: allowed
    save_crm_options({"collection_analytical_type": collections.type}, by=admin_user)
    collections.receivable(make_person())
    now = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        update_collections(at=now)

    with pytest.raises(ConfigurationInvalid) as err:
        save_crm_options({"collection_analytical_type": other}, by=admin_user)
    assert err.value.rules == {Rule.COLLECTION_LOCKED}

"""The sales settings of the configuration (a type's sales flag, a CR's default success and days to go
stale) go through the one configuration module: the same rule refuses the same value from the admin,
the API and a definitions file, and each change leaves its history row."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.configurator import changes
from ciclo.configurator.changes import ConfigurationInvalid
from ciclo.configurator.definitions import apply_import, export_bundle, plan_import
from ciclo.configurator.items import CrItem
from ciclo.configurator.models import ResponsibilityCenter, ServiceType
from ciclo.history.models import Change
from tests.api.helpers import Api, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user: Any) -> Api:
    ensure_role_groups()
    return Api(create_token(admin_user, name="tests")[1])


@pytest.fixture
def staff(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def cr_history(code: str) -> list[Change]:
    cr = ResponsibilityCenter.objects.get(code=code)
    return list(Change.objects.filter(object_id=str(cr.pk), content_type__model="responsibilitycenter"))


# -- the domain function ------------------------------------------------------------------------


def test_saving_a_cr_keeps_its_sales_settings_with_a_history_row(sales, admin_user):
    item = changes.cr_item(sales.cr_proposal).model_copy(update={"default_success": 40, "stale_after_days": 7})
    changes.save_cr(item, admin_user, saved=sales.cr_proposal)
    sales.cr_proposal.refresh_from_db()
    assert (sales.cr_proposal.default_success, sales.cr_proposal.stale_after_days) == (40, 7)
    (change,) = cr_history("2")
    assert change.changes["default_success"] == [None, 40] and change.changes["stale_after_days"] == [None, 7]


def test_a_success_over_100_is_refused_naming_the_field(sales, admin_user):
    item = CrItem.model_construct(code="4", description="Fora da escala", default_success=101)
    with pytest.raises(ConfigurationInvalid) as err:
        changes.save_cr(item, admin_user)
    assert [p.path for p in err.value.problems] == ["default_success"]
    assert not ResponsibilityCenter.objects.filter(code="4").exists()


# -- the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [101, -1, "ten"])
def test_the_api_refuses_a_success_out_of_0_to_100(api, sales, value):
    response = api.patch("/config/crs/2", {"default_success": value})
    assert_error(response, 422, "invalid", "default_success")
    sales.cr_proposal.refresh_from_db()
    assert sales.cr_proposal.default_success is None and cr_history("2") == []


def test_the_api_sets_and_clears_the_sales_settings(api, sales):
    response = api.patch("/config/crs/2", {"default_success": 40, "stale_after_days": 7})
    assert response.status_code == 200, response.body
    assert (response.body["default_success"], response.body["stale_after_days"]) == (40, 7)
    response = api.patch("/config/crs/2", {"default_success": None})
    assert response.body["default_success"] is None and response.body["stale_after_days"] == 7
    assert len(cr_history("2")) == 2


def test_the_api_marks_a_group_as_sales_and_its_types_follow(api, sales):
    response = api.patch("/config/service-types/1", {"sales": True})
    assert response.status_code == 200, response.body
    assert response.body["sales"] is True and response.body["is_sales_type"] is True
    child = api.get("/config/service-types/1.1").body
    assert child["sales"] is False and child["is_sales_type"] is True
    listed = {t["code"]: t["is_sales_type"] for t in api.get("/config/service-types").body}
    assert listed == {"1": True, "1.1": True}
    (change,) = Change.objects.filter(content_type__model="servicetype", object_id=str(sales.group.pk))
    assert change.changes["sales"] == [False, True]


# -- the admin ----------------------------------------------------------------------------------


def cr_form(**values: Any) -> dict[str, Any]:
    return {"code": "4", "description": "Fechamento", "active": "on", **values}


def test_the_admin_refuses_a_success_over_100_on_its_field(staff, sales):
    response = staff.post(reverse("admin:configurator_responsibilitycenter_add"), cr_form(default_success="150"))
    assert response.status_code == 200
    assert "default_success" in response.context["adminform"].form.errors
    assert not ResponsibilityCenter.objects.filter(code="4").exists()


def test_the_admin_saves_the_sales_settings_with_a_history_row(staff, sales):
    response = staff.post(
        reverse("admin:configurator_responsibilitycenter_add"), cr_form(default_success="80", stale_after_days="3")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    cr = ResponsibilityCenter.objects.get(code="4")
    assert (cr.default_success, cr.stale_after_days) == (80, 3)
    (change,) = cr_history("4")
    assert change.action == Change.Action.CREATED and change.changes["default_success"] == [None, 80]


def test_the_admin_marks_a_type_as_sales(staff, sales):
    url = reverse("admin:configurator_servicetype_change", args=[sales.group.pk])
    form = staff.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    data["sales"] = "on"
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sales.type.refresh_from_db()
    assert sales.type.is_sales_type()


# -- definitions files --------------------------------------------------------------------------


def test_the_export_carries_the_sales_settings_and_importing_it_changes_nothing(sales, admin_user):
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    ResponsibilityCenter.objects.filter(pk=sales.cr_proposal.pk).update(default_success=40, stale_after_days=7)
    data = export_bundle()
    proposal = next(c for c in data["responsibility_centers"] if c["code"] == "2")
    assert (proposal["default_success"], proposal["stale_after_days"]) == (40, 7)
    assert {t["code"]: t["sales"] for t in data["service_types"]} == {"1": True, "1.1": False}
    before = Change.objects.count()
    plan = apply_import(data, admin_user)
    assert plan.is_valid and Change.objects.count() == before


def test_a_file_with_a_success_over_100_is_refused_at_its_path(sales):
    data = export_bundle()
    data["responsibility_centers"][1]["default_success"] = 120
    plan = plan_import(data)
    assert not plan.is_valid
    assert [p.path for p in plan.errors] == ["responsibility_centers[1].default_success"]


def test_the_demo_configuration_marks_its_sales_group(admin_user):
    from pathlib import Path

    from ciclo.configurator.definitions import parse
    from tests.factory import make_user

    make_user("agente1")
    make_user("agente2")
    text = (Path(__file__).parents[2] / "ciclo" / "definitions" / "demo.yaml").read_text()
    plan = apply_import(parse(text, "yaml"), admin_user)
    assert plan.is_valid, plan.errors
    assert {t.code for t in ServiceType.objects.sales_types()} == {"1", "1.1", "1.2"}
    won = ResponsibilityCenter.objects.get(code="1.91")
    assert won.default_success == 100
    assert ResponsibilityCenter.objects.get(code="1.01").stale_after_days == 15

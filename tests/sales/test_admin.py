"""The sales lists in the admin: environments, lost reasons and days off, with history; in use, deactivated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ciclo.history.models import Change
from ciclo.sales.models import DayOff, Environment, LostReason, SalesContact
from tests.factory import make_company, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def history(obj: Any) -> list[str]:
    return [
        c.action for c in Change.objects.filter(object_id=str(obj.pk), content_type__model=type(obj)._meta.model_name)
    ]


@pytest.mark.parametrize("model", [Environment, LostReason])
def test_an_admin_adds_an_entry_with_its_history_row(staff, model):
    url = reverse(f"admin:sales_{model._meta.model_name}_add")
    response = staff.post(url, {"name": "Planilhas", "position": "1", "active": "on"})
    assert response.status_code == 302
    entry = model.objects.get(name="Planilhas")
    assert history(entry) == [Change.Action.CREATED]


@pytest.mark.parametrize("model", [Environment, LostReason])
def test_a_name_taken_in_another_case_is_refused_on_its_form(staff, model):
    model.objects.create(name="Planilhas")
    url = reverse(f"admin:sales_{model._meta.model_name}_add")
    response = staff.post(url, {"name": "PLANILHAS", "position": "0", "active": "on"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert model.objects.count() == 1


def test_an_environment_in_use_is_not_deleted_but_deactivated(staff, sales, admin_user):
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    environment = Environment.objects.create(name="Planilhas")
    ticket = make_ticket(sales, admin_user)
    SalesContact.objects.filter(pk=ticket.pk).update(environment=environment)
    url = reverse("admin:sales_environment_delete", args=[environment.pk])
    response = staff.post(url, {"post": "yes"}, follow=True)
    assert Environment.objects.filter(pk=environment.pk).exists()
    assert "cannot delete" in response.content.decode().lower()
    changelist = reverse("admin:sales_environment_changelist")
    response = staff.post(changelist, {"action": "deactivate_selected", "_selected_action": [environment.pk]})
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.active is False
    assert history(environment) == [Change.Action.DEACTIVATED]


def test_a_day_off_of_a_company_and_of_every_company(staff):
    company = make_company()
    url = reverse("admin:sales_dayoff_add")
    response = staff.post(url, {"date": "18/11/2026", "description": "Inventário", "company": company.pk})
    if response.status_code != 302:  # the admin's date input in English
        response = staff.post(url, {"date": "2026-11-18", "description": "Inventário", "company": company.pk})
    assert response.status_code == 302, response.context["adminform"].form.errors
    staff.post(url, {"date": "2026-11-18", "description": "Geral", "company": ""})
    assert DayOff.objects.filter(date=dt.date(2026, 11, 18)).count() == 2
    response = staff.post(url, {"date": "2026-11-18", "description": "De novo", "company": ""})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    day = DayOff.objects.get(company=company)
    assert history(day) == [Change.Action.CREATED]

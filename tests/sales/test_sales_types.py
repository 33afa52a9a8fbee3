"""Which service types are sales types: the flag on the type or on a group above it."""

from __future__ import annotations

import pytest

from ciclo.configurator.models import ServiceType

pytestmark = pytest.mark.django_db


def test_a_type_under_a_sales_group_is_a_sales_type(sales):
    assert not sales.type.is_sales_type()
    assert list(ServiceType.objects.sales_types()) == []
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    sales.type.refresh_from_db()
    assert sales.type.is_sales_type()
    assert set(ServiceType.objects.sales_types()) == {sales.group, sales.type}


def test_the_flag_on_a_type_does_not_mark_its_group(sales):
    sales.type.sales = True
    sales.type.save(update_fields=["sales"])
    assert sales.type.is_sales_type()
    assert not sales.group.is_sales_type()
    assert list(ServiceType.objects.sales_types()) == [sales.type]


def test_the_flag_is_inherited_through_every_level(sales):
    sub = ServiceType.objects.create(code="1.2", description="Revendas", kind=ServiceType.Kind.SYNTHETIC)
    leaf = ServiceType.objects.create(code="1.2.1", description="Revenda", workflow=sales.workflow)
    assert leaf.parent == sub and sub.parent == sales.group
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    leaf.refresh_from_db()
    assert leaf.is_sales_type()
    assert leaf in ServiceType.objects.sales_types()

from __future__ import annotations

import pytest

from ciclo.configurator.models import ResponsibilityCenter
from ciclo.sales.models import Environment, LostReason
from tests.factory import SalesSetup


@pytest.fixture
def selling(sales: SalesSetup) -> SalesSetup:
    """The sales setup as a sales type (its group marked), each phase with its default success, and the lists."""
    sales.group.sales = True
    sales.group.save(update_fields=["sales"])
    for cr, success, stale in (
        (sales.cr_prospect, 10, 5),
        (sales.cr_proposal, 40, 7),
        (sales.cr_negotiation, 70, 10),
        (sales.cr_closed, 100, None),
    ):
        ResponsibilityCenter.objects.filter(pk=cr.pk).update(default_success=success, stale_after_days=stale)
        cr.refresh_from_db()
    sales.environment = Environment.objects.create(name="Planilhas")
    sales.lost_price = LostReason.objects.create(name="Preço")
    sales.lost_old = LostReason.objects.create(name="Desistiu", active=False)
    return sales

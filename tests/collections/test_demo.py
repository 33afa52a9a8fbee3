"""The demo's collections: statuses, receivables of several debtors, and collection tickets made by an update."""

from __future__ import annotations

from ciclo.collections.models import AdministrativeStatus, CollectionItem, CollectionRun, Receivable
from ciclo.configurator.models import CrmOptions
from tests.test_demo import Loaded, demo, loaded  # noqa: F401  (fixtures)


def test_the_demo_has_statuses_receivables_and_collections(loaded: Loaded) -> None:  # noqa: F811
    assert AdministrativeStatus.objects.filter(kind="synthetic").count() == 2
    assert AdministrativeStatus.objects.filter(enters_collection=False, kind="analytical").exists()
    assert Receivable.objects.values("person").distinct().count() > 10
    assert Receivable.objects.filter(open_balance=0).exists()
    run = CollectionRun.objects.get()
    assert run.status == CollectionRun.Status.DONE and run.counts["receivables"] > 0
    items = CollectionItem.objects.filter(released_at=None).select_related("receivable__kind", "ticket")
    assert items.exists()
    assert all(i.receivable.kind.collected and i.ticket.service_type.code == "3.1" for i in items)
    assert CrmOptions.current().automatic_note_user.username == "supervisor"

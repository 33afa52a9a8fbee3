"""A collection workflow, its types in the CRM options, and a plain factory of receivables."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest

from ciclo.accounts.roles import Role
from ciclo.collections.models import AdministrativeStatus, CollectionKind, Receivable
from ciclo.configurator.models import CrmOptions, ServiceType, Workflow, WorkflowStep
from ciclo.people.models import Person
from tests.factory import make_company, make_cr, make_person, make_user
from tests.test_jobs import needs_postgres, processes  # noqa: F401  (fixtures of the process tests)
from tests.test_mail import inbox, run_worker  # noqa: F401  (fixtures of the e-mail tests)

_seq = itertools.count(1)


class CollectionSetup:
    """Workflow "cobranca": 0 CR 3.01 Contato → 5 CR 3.02 Acordo → 10 CR 3.91 Encerrada (closes).

    Types 3 (synthetic) and 3.1 (analytical, the collection type of the CRM options); the update's
    notes are signed by `robot` (a supervisor), collections delegated to `collector` (an agent).
    """

    def __init__(self) -> None:
        self.cr_contact = make_cr("3.01", description="Contato")
        self.cr_agreement = make_cr("3.02", description="Acordo")
        self.cr_closed = make_cr("3.91", description="Encerrada", closes_process=True)
        self.workflow = Workflow.objects.create(code="cobranca", description="Cobrança")
        w = self.workflow
        self.step_contact = WorkflowStep.objects.create(
            workflow=w, order=0, kind="cr", cr=self.cr_contact, next_order=5
        )
        WorkflowStep.objects.create(workflow=w, order=5, kind="cr", cr=self.cr_agreement, next_order=10)
        self.step_closed = WorkflowStep.objects.create(workflow=w, order=10, kind="cr", cr=self.cr_closed)
        self.group = ServiceType.objects.create(
            code="3", description="Cobrança", kind=ServiceType.Kind.SYNTHETIC, category=ServiceType.Category.COLLECTION
        )
        self.type = ServiceType.objects.create(
            code="3.1",
            description="Títulos vencidos",
            kind=ServiceType.Kind.ANALYTICAL,
            category=ServiceType.Category.COLLECTION,
            workflow=w,
            days_to_next_contact=3,
        )
        self.robot = make_user("robot_t", Role.SUPERVISOR)
        self.collector = make_user("collector_t", Role.AGENT)
        self.company = make_company(code="E1", name="Matriz")
        self.other_company = make_company(code="E2", name="Filial")
        self.normal, _ = CollectionKind.objects.get_or_create(code="normal", defaults={"name": "Normal"})
        self.discounted, _ = CollectionKind.objects.get_or_create(
            code="descontado", defaults={"name": "Descontado", "collected": False}
        )
        CrmOptions.objects.update_or_create(
            pk=1,
            defaults={
                "collection_synthetic_type": self.group,
                "collection_analytical_type": self.type,
                "collection_delegate_user": self.collector,
                "automatic_note_user": self.robot,
                "collection_days_overdue": 5,
                "collection_grouping": CrmOptions.CollectionGrouping.PERSON,
                "email_debtor_on_collection": False,
            },
        )

    def options(self, **values: Any) -> None:
        CrmOptions.objects.filter(pk=1).update(**values)

    def receivable(self, person: Person | None = None, **kw: Any) -> Receivable:
        n = next(_seq)
        kw.setdefault("company", self.company)
        kw.setdefault("document", f"NF{n:05d}")
        kw.setdefault("instalment", "1")
        kw.setdefault("issue_date", dt.date(2026, 10, 1))
        kw.setdefault("due_date", dt.date(2026, 11, 2))
        kw.setdefault("amount", Decimal("100.00"))
        kw.setdefault("open_balance", kw["amount"])
        kw.setdefault("kind", self.normal)
        return Receivable.objects.create(person=person or make_person(), **kw)

    def status(self, code: str, *, enters: bool = True, kind: str = "analytical") -> AdministrativeStatus:
        return AdministrativeStatus.objects.create(
            code=code, description=f"Situação {code}", kind=kind, enters_collection=enters
        )


@pytest.fixture
def collections(db: Any) -> CollectionSetup:
    return CollectionSetup()


@pytest.fixture
def collections_tx(transactional_db: Any) -> CollectionSetup:
    return CollectionSetup()

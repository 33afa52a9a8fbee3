from __future__ import annotations

from typing import Any

import pytest

from ciclo.accounts.roles import ensure_role_groups
from ciclo.accounts.tokens import create_token
from ciclo.collections.models import AdministrativeStatus, CollectionKind
from tests.api.helpers import Api
from tests.factory import make_company, make_person


@pytest.fixture(autouse=True)
def role_groups(db):
    ensure_role_groups()


@pytest.fixture
def api_as(db):
    def make(user: Any) -> Api:
        return Api(create_token(user, name="tests")[1] if user is not None else None)

    return make


class Ledger:
    """Two companies, three debtors, the two kinds every site has and a small tree of statuses."""

    def __init__(self) -> None:
        self.company = make_company(code="MTZ", name="Matriz")
        self.branch = make_company(code="FIL", name="Filial")
        self.alice = make_person(name="Alice Devedora")
        self.bruno = make_person(name="Bruno Devedor")
        self.carla = make_person(name="Carla Devedora")
        # Made by a data migration; a test on a transactional database flushes them, so they are made again.
        self.normal, _ = CollectionKind.objects.get_or_create(code="normal", defaults={"name": "Normal"})
        self.discounted, _ = CollectionKind.objects.get_or_create(
            code="descontado", defaults={"name": "Descontado", "collected": False}
        )
        self.group = AdministrativeStatus.objects.create(
            code="1", description="Em cobrança", kind=AdministrativeStatus.Kind.SYNTHETIC
        )
        self.lawyer = AdministrativeStatus.objects.create(
            code="1.1", description="Com advogado", enters_collection=False
        )
        self.agreement = AdministrativeStatus.objects.create(code="1.2", description="Acordo")

    def row(self, **kw: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "company": self.company.code,
            "document": "NF-100",
            "instalment": "1",
            "person": self.alice.pk,
            "issue_date": "2026-10-01",
            "due_date": "2026-11-01",
            "amount": "1500.00",
            "open_balance": "1500.00",
            "kind": "normal",
            "administrative_status": None,
        }
        row.update(kw)
        return row


@pytest.fixture
def ledger(db) -> Ledger:
    return Ledger()

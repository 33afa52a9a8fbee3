"""The demo's collections: administrative statuses, receivables of several debtors (some overdue, some paid,
one descontado), and an update run so collection tickets exist. Called by ciclo.demo_data.load_demo."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.collections.models import AdministrativeStatus, CollectionRun, Receivable
from ciclo.collections.receivables import ReceivableRow, upsert_receivables
from ciclo.collections.update import update_collections
from ciclo.configurator.changes import save_administrative_status
from ciclo.configurator.items import AdministrativeStatusItem
from ciclo.people.models import Company, Person

# Classification, description, kind, enters collection.
STATUSES = [
    ("1", "Em cobrança", "synthetic", True),
    ("1.1", "Cobrança amigável", "analytical", True),
    ("1.2", "Protesto em cartório", "analytical", True),
    ("2", "Fora de cobrança", "synthetic", False),
    ("2.1", "Acordo em andamento", "analytical", False),
    ("2.2", "Jurídico", "analytical", False),
]
DEBTORS = 24


class DemoCollectionsError(Exception):
    pass


def ensure_collections(
    *, admin: Any, signer: Any, companies: Sequence[Company], people: Sequence[Person], seed: int = 7
) -> dict[str, int]:
    """Load what is missing of the demo's collections; returns what was made."""
    made = {"statuses": 0, "receivables": 0, "opened": 0}
    for code, description, kind, enters in STATUSES:
        if not AdministrativeStatus.objects.filter(code=code).exists():
            item = AdministrativeStatusItem(
                code=code,
                description=description,
                kind=kind,  # type: ignore[arg-type]
                enters_collection=enters,
            )
            save_administrative_status(item, admin)
            made["statuses"] += 1
    if Receivable.objects.exists():
        return made
    rng = random.Random(seed)
    today = timezone.localdate()
    rows = []
    for n, person in enumerate(rng.sample(list(people), min(DEBTORS, len(people)))):
        company = companies[n % len(companies)]
        for instalment in range(1, rng.randint(2, 4)):
            # Two debtors in three overdue (10 to 90 days), the others due later.
            days = rng.randint(10, 90) if n % 3 else -rng.randint(5, 40)
            due = today - dt.timedelta(days=days) + dt.timedelta(days=30 * (instalment - 1))
            amount = Decimal(rng.randrange(8_000, 250_000)) / 100
            paid = n % 7 == 0 and instalment == 1
            rows.append(
                ReceivableRow(
                    company=company.code,
                    document=f"NF{5000 + n}",
                    instalment=str(instalment),
                    person=person.pk,
                    issue_date=due - dt.timedelta(days=30),
                    due_date=due,
                    amount=amount,
                    open_balance=Decimal("0") if paid else amount,
                    kind="descontado" if n % 11 == 5 else "normal",
                    administrative_status=rng.choice(["1.1", "1.1", "1.1", "1.2", "2.1", "2.2", None, None]),
                )
            )
    report = upsert_receivables(rows, by=admin, source="import", all_or_nothing=True)
    if report.refused:
        raise DemoCollectionsError(
            _("The demo's receivables were refused: %(problems)s") % {"problems": report.refused[:3]}
        )
    made["receivables"] = report.created
    run = update_collections(by=signer, trigger=CollectionRun.Trigger.COMMAND)
    if run.status != CollectionRun.Status.DONE:
        raise DemoCollectionsError(run.error)
    made["opened"] = int(run.counts.get("opened", 0))
    return made

"""The ledger of the tickets that existed before it: their stays, from their moves."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from ciclo.insight.ledger import rebuild

    rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0001_phase_ledger"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

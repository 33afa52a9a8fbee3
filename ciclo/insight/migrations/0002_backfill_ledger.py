"""The ledger of the tickets that existed before it: their stays, from their moves."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    """Written by 0004 now, with the columns and summaries that came later (the ledger's code is today's)."""


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0001_phase_ledger"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

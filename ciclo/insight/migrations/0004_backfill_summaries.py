"""The ledger written again from the moves (each stay with the time spent in its phase before it). The
summaries are written from the ledger and the answers by 0006, once they have the shape they have now."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from ciclo.insight.ledger import rebuild

    rebuild(apps=apps, with_summaries=False)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0003_summaries"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

"""The ledger written again from the moves (each stay with the time spent in its phase before it), and
the summaries from the ledger and the answers."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from ciclo.insight.ledger import rebuild

    rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0003_summaries"),
        ("sales", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

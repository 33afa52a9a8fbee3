"""The summaries written again from the raw rows: the open stays' in their new shape, the notes' and
the sales contacts' for the first time."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from ciclo.insight.summaries import rebuild

    rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0005_tallies_notes_sales_open_stays"),
        ("sales", "0001_initial"),
        ("tickets", "0008_note_created_author"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

"""The summaries written again from the raw rows, the notes' and the sales contacts' among them."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    from ciclo.insight.summaries import rebuild

    rebuild(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("insight", "0005_notes_and_sales_tallies"),
        ("sales", "0001_initial"),
        ("tickets", "0008_note_created_author"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

"""Tickets are searched by any word of their subject and notes, accents ignored: a folded copy on the ticket.

The engine keeps it (opening.py, routing.py); this fills it for the tickets there are. On
PostgreSQL a pg_trgm GIN index serves `search_text LIKE '%word%'`.
"""

from django.db import migrations, models

BATCH = 1000


def fill_search_text(apps, schema_editor):
    from ciclo.people.text import fold_all

    Ticket = apps.get_model("tickets", "Ticket")
    Note = apps.get_model("tickets", "Note")
    db = schema_editor.connection.alias
    last = 0
    while True:
        batch = list(Ticket.objects.using(db).filter(pk__gt=last).order_by("pk").only("pk", "subject")[:BATCH])
        if not batch:
            return
        texts: dict[int, list[str]] = {t.pk: [] for t in batch}
        notes = Note.objects.using(db).filter(ticket_id__in=list(texts)).order_by("created_at", "id")
        for ticket_id, text in notes.values_list("ticket_id", "text"):
            texts[ticket_id].append(text)
        for ticket in batch:
            ticket.search_text = fold_all(ticket.subject, *texts[ticket.pk])
        Ticket.objects.using(db).bulk_update(batch, ["search_text"])
        last = batch[-1].pk


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS ticket_search_text_trgm ON tickets_ticket USING gin (search_text gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_search_text_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_alter_answer_answer_type"),
        ("people", "0003_person_search_key"),  # creates the pg_trgm extension
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_text",
            field=models.TextField(db_default="", default="", editable=False, verbose_name="search text"),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]

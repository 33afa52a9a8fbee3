"""People are searched by any word of their name, trade name or document: a folded search key.

On PostgreSQL a pg_trgm GIN index serves `search_key LIKE '%word%'`; SQLite reads the key
itself (LIKE over 200,000 short keys stays within the search's budget: bench/people_search.py).
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

BATCH = 2000


def fill_search_keys(apps, schema_editor):
    from ciclo.people.models import search_key

    Person = apps.get_model("people", "Person")
    db = schema_editor.connection.alias
    last = 0
    while True:
        batch = list(Person.objects.using(db).filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        for person in batch:
            person.search_key = search_key(person.name, person.trade_name, person.document)
        Person.objects.using(db).bulk_update(batch, ["search_key"])
        last = batch[-1].pk


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS person_search_key_trgm ON people_person USING gin (search_key gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS person_search_key_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_alter_person_notes"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="search_key",
            field=models.TextField(db_default="", default="", editable=False, verbose_name="search text"),
        ),
        migrations.AlterConstraint(
            model_name="person",
            name="person_document_unique",
            constraint=models.UniqueConstraint(
                condition=models.Q(("document", ""), _negated=True),
                fields=("document",),
                name="person_document_unique",
                violation_error_code="unique",
                violation_error_message="Another person already has this CPF/CNPJ.",
            ),
        ),
        migrations.RunPython(fill_search_keys, migrations.RunPython.noop, elidable=True),
        # Both are no-ops on SQLite (CreateExtension checks the vendor itself).
        TrigramExtension(),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]

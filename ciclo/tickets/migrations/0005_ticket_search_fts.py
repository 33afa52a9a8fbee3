"""On SQLite, tickets' folded text is also indexed by an FTS5 trigram table: a rare word is found fast.

SQLite has no index for `search_text LIKE '%word%'`: the LIKE reads every ticket's text
(200–500 ms over 1,000,000 tickets when few match). An FTS5 table with the trigram tokenizer
(SQLite ≥ 3.34) answers the same substring question from an index (bench/people_search.py):
tickets_ticket_search, an external-content table over tickets_ticket.search_text (it keeps
no copy of the text), kept in step by triggers, so every write — the engine's, the ORM's,
plain SQL — updates it in the same transaction. Filled here for the tickets there are.

Raw SQL because the ORM has no FTS5 table or trigger (the statements are people's 0004's,
for this table). A no-op on PostgreSQL, where the pg_trgm GIN index of 0003 serves the LIKE.

Beware: Django rebuilds a SQLite table for some schema changes (a copy, the old one dropped,
the copy renamed), and dropping the table drops its triggers. A later migration that rebuilds
tickets_ticket must create them again; tests/test_people_search.py checks they exist.
"""

from importlib import import_module

from django.db import migrations

fts_sql = import_module("ciclo.people.migrations.0004_person_search_fts").fts_sql


def create_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in fts_sql("tickets_ticket", "search_text")[0]:
            schema_editor.execute(sql)


def drop_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in fts_sql("tickets_ticket", "search_text")[1]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_crunlock_reason_and_relock"),
        ("people", "0004_person_search_fts"),
    ]

    operations = [
        migrations.RunPython(create_fts, drop_fts),
    ]

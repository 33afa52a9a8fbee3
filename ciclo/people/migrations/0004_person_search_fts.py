"""On SQLite, people's folded search key is also indexed by an FTS5 trigram table: a rare word is found fast.

SQLite has no index for `search_key LIKE '%word%'`: over 200,000 people the LIKE reads every
key (55–90 ms when few match, bench/people_search.py). An FTS5 table with the trigram tokenizer
(SQLite ≥ 3.34) answers the same substring question from an index. It is an external-content
table over people_person.search_key (it keeps no copy of the text), kept in step by triggers,
so every write — the model's save, an update, plain SQL — updates it in the same transaction.
Filled here for the people there are.

Raw SQL because the ORM has no FTS5 table or trigger. A no-op on PostgreSQL, where the
pg_trgm GIN index of 0003 serves the LIKE.

Beware: Django rebuilds a SQLite table for some schema changes (a copy, the old one dropped,
the copy renamed), and dropping the table drops its triggers. A later migration that rebuilds
people_person must create them again (`fts_sql`); tests/test_people_search.py checks they exist.
"""

from django.db import migrations


def fts_sql(table: str, column: str) -> tuple[list[str], list[str]]:
    """The statements that make `table`'s FTS5 trigram index over `column` and fill it, and those that drop it."""
    fts = f"{table}_search"
    create = [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"{column}, content='{table}', content_rowid='id', tokenize='trigram case_sensitive 0')",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN
            INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column});
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN
            INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {table}
            WHEN old.{column} IS NOT new.{column} BEGIN
            INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});
            INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column});
        END""",
        f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')",
    ]
    drop = [f"DROP TRIGGER IF EXISTS {fts}_{name}" for name in ("insert", "delete", "update")]
    return create, [*drop, f"DROP TABLE IF EXISTS {fts}"]


# Name order with the key beside it: a search for common words reads this index alone until
# its page is full, not every row it skips (3 ms instead of 100 over 200,000 people). SQLite
# only: PostgreSQL reads the row of every index entry anyway, and finds rare words by trigram.
NAME_KEY_INDEX = "person_search_name_key"


def create_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in fts_sql("people_person", "search_key")[0]:
            schema_editor.execute(sql)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME_KEY_INDEX} ON people_person (search_name, id, active, search_key)"
        )


def drop_fts(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME_KEY_INDEX}")
        for sql in fts_sql("people_person", "search_key")[1]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_person_search_key"),
    ]

    operations = [
        migrations.RunPython(create_fts, drop_fts),
    ]

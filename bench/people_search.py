#!/usr/bin/env python
"""How fast people and tickets are found by any word, against hand-written SQL returning the same rows.

    .venv/bin/python bench/people_search.py                                # SQLite, 200,000 people, 1,000,000 tickets
    .venv/bin/python bench/people_search.py --postgres                     # a fresh PostgreSQL database
    .venv/bin/python bench/people_search.py --both --people 20000 --tickets 100000   # quick

It builds N people set-based (names from a list of first and last names with accents, a
fifth of them legal entities with a trade name and a CNPJ, one in fifty alphanumeric;
each row's folded search key made by ciclo.people.models.search_key, as the model makes
it) and the tickets of bench/web_query.py (its builders, imported), then gives every ticket
a folded search text (subject and notes: a few words from a list, "migracao" in about one
ticket in 400). Then it times, alternately with the SQL a person would write:

- Person.objects.search(q) as the new-ticket page asks it (active people, 15 in name order)
  for a common word, a rare one, the middle of a word, two words, no match, a masked CPF,
  a few digits of one and an alphanumeric CNPJ; the SQL is `search_key LIKE '%word%'` per word;
- the new-ticket page's search fragment over HTTP (django.test.Client, logged in);
- the ticket list's first page (ciclo.tickets.query, 20 rows by opening date) filtered by
  person words and by text, and its capped count, against the same SELECT by hand.

Budget: p95 under 50 ms (a search is typed into a page that must answer in 100 ms), on
PostgreSQL (pg_trgm GIN indexes) and SQLite (FTS5 trigram tables, LIKE over the folded key).
The "SQL" is the plain LIKE by hand returning the same rows, not a floor (on SQLite it has
no index for a rare word), so the ratios to it are printed, not judged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchDatabase,
    Budget,
    add_run_options,
    alternate,
    analyze,
    announce,
    bench_parser,
    environment,
    judge,
    lines_table,
    load_span,
    pg_server_url,
    run,
    run_header,
    serve_in_process,
    setup_django,
    strip_samples,
    summary_table,
)

SEARCH = Budget("search", 50.0)
PEOPLE_CHUNK = 5_000
TICKET_CHUNK = 50_000
FIRST = ["Ana", "Bruno", "Cláudia", "Daniela", "Éverton", "Fernanda", "Gustavo", "Helena", "Íris", "João", "Lúcia"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Gonçalves", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Ribeiro"]
RARE_LAST = "Carvalho"  # one person in 500
TRADE = ["Comércio", "Distribuidora", "Indústria", "Serviços", "Transportes"]
PLACES = ["Vale Verde", "Boa Vista", "São Jorge", "Nova Era", "Porto Alegre", "Três Rios"]


@dataclass
class Case:
    key: str
    title: str
    query: str


PERSON_CASES = [
    Case("common", "a common word", "silva"),
    Case("rare", "a rare word", "carvalho"),
    Case("inner", "the middle of a word", "arval"),
    Case("two", "two words, accents typed", "Gonçalves ribeiro"),
    Case("none", "no match", "zzzz"),
    Case("cpf", "a CPF with its mask", ""),  # filled in from the data
    Case("digits", "4 digits of a document", ""),
    Case("alnum", "an alphanumeric CNPJ, masked", ""),
]


def build_people(count: int) -> dict[str, str]:
    """`count` people; the documents the cases look for."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ciclo.people.documents import cnpj_check_digits, cpf_check_digits, format_document
    from ciclo.people.models import search_key
    from ciclo.people.text import fold

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        "INSERT INTO people_person (name, search_name, search_key, kind, document, trade_name, city, state, notes, "
        "active, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'São Paulo', 'SP', '', %s, %s)"
    )
    found: dict[str, str] = {}
    for lo in range(1, count + 1, PEOPLE_CHUNK):
        rows = []
        for n in range(lo, min(lo + PEOPLE_CHUNK, count + 1)):
            if n % 5 == 0:
                place = PLACES[(n // 5) % len(PLACES)]
                name = f"{TRADE[n % len(TRADE)]} {place} {LAST[(n // 7) % len(LAST)]} {n} Ltda"
                trade = f"{place} {n}"
                if n % 50 == 0:
                    base = f"{n % 100:02d}{'ABCDEFGHJK'[n % 10]}{'XYZ'[n % 3]}{n:08d}"[:12]
                    document = cnpj_check_digits(base)
                else:
                    document = cnpj_check_digits(f"{n:08d}0001")
                kind = "legal"
            else:
                last = RARE_LAST if n % 500 == 1 else LAST[(n // 11) % len(LAST)]
                name = f"{FIRST[n % len(FIRST)]} {LAST[(n // 3) % len(LAST)]} {last}"
                trade = ""
                document = cpf_check_digits(f"{n + 100_000_000:09d}")
                kind = "individual"
            if n >= count // 2 and kind == "individual" and "cpf" not in found:
                found["cpf"] = format_document(document)
                found["digits"] = document[4:8]
            if kind == "legal" and not document.isdigit() and "alnum" not in found and n > count // 3:
                found["alnum"] = format_document(document)
            rows.append((name, fold(name), search_key(name, trade, document), kind, document, trade, n % 97 != 0, now))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
    found.setdefault("cpf", format_document(cpf_check_digits(f"{100_000_001:09d}")))
    found.setdefault("digits", found["cpf"][4:7] + found["cpf"][8])
    found.setdefault("alnum", "12.ABC.345/01DE-35")
    return found


WORDS = ["cliente", "proposta", "retorno", "orcamento", "visita", "nota", "fiscal", "contrato", "suporte", "ligou"]


def fill_search_text() -> None:
    """A folded subject and notes on every ticket, set-based: a few words each, "migracao" in one in 400."""
    from django.db import connection, transaction

    words = " ".join(f"WHEN {i} THEN '{w}'" for i, w in enumerate(WORDS))
    sql = f"""UPDATE tickets_ticket SET search_text = 'atendimento ' || id || ' '
        || CASE id %% {len(WORDS)} {words} END || ' '
        || CASE (id / 7) %% {len(WORDS)} {words} END
        || CASE WHEN id %% 400 = 3 THEN ' pediu migracao do sistema' ELSE '' END
        WHERE id BETWEEN %s AND %s"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM tickets_ticket")
        lo, hi = cursor.fetchone()
    for start in range(lo, hi + 1, TICKET_CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [start, start + TICKET_CHUNK - 1])


def build(people: int, tickets: int) -> tuple[Any, dict[str, str], float]:
    from tqdm import tqdm
    from web_query import build_tickets, make_world

    start = time.perf_counter()
    world = make_world(agents=20)
    found = build_people(people)
    with tqdm(total=tickets, desc="tickets", unit="ticket", dynamic_ncols=True, leave=False) as bar:
        build_tickets(world, tickets, bar.update)
    fill_search_text()
    analyze()
    return world, found, time.perf_counter() - start


# --- the cached database: built once per size and data version, reused by later runs ----------------------------

DATA_VERSION = 1  # raise it when build() makes different data: older caches are then left alone
BUILT_TABLE = "bench_people_search_built"


def cache_name(people: int, tickets: int) -> str:
    return f"ciclo_bench_people_search_{people}_{tickets}_v{DATA_VERSION}"


def cache_dir() -> Path:
    return Path(os.environ.get("CICLO_BENCH_CACHE") or Path(tempfile.gettempdir()) / "ciclo-bench-cache")


def cached_database(backend: str, people: int, tickets: int, fresh: bool) -> BenchDatabase:
    """The database of this size, kept between runs (a file under cache_dir(), or a named PostgreSQL database)."""
    name = cache_name(people, tickets)
    data_dir = cache_dir() / name
    data_dir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = data_dir / "bench.sqlite3"
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return BenchDatabase("sqlite", f"sqlite:///{path}", data_dir, str(path), keep=True)
    import psycopg

    server = pg_server_url()
    admin = server.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        if fresh:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            c.execute(f'CREATE DATABASE "{name}"')
    return BenchDatabase(
        "postgres", server.rsplit("/", 1)[0] + "/" + name, data_dir, name, server_url=server, keep=True
    )


def built_before() -> dict[str, Any] | None:
    """What an earlier complete build left (the cases' documents, the user), or None."""
    from django.db import connection

    if BUILT_TABLE not in connection.introspection.table_names():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT data FROM {BUILT_TABLE}")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


@contextmanager
def bench_data(args: argparse.Namespace, backend: str) -> Iterator[tuple[Any, dict[str, str], float]]:
    """Django on the cached database, migrated, with its data: (the user who searches, the documents, build seconds).

    A database left half-built (a run stopped while building) is built again from nothing;
    migrations added since the build are applied (their backfills then run on 1,000,000 rows).
    """
    from types import SimpleNamespace

    serve_in_process()
    db = cached_database(backend, args.people, args.tickets, args.fresh)
    setup_django(db)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = built_before()
    if before is None and connection.introspection.table_names():
        connection.close()
        db = cached_database(backend, args.people, args.tickets, True)  # half-built: start again
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    print(f"database {db.url} ({len(pending)} migrations to apply) …", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    if before is not None:
        if pending:
            analyze()
        print("reusing the data built earlier", flush=True)
        yield SimpleNamespace(user=User.objects.get(pk=before["user"])), before["found"], 0.0
        return
    print(f"building {args.people:,} people and {args.tickets:,} tickets …", flush=True)
    world, found, seconds = build(args.people, args.tickets)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {BUILT_TABLE} (data text)")
        cursor.execute(
            f"INSERT INTO {BUILT_TABLE} (data) VALUES (%s)", [json.dumps({"user": world.user.pk, "found": found})]
        )
    print(f"built in {seconds:.1f} s", flush=True)
    yield world, found, seconds


# --- what is measured --------------------------------------------------------------------------------------------


TICKET_CASES = [
    ("person", "carvalho", "tickets of people named carvalho"),
    ("person", "silva", "tickets of people named silva"),
    ("person", "", "tickets of a person by 4 digits of the CPF"),  # filled in from the data
    ("text", "migração", "tickets whose text has migração (rare)"),
    ("text", "migracao", "tickets whose text has migracao (rare, unaccented)"),
    ("text", "orcamento", "tickets whose text has orcamento (common)"),
    ("text", "orcamento visita", "tickets whose text has two common words"),
    ("text", "zzzz", "tickets whose text matches nothing"),
]
# Over HTTP: the API's list and the query page's results fragment (htmx), first page with its count.
HTTP_CASES = [
    ("/api/v1/tickets", "person_search", "silva", "GET /api/v1/tickets?person_search=silva"),
    ("/api/v1/tickets", "text", "zzzz", "GET /api/v1/tickets?text=zzzz"),
    ("tickets", "person", "carvalho", "query page fragment, person carvalho"),
    ("tickets", "text", "migracao", "query page fragment, text migracao"),
]


def like_terms(query: str) -> list[str]:
    from ciclo.people.text import search_terms

    return [f"%{t}%" for t in search_terms(query)]


def person_sql(query: str) -> tuple[str, list[Any]]:
    patterns = like_terms(query)
    where = " AND ".join("search_key LIKE %s" for _ in patterns)
    return (
        "SELECT id, name, document, city, state FROM people_person "
        f"WHERE active AND {where} ORDER BY search_name, id LIMIT 15",
        patterns,
    )


TICKET_SELECT = """
    SELECT t.id, t.subject, t.status, t.priority, t.channel, t.opened_at, t.next_contact_at,
        p.name, p.document, st.code, st.description, st.colour, cr.code, cr.description,
        c.name, u.first_name, u.last_name, u.username
    FROM tickets_ticket t
    JOIN people_person p ON p.id = t.person_id
    JOIN configurator_servicetype st ON st.id = t.service_type_id
    JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id
    JOIN people_company c ON c.id = t.company_id
    LEFT JOIN auth_user u ON u.id = t.next_contact_user_id"""


def ticket_sql(kind: str, query: str) -> tuple[str, list[Any], str]:
    """The first page's rows (21) and the capped count's SQL, for a person or a text filter."""
    patterns = like_terms(query)
    if kind == "person":
        inner = " AND ".join("p2.search_key LIKE %s" for _ in patterns)
        where = f"WHERE t.person_id IN (SELECT p2.id FROM people_person p2 WHERE {inner})"
    else:
        where = "WHERE " + " AND ".join("t.search_text LIKE %s" for _ in patterns)
    rows = f"{TICKET_SELECT} {where} ORDER BY t.opened_at DESC, t.id DESC LIMIT 21"
    count = f"SELECT COUNT(*) FROM (SELECT t.id FROM tickets_ticket t {where} LIMIT 1001) AS capped"
    return rows, patterns, count


def fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_data(args, backend) as (world, found, seconds):
        from django.test import Client
        from django.urls import reverse

        from ciclo.accounts.tokens import create_token
        from ciclo.people.models import Person
        from ciclo.tickets import query

        env = environment()
        announce("people and ticket search", env, args)
        for case in PERSON_CASES:
            if not case.query:
                case.query = found[case.key]
        client = Client()
        client.force_login(world.user)
        load_before = os.getloadavg()
        results: dict[str, Any] = {}

        def record(key: str, title: str, subject: Any, sql: Any, same: bool, matches: int) -> None:
            print(f"timing: {title} …", flush=True)
            r = alternate(subject, sql, args.warmup, args.iterations)
            r.update(title=title, same_rows=same, matches=matches, extra=[matches, "yes" if same else "NO"])
            judge(r, SEARCH, backend)
            r["checks"]["same rows"] = same
            r["passed"] = all(r["checks"].values())
            results[key] = r

        for case in PERSON_CASES:

            def orm(q: str = case.query) -> list[int]:
                qs = Person.objects.filter(active=True).search(q).order_by("search_name", "id")
                return [p.pk for p in qs[:15]]

            sql, params = person_sql(case.query)
            same = orm() == [row[0] for row in fetch(sql, params)]
            record(
                f"person_{case.key}",
                f"person: {case.title} ({case.query})",
                orm,
                lambda sql=sql, params=params: fetch(sql, params),
                same,
                len(orm()),
            )

        url = reverse("person_search")
        sql, params = person_sql("carvalho")
        record(
            "page",
            "new-ticket search fragment over HTTP (carvalho)",
            lambda: client.get(url, {"q": "carvalho"}),
            lambda: fetch(sql, params),
            client.get(url, {"q": "carvalho"}).status_code == 200,
            0,
        )

        _token, raw_token = create_token(world.user, name="bench")
        api = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}
        sql, params = person_sql("carvalho")
        record(
            "api_people",
            "GET /api/v1/people?q=carvalho (20 rows)",
            lambda: client.get("/api/v1/people", {"q": "carvalho"}, **api),
            lambda: fetch(sql, params),
            client.get("/api/v1/people", {"q": "carvalho"}, **api).status_code == 200,
            0,
        )

        for kind, q, title in TICKET_CASES:
            q = q or found["digits"]
            f, errors = query.parse_filter({kind: q})
            assert not errors, errors
            rows_sql, patterns, count_sql = ticket_sql(kind, q)

            def orm_page(f: Any = f) -> tuple[list[int], int]:
                qs = query.list_queryset(world.user, f)
                ids = [t.pk for t in query.page(qs, f.sort, None, 20).rows]
                return ids, qs.order_by()[:1001].count()

            def sql_page(rows_sql: str = rows_sql, patterns: list[Any] = patterns, count_sql: str = count_sql) -> Any:
                return [r[0] for r in fetch(rows_sql, patterns)][:20], fetch(count_sql, patterns)[0][0]

            ids, count = orm_page()
            record(
                f"tickets_{kind}_{q}",
                f"{title}: first page + capped count",
                orm_page,
                sql_page,
                (ids, count) == sql_page(),
                count,
            )
        for path, name, q, title in HTTP_CASES:
            kind = "text" if name == "text" else "person"
            rows_sql, patterns, count_sql = ticket_sql(kind, q)
            url = path if path.startswith("/") else reverse(path)
            headers = api if path.startswith("/") else {"HTTP_HX_REQUEST": "true"}

            def http(url: str = url, name: str = name, q: str = q, headers: dict[str, str] = headers) -> Any:
                return client.get(url, {name: q}, **headers)

            def sql_page(rows_sql: str = rows_sql, patterns: list[Any] = patterns, count_sql: str = count_sql) -> Any:
                return fetch(rows_sql, patterns), fetch(count_sql, patterns)

            record(f"http_{name}_{q}", title, http, sql_page, http().status_code == 200, 0)
        return {
            "backend": backend,
            "environment": {**env, "load_average": load_span(load_before)},
            "tickets": args.tickets,
            "people": args.people,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "cases": results,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    lines = run_header(result)
    lines[1] = lines[1].replace(" tickets", f" tickets · {result['people']:,} people", 1)
    lines.append(lines_table("search", list(result["cases"].values()), extra=["rows", "same"]))
    return "\n".join(lines)


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return strip_samples(result, ["cases"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for res in results for r in res["cases"].values())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=1_000_000,
        iterations_help="timed searches per case and side (200)",
        warmup_help="untimed searches first (10)",
    )
    parser.add_argument("--people", type=int, default=200_000, help="people to build (default 200,000)")
    parser.add_argument("--fresh", action="store_true", help="build the data again, even if a cached copy exists")
    parser.add_argument("--build-only", action="store_true", help="build (or migrate) the cached data, time nothing")
    add_run_options(parser)
    args = parser.parse_args(argv)
    if args.build_only:
        with bench_data(args, "postgres" if args.postgres else "sqlite"):
            return 0
    return run(
        args,
        argv,
        script=__file__,
        name="people_search",
        run_backend=run_backend,
        strip=strip,
        report=report,
        summary=lambda results: summary_table("search", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

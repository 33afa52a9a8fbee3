#!/usr/bin/env python
"""How fast the API's ticket list answers, against hand-written SQL returning the same rows.

    .venv/bin/python bench/api_list.py                      # SQLite, 1,000,000 tickets
    .venv/bin/python bench/api_list.py --postgres           # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/api_list.py --both --tickets 20000

It builds the tickets of bench/web_query.py (its builders, imported: Zipf-skewed over
20 CRs and 30 types, half of them closed), then calls GET /api/v1/tickets in-process
with django.test.Client and a Bearer token (production settings: DEBUG off) and times
the server's answer: a filtered first page (CR + type by code, open, next-contact range,
by next contact, 20 rows), the same by ids, and the same filter 10,000 rows deep, reached
by walking the cursors. Each is timed alternately with the SQL a person would write for
the same rows, in the same run and database, and the ids must match.

A request carries more than its list query: the token's lookup, the user's role, the
codes' lookups, pydantic's reading of the parameters, the rows made into JSON. So the
list query alone (ciclo.tickets.query.page, as the endpoint calls it) is timed against
the SQL too, and every part of a request apart (--parts) to show where the time goes.
Target: within 2x of the SQL. Queries: the same for a page of 20 and of 200.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchDatabase,
    db_time,
    environment,
    is_postgres_url,
    migrate,
    ms,
    percentile,
    ratio,
    setup_django,
    table,
    write_results,
)
from web_query import World, build, make_world

TARGET_RATIO = 2.0
DEEP = 10_000
URL = "/api/v1/tickets"

# The columns of a list item (ciclo.api.tickets.ticket_item), in the joins of the web page's list.
SELECT = """
    SELECT t.id, t.subject, t.status, t.priority, t.channel, t.next_contact_at, t.opened_at, t.closed_at, t.version,
        p.id, p.name, p.document, st.id, st.code, st.description, cr.id, cr.code, cr.description,
        c.id, c.code, c.name, u.id, u.username
    FROM tickets_ticket t
    JOIN people_person p ON p.id = t.person_id
    JOIN configurator_servicetype st ON st.id = t.service_type_id
    JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id
    JOIN people_company c ON c.id = t.company_id
    LEFT JOIN auth_user u ON u.id = t.next_contact_user_id"""


@dataclass
class Case:
    key: str
    title: str
    params: dict[str, Any]  # the request's query parameters (limit 20)
    sql: str
    sql_params: list[Any]
    cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, **changes: Any) -> str:
        return f"{URL}?{urlencode({**self.params, **changes})}"


class Caller:
    """GET the list as a client would: a Bearer token, JSON back."""

    def __init__(self, raw_token: str) -> None:
        from django.test import Client

        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}

    def get(self, url: str) -> Any:
        response = self.client.get(url, **self.headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:300]!r}")
        return response

    def json(self, url: str) -> dict[str, Any]:
        return json.loads(self.get(url).content)


def run_sql(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(sql, params)
        return c.fetchall()


def walk_to(caller: Caller, case_params: dict[str, Any], depth: int) -> str:
    """The cursor after `depth` rows, by following next_cursor with pages of 200 (as a client would)."""
    cursor: str | None = None
    done = 0
    while done < depth:
        limit = min(200, depth - done)
        params = {**case_params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = caller.json(f"{URL}?{urlencode(params)}")
        done += len(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            raise RuntimeError(f"the list ended at {done:,} rows, before {depth:,}")
    assert cursor is not None
    return cursor


def cases(world: World, caller: Caller) -> tuple[list[Case], dict[str, Any]]:
    from django.db import connection
    from django.utils import timezone

    from ciclo.tickets import query

    ops = connection.ops
    cr, st = world.crs[0], world.types[0]
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=10), today + dt.timedelta(days=10)
    by_code = {
        "cr": cr.code,
        "service_type": st.code,
        "status": "open",
        "next_contact_from": start.isoformat(),
        "next_contact_to": end.isoformat(),
        "sort": "next_contact_at",
        "order": "asc",
        "limit": 20,
    }
    by_id = {**by_code, "cr_id": cr.pk, "service_type_id": st.pk}
    del by_id["cr"], by_id["service_type"]
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    f, errors = query.parse_filter(
        {"crs": cr.pk, "service_types": st.pk, "status": "open", "sort": "next_contact_at"}
        | {"next_contact_from": start.isoformat(), "next_contact_to": end.isoformat()}
    )
    assert not errors, errors
    matching = query.list_queryset(world.user, f).count()
    depth = max(1, min(DEEP, matching // 2))
    cursor = walk_to(caller, by_code, depth)
    value, pk = query.decode_cursor(cursor, "next_contact_at")
    expected = (
        query.list_queryset(world.user, f)
        .order_by("next_contact_at", "id")
        .values_list("next_contact_at", "id")[depth - 1]
    )
    assert (value, pk) == expected, f"the walked cursor is at {value, pk}, row {depth:,} is {expected}"
    where = "WHERE t.status = 'open' AND t.cr_id = %s AND t.service_type_id = %s"
    first_sql = (
        f"{SELECT} {where} AND t.next_contact_at >= %s AND t.next_contact_at < %s "
        "ORDER BY t.next_contact_at, t.id LIMIT 21"
    )
    first_params = [cr.pk, st.pk, ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]
    # The cursor is the lower bound: the range start it makes redundant is left out (PERFORMANCE.md).
    deep_sql = (
        f"{SELECT} {where} AND t.next_contact_at < %s AND (t.next_contact_at, t.id) > (%s, %s) "
        "ORDER BY t.next_contact_at, t.id LIMIT 21"
    )
    deep_params = [cr.pk, st.pk, ops.adapt_datetimefield_value(hi), ops.adapt_datetimefield_value(value), pk]
    return [
        Case("first", "filtered first page (CR + type by code, next-contact range)", by_code, first_sql, first_params),
        Case("first_ids", "same, CR and type by id", by_id, first_sql, first_params),
        Case(
            "first_200",
            "same, 200 rows",
            {**by_code, "limit": 200},
            first_sql.replace("LIMIT 21", "LIMIT 201"),
            first_params,
        ),
        Case(
            "deep",
            f"same filter, {depth:,} rows deep by cursor",
            {**by_code, "cursor": cursor},
            deep_sql,
            deep_params,
            cursor=cursor,
        ),
    ], {"matching": matching, "depth": depth, "cr": cr.code, "type": st.code, "filter": f}


def measure(subject: Callable[[], Any], sql: Callable[[], Any], warmup: int, iterations: int) -> dict[str, Any]:
    """`subject` and the SQL alternately (which goes first alternates too); the subject's time in the driver."""
    spent_ms, sql_ms, db_ms = [], [], []
    gc.collect()
    for i in range(warmup + iterations):
        for side in ("subject", "sql") if i % 2 else ("sql", "subject"):
            if side == "subject":
                with db_time() as spent:
                    start = time.perf_counter()
                    subject()
                    elapsed = (time.perf_counter() - start) * 1000
                if i >= warmup:
                    spent_ms.append(elapsed)
                    db_ms.append(sum(e - s for _sql, s, e in spent) * 1000)
            else:
                start = time.perf_counter()
                sql()
                if i >= warmup:
                    sql_ms.append((time.perf_counter() - start) * 1000)
    out: dict[str, Any] = {"api_ms": spent_ms, "sql_ms": sql_ms, "db_ms": db_ms}
    for name, values in (("api", spent_ms), ("sql", sql_ms), ("db", db_ms)):
        out[f"{name}_p50"], out[f"{name}_p95"] = percentile(values, 50), percentile(values, 95)
    out["ratio_p50"] = out["api_p50"] / out["sql_p50"]
    out["ratio_p95"] = out["api_p95"] / out["sql_p95"]
    out["db_ratio_p95"] = out["db_p95"] / out["sql_p95"]
    out["pass_ratio"] = out["ratio_p50"] <= TARGET_RATIO and out["ratio_p95"] <= TARGET_RATIO
    return out


def count_queries(caller: Caller, url: str) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    caller.get(url)  # the token's last use is written at most once a minute: not inside the count
    with CaptureQueriesContext(connection) as ctx:
        caller.get(url)
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def parts(world: World, raw_token: str, case: Case, calls: int) -> list[list[Any]]:
    """Each step of one request on its own, mean and p50 ms over `calls`: where a request's time goes."""
    from django.http import QueryDict
    from django.test import Client
    from ninja.responses import NinjaJSONEncoder

    from ciclo.accounts.roles import role_of
    from ciclo.accounts.tokens import authenticate
    from ciclo.api.schemas import TicketPage
    from ciclo.api.tickets import TicketFilters, _item, list_page, ticket_filter

    params = dict(case.params)
    f = ticket_filter(TicketFilters(**params))
    rows = list_page(world.user, f, case.cursor, 20).rows
    body = {"items": [_item(v) for v in rows], "next_cursor": case.cursor}
    plain = Client()

    def auth() -> Any:
        token = authenticate(raw_token)
        assert token is not None
        return role_of(token.user)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("token lookup + role (authenticate, role_of)", auth),
        ("parameters read by pydantic (TicketFilters)", lambda: TicketFilters(**params)),
        ("codes to ids and the shared filter (ticket_filter)", lambda: ticket_filter(TicketFilters(**params))),
        ("list query: list_page(…) (query.page over values)", lambda: list_page(world.user, f, case.cursor, 20)),
        ("20 rows as items (_item)", lambda: [_item(v) for v in rows]),
        ("JSON of the page (NinjaJSONEncoder)", lambda: json.dumps(body, cls=NinjaJSONEncoder)),
        ("a request without a token (Django + ninja + 401)", lambda: plain.get(case.url())),
        ("QueryDict of the URL", lambda: QueryDict(case.url().split("?", 1)[1])),
        (
            "not done: pydantic check of the page (TicketPage)",
            lambda: TicketPage.model_validate(body).model_dump(),
        ),
    ]
    # The 401s are expected: Django would log a warning for each.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    out = []
    for title, call in steps:
        for _ in range(5):
            call()
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        out.append([title, sum(times) / len(times), percentile(times, 50)])
    return out


def profile(caller: Caller, url: str, calls: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        caller.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    db = BenchDatabase.create(backend, keep=args.keep)
    # Production settings (DEBUG off) without HTTPS, for the in-process client.
    os.environ.update(
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
    )
    try:
        setup_django(db)
        migrate()
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from ciclo.accounts.tokens import create_token

        env = environment()
        print(
            f"\n== Ciclo API ticket list benchmark · {env['database']} · {args.tickets:,} tickets · "
            f"{args.iterations} iterations (+{args.warmup} warm-up) ==",
            flush=True,
        )
        world = make_world(agents=20)
        seconds = build(world, args.tickets)
        print(f"built {args.tickets:,} tickets and {max(1, args.tickets // 5):,} people in {seconds:.1f} s", flush=True)
        _token, raw = create_token(world.user, name="bench")
        caller = Caller(raw)
        all_cases, info = cases(world, caller)
        print(
            f"filter: CR {info['cr']}, type {info['type']}, open, 21 days of next contacts → "
            f"{info['matching']:,} tickets; deep page at {info['depth']:,} (cursor reached by walking pages of 200)",
            flush=True,
        )
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            body = caller.json(case.url())
            limit = case.params["limit"]
            api_ids = [item["id"] for item in body["items"]]
            sql_ids = [row[0] for row in run_sql(case.sql, case.sql_params)][:limit]
            q20, sql20 = count_queries(caller, case.url(limit=20))
            q200, _sql200 = count_queries(caller, case.url(limit=200))
            print(f"timing: {case.title} …", flush=True)
            r = measure(
                lambda case=case: caller.get(case.url()),
                lambda case=case: run_sql(case.sql, case.sql_params),
                args.warmup,
                args.iterations,
            )
            r.update(
                title=case.title,
                same_rows=api_ids == sql_ids and len(api_ids) == min(limit, info["matching"]),
                rows=len(api_ids),
                queries_20=q20,
                queries_200=q200,
                queries=sql20,
                pass_queries=q20 == q200,
            )
            results[case.key] = r
        # The list query alone, as the endpoint makes it (ciclo.api.tickets.list_page): the ORM's share.
        from ciclo.api.tickets import TicketFilters, list_page, ticket_filter

        alone: dict[str, Any] = {}
        for case in (all_cases[0], all_cases[3]):
            f = ticket_filter(TicketFilters(**case.params))

            def orm_page(case: Case = case, f: Any = f) -> list[int]:
                return [row["id"] for row in list_page(world.user, f, case.cursor, 20).rows]

            print(f"timing: the list query alone, {case.key} …", flush=True)
            r = measure(orm_page, lambda case=case: run_sql(case.sql, case.sql_params), args.warmup, args.iterations)
            with CaptureQueriesContext(connection) as ctx:
                ids = orm_page()
            r.update(
                title=f"list query alone: {case.title}",
                same_rows=ids == [row[0] for row in run_sql(case.sql, case.sql_params)][:20],
                rows=len(ids),
                queries_20=len(ctx.captured_queries),
                queries_200=len(ctx.captured_queries),
                queries=[q["sql"] for q in ctx.captured_queries],
                pass_queries=True,
            )
            alone[case.key] = r
        load_after = os.getloadavg()
        split = parts(world, raw, all_cases[0], args.parts) if args.parts else []
        profiles = {}
        if args.profile:
            profiles["first"] = profile(caller, all_cases[0].url(), args.profile_calls, args.profile_top)
        env["load_average"] = [round(x, 2) for x in (*load_before, *load_after)]
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "filter": {k: v for k, v in info.items() if k != "filter"},
            "cases": results,
            "alone": alone,
            "parts": split,
            "profiles": profiles,
        }
    finally:
        db.drop()


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    env = result["environment"]
    load = env["load_average"]
    lines = [
        "",
        f"== {env['database']} · {result['tickets']:,} tickets (built in {result['build_seconds']} s) · "
        f"{result['iterations']} iterations · Python {env['python']} · Django {env['django']} · {env['cpus']} CPUs · "
        f"load {load[0]}/{load[1]}/{load[2]} → {load[3]}/{load[4]}/{load[5]} · commit {env['commit']} ==",
        "",
    ]
    rows = []
    for r in [*result["cases"].values(), *result["alone"].values()]:
        rows.append(
            [
                r["title"],
                ms(r["api_p50"]),
                ms(r["api_p95"]),
                ms(r["db_p50"]),
                ms(r["db_p95"]),
                ms(r["sql_p50"]),
                ms(r["sql_p95"]),
                ratio(r["ratio_p50"]),
                ratio(r["ratio_p95"]),
                ratio(r["db_ratio_p95"]),
                "yes" if r["same_rows"] else "NO",
                "PASS" if r["pass_ratio"] else "FAIL",
            ]
        )
    lines.append(
        table(
            [
                "request",
                "API p50",
                "p95 ms",
                "its DB p50",
                "p95",
                "SQL p50",
                "p95",
                "API/SQL p50",
                "p95",
                "DB/SQL p95",
                "same ids",
                f"≤{TARGET_RATIO:g}x",
            ],
            rows,
        )
    )
    lines.append("")
    rows = [
        [r["title"], r["queries_20"], r["queries_200"], "PASS" if r["pass_queries"] else "FAIL"]
        for key, r in result["cases"].items()
        if key != "first_200"  # the same request as the first page's
    ]
    lines.append(table(["queries per request", "limit 20", "limit 200", "same"], rows))
    if result["parts"]:
        lines.append("")
        lines.append(
            table(
                ["one request's parts, each alone (first page)", "mean ms", "p50 ms"],
                [[t, ms(mean), ms(p50)] for t, mean, p50 in result["parts"]],
            )
        )
    if show_sql:
        for r in result["cases"].values():
            lines.append(f"\n-- the queries of “{r['title']}”, limit 20:")
            lines += [f"  {i + 1}. {' '.join(sql.split())[:400]}" for i, sql in enumerate(r["queries"])]
    for key, text in result.get("profiles", {}).items():
        lines.append(f"\n-- cProfile of the request, {key}:\n{text}")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]]) -> str:
    rows = []
    for res in results:
        for r in [*res["cases"].values(), *res["alone"].values()]:
            rows.append(
                [
                    res["environment"]["database"],
                    r["title"],
                    ms(r["api_p50"]),
                    ms(r["api_p95"]),
                    ms(r["sql_p50"]),
                    ratio(r["ratio_p50"]),
                    ratio(r["ratio_p95"]),
                    f"{r['queries_20']}/{r['queries_200']}",
                    "PASS" if r["pass_ratio"] else "FAIL",
                    "PASS" if r["pass_queries"] else "FAIL",
                ]
            )
    return "\n== summary ==\n" + table(
        ["database", "request", "p50 ms", "p95 ms", "SQL p50", "ratio p50", "p95", "queries @20/@200", "≤2x", "same q"],
        rows,
        align="llrrrrrrll",
    )


def strip(result: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(result, default=str))
    for group in ("cases", "alone"):
        for r in out[group].values():
            for key in ("api_ms", "sql_ms", "db_ms"):
                r[key] = [round(v, 4) for v in r[key]]
    return out


def passed(results: list[dict[str, Any]]) -> bool:
    return all(
        r["pass_ratio"] and r["pass_queries"] and r["same_rows"] for res in results for r in res["cases"].values()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database (DATABASE_URL's server)")
    where.add_argument("--sqlite", action="store_true", help="a fresh SQLite file (the default)")
    where.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL, in one run")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to build (default 1,000,000)")
    parser.add_argument("--iterations", type=int, default=200, help="timed requests per case and side (200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests first (10)")
    parser.add_argument("--parts", type=int, default=200, help="calls per part of a request timed alone (200; 0: none)")
    parser.add_argument("--profile", action="store_true", help="cProfile the first-page request and print the top")
    parser.add_argument("--profile-calls", type=int, default=200)
    parser.add_argument("--profile-top", type=int, default=35)
    parser.add_argument("--show-sql", action="store_true", help="print each request's queries")
    parser.add_argument("--keep", action="store_true", help="keep the database (debugging)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.both:
        # Django is set up once per process: each database gets a process of its own.
        results = []
        passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--both"]
        for backend in ("sqlite", "postgres"):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                out = tmp.name
            code = subprocess.call([sys.executable, __file__, *passthrough, "--backend", backend, "--json-out", out])
            if code != 0:
                print(f"the {backend} run failed (exit {code})", file=sys.stderr)
                return code
            results.append(json.loads(Path(out).read_text()))
            os.unlink(out)
        for result in results:
            print(report(result, args.show_sql))
        print(summary(results))
        path = write_results("api_list", {"runs": results})
        print(f"\nwritten: {path}")
        return 1 if args.strict and not passed(results) else 0

    backend = args.backend or (
        "postgres"
        if args.postgres or (not args.sqlite and is_postgres_url(os.environ.get("DATABASE_URL")))
        else "sqlite"
    )
    result = strip(run_backend(args, backend))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False))
        return 0
    print(report(result, args.show_sql))
    print(summary([result]))
    path = write_results(f"api_list-{backend}", {"runs": [result]})
    print(f"\nwritten: {path}")
    return 1 if args.strict and not passed([result]) else 0


if __name__ == "__main__":
    sys.exit(main())

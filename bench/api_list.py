#!/usr/bin/env python
"""How fast the API's ticket list answers, against the SQL it needs for the same rows.

    .venv/bin/python bench/api_list.py                      # SQLite, 1,000,000 tickets
    .venv/bin/python bench/api_list.py --postgres           # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/api_list.py --both --tickets 50000

It builds the tickets of bench/web_query.py (its builders, imported: Zipf-skewed over
20 CRs and 30 types, half of them closed), then calls GET /api/v1/tickets in-process
with django.test.Client and a Bearer token (production settings: DEBUG off) and times
the server's answer: a filtered first page (CR + type by code, open, next-contact range,
by next contact, 20 rows), the same with 200 rows, and the same filter 10,000 rows deep,
reached by walking the cursors as a client would. Each is timed alternately with the SQL
the request needs, written by hand, in the same run and database — the token with its
user and their role, then the rows (the codes read inside the same SELECT) — and the ids
must match.

Budget (shared/PERFORMANCE.md): p95 under 30 ms; the request's time in the database
within 1.5x of the SQL it needs; the same number of queries for a page of 20 and of 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    API_READ,
    add_run_options,
    alternate,
    announce,
    bench_django,
    bench_parser,
    captured_queries,
    environment,
    judge,
    lines_table,
    load_span,
    profiled,
    run,
    run_header,
    run_statements,
    strip_samples,
    summary_table,
    token_sql,
)
from web_query import World, build_world

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


def cases(world: World, caller: Caller, deep: int) -> tuple[list[Case], dict[str, Any]]:
    from django.db import connection
    from django.utils import timezone

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
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    # The codes are read in the SELECT itself: the request's work includes finding them.
    where = (
        "WHERE t.status = 'open'"
        " AND t.cr_id = (SELECT id FROM configurator_responsibilitycenter WHERE code = %s)"
        " AND t.service_type_id = (SELECT id FROM configurator_servicetype WHERE code = %s)"
    )
    range_where = f"{where} AND t.next_contact_at >= %s AND t.next_contact_at < %s"
    first_params = [cr.code, st.code, ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]
    with connection.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM tickets_ticket t {range_where}", first_params)
        matching = c.fetchone()[0]
    depth = max(1, min(deep, matching // 2))
    cursor = walk_to(caller, by_code, depth)
    with connection.cursor() as c:  # the row the walk stopped after, for the SQL to start from
        c.execute(
            f"SELECT t.next_contact_at, t.id FROM tickets_ticket t {range_where}"
            " ORDER BY t.next_contact_at, t.id LIMIT 1 OFFSET %s",
            [*first_params, depth - 1],
        )
        value, pk = c.fetchone()
    first_sql = f"{SELECT} {range_where} ORDER BY t.next_contact_at, t.id LIMIT 21"
    # The cursor is the lower bound: the range start it makes redundant is left out (PERFORMANCE.md).
    deep_sql = (
        f"{SELECT} {where} AND t.next_contact_at < %s AND (t.next_contact_at, t.id) > (%s, %s) "
        "ORDER BY t.next_contact_at, t.id LIMIT 21"
    )
    deep_params = [cr.code, st.code, ops.adapt_datetimefield_value(hi), value, pk]
    return [
        Case("first", "filtered first page (CR + type by code, next-contact range)", by_code, first_sql, first_params),
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
    ], {"matching": matching, "depth": depth, "cr": cr.code, "type": st.code}


def count_queries(caller: Caller, url: str) -> tuple[int, list[str]]:
    caller.get(url)  # the token's last use is written at most once a minute: not inside the count
    queries = captured_queries(lambda: caller.get(url))
    return len(queries), queries


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from ciclo.accounts.tokens import create_token

        env = environment()
        announce("API ticket list", env, args)
        world, seconds = build_world(args.tickets)
        _token, raw = create_token(world.user, name="bench")
        caller = Caller(raw)
        all_cases, info = cases(world, caller, args.deep)
        signed_in = token_sql(raw)
        print(
            f"filter: CR {info['cr']}, type {info['type']}, open, 21 days of next contacts → "
            f"{info['matching']:,} tickets; deep page at {info['depth']:,} (cursor reached by walking pages of 200)",
            flush=True,
        )
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            statements = [*signed_in, (case.sql, case.sql_params)]
            body = caller.json(case.url())
            limit = case.params["limit"]
            api_ids = [item["id"] for item in body["items"]]
            sql_ids = [row[0] for row in run_statements(statements)[-1]][:limit]
            q20, sql20 = count_queries(caller, case.url(limit=20))
            q200, _sql200 = count_queries(caller, case.url(limit=200))
            print(f"timing: {case.title} …", flush=True)
            r = alternate(
                lambda case=case: caller.get(case.url()),
                lambda statements=statements: run_statements(statements),
                args.warmup,
                args.iterations,
            )
            same = api_ids == sql_ids and len(api_ids) == min(limit, info["matching"])
            r.update(
                title=case.title,
                same_rows=same,
                rows=len(api_ids),
                queries_sql=sql20,
                sql_queries=len(statements),
                extra=["yes" if same else "NO"],
            )
            judge(r, API_READ, backend, (q20, q200))
            r["checks"]["same ids"] = same
            r["passed"] = all(r["checks"].values())
            results[case.key] = r
        env["load_average"] = load_span(load_before)
        profiles = {}
        if args.profile:
            url = all_cases[0].url()
            profiles["first"] = profiled(lambda: caller.get(url), args.profile_calls, args.profile_top)
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "filter": info,
            "cases": results,
            "profiles": profiles,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    lines.append(lines_table("API request", list(result["cases"].values()), extra=["same ids"]))
    lines.append("\nqueries: limit 20 / limit 200 (the SQL's statements)")
    if show_sql:
        for r in result["cases"].values():
            lines.append(f"\n-- the queries of “{r['title']}”, limit 20:")
            lines += [f"  {i + 1}. {' '.join(sql.split())[:400]}" for i, sql in enumerate(r["queries_sql"])]
    for key, text in result.get("profiles", {}).items():
        lines.append(f"\n-- cProfile of the request, {key}:\n{text}")
    return "\n".join(lines)


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return strip_samples(result, ["cases"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for res in results for r in res["cases"].values())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=1_000_000,
        iterations_help="timed requests per case and side (200)",
        warmup_help="untimed requests first (10)",
    )
    parser.add_argument("--deep", type=int, default=10_000, help="rows before the deep page (10,000)")
    parser.add_argument("--profile", action="store_true", help="cProfile the first-page request and print the top")
    parser.add_argument("--profile-calls", type=int, default=200)
    parser.add_argument("--profile-top", type=int, default=35)
    parser.add_argument("--show-sql", action="store_true", help="print each request's queries")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="api_list",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=lambda results: summary_table("API request", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

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

A request carries more than its list query: the token's lookup (one query with the user,
its role and the configuration version), pydantic's reading of the parameters, the codes
made ids, the rows made into JSON. So the list query alone (ciclo.tickets.query.page,
as the endpoint calls it) is timed against the SQL too, and every part of a request apart
(--parts) to show where the time goes.
Target: within 2x of the SQL. Queries: the same for a page of 20 and of 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    add_run_options,
    alternate,
    announce,
    bench_django,
    bench_parser,
    captured_queries,
    environment,
    ms,
    pass_fail,
    percentile,
    profiled,
    run,
    run_header,
    strip_samples,
    summary_cells,
    table,
    timing_cells,
    timing_headers,
)
from web_query import World, build_world

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
    out = alternate(subject, sql, warmup, iterations, "api")
    out["pass_ratio"] = out["ratio_p50"] <= TARGET_RATIO and out["ratio_p95"] <= TARGET_RATIO
    return out


def count_queries(caller: Caller, url: str) -> tuple[int, list[str]]:
    caller.get(url)  # the token's last use is written at most once a minute: not inside the count
    queries = captured_queries(lambda: caller.get(url))
    return len(queries), queries


def in_a_request(fn: Callable[[], Any]) -> Callable[[], Any]:
    """fn as the endpoint runs it: in a request's configuration scope, the version already read
    (by the token's query), so config() asks nothing (ciclo.configurator.cache)."""
    from ciclo.configurator.cache import current_version, request_scope

    version = current_version()

    def call() -> Any:
        with request_scope(version):
            return fn()

    return call


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
    f = in_a_request(lambda: ticket_filter(TicketFilters(**params)))()
    rows = in_a_request(lambda: list_page(world.user, f, case.cursor, 20))().rows
    body = {"items": [_item(v) for v in rows], "next_cursor": case.cursor}
    plain = Client()

    def auth() -> Any:
        token = authenticate(raw_token)
        assert token is not None
        return role_of(token.user)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("token + user + role + config version (authenticate, role_of)", auth),
        ("parameters read by pydantic (TicketFilters)", lambda: TicketFilters(**params)),
        (
            "codes to ids and the shared filter (ticket_filter)",
            in_a_request(lambda: ticket_filter(TicketFilters(**params))),
        ),
        (
            "list query: list_page(…) (query.page over values)",
            in_a_request(lambda: list_page(world.user, f, case.cursor, 20)),
        ),
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


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from ciclo.accounts.tokens import create_token

        env = environment()
        announce("API ticket list", env, args)
        world, seconds = build_world(args.tickets)
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
            f = in_a_request(lambda case=case: ticket_filter(TicketFilters(**case.params)))()

            @in_a_request
            def orm_page(case: Case = case, f: Any = f) -> list[int]:
                return [row["id"] for row in list_page(world.user, f, case.cursor, 20).rows]

            print(f"timing: the list query alone, {case.key} …", flush=True)
            r = measure(orm_page, lambda case=case: run_sql(case.sql, case.sql_params), args.warmup, args.iterations)
            queries = captured_queries(orm_page)
            ids = orm_page()
            r.update(
                title=f"list query alone: {case.title}",
                same_rows=ids == [row[0] for row in run_sql(case.sql, case.sql_params)][:20],
                rows=len(ids),
                queries_20=len(queries),
                queries_200=len(queries),
                queries=queries,
                pass_queries=True,
            )
            alone[case.key] = r
        load_after = os.getloadavg()
        split = parts(world, raw, all_cases[0], args.parts) if args.parts else []
        profiles = {}
        if args.profile:
            url = all_cases[0].url()
            profiles["first"] = profiled(lambda: caller.get(url), args.profile_calls, args.profile_top)
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


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    rows = []
    for r in [*result["cases"].values(), *result["alone"].values()]:
        rows.append(
            [
                r["title"],
                *timing_cells(r, "api"),
                "yes" if r["same_rows"] else "NO",
                pass_fail(r["pass_ratio"]),
            ]
        )
    lines.append(table(["request", *timing_headers("API"), "same ids", f"≤{TARGET_RATIO:g}x"], rows))
    lines.append("")
    rows = [
        [r["title"], r["queries_20"], r["queries_200"], pass_fail(r["pass_queries"])]
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
    rows = [
        [
            *summary_cells(res, r, "api"),
            f"{r['queries_20']}/{r['queries_200']}",
            pass_fail(r["pass_ratio"]),
            pass_fail(r["pass_queries"]),
        ]
        for res in results
        for r in [*res["cases"].values(), *res["alone"].values()]
    ]
    return "\n== summary ==\n" + table(
        ["database", "request", "p50 ms", "p95 ms", "SQL p50", "ratio p50", "p95", "queries @20/@200", "≤2x", "same q"],
        rows,
        align="llrrrrrrll",
    )


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return strip_samples(result, ["cases", "alone"], ["api_ms", "sql_ms", "db_ms"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(
        r["pass_ratio"] and r["pass_queries"] and r["same_rows"] for res in results for r in res["cases"].values()
    )


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=1_000_000,
        iterations_help="timed requests per case and side (200)",
        warmup_help="untimed requests first (10)",
    )
    parser.add_argument("--parts", type=int, default=200, help="calls per part of a request timed alone (200; 0: none)")
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
        summary=summary,
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

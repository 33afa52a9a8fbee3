#!/usr/bin/env python
"""How fast the home page (Hoje) answers someone with 30,000 contacts due, against the SQL it needs.

    .venv/bin/python bench/web_home.py                       # SQLite, 1,000,000 tickets
    .venv/bin/python bench/web_home.py --postgres            # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/web_home.py --both --tickets 50000 --due 3000

It builds the tickets of bench/web_query.py (its builders, imported), then gives one agent
30,000 of the open tickets whose next contact is due by the end of today, another agent 30,
and adds a supervisor. It asks for the home page in-process with django.test.Client (logged
in with force_login, production settings: DEBUG off), as a person would: the agent's first
page, the overdue list 10,000 rows deep (reached by following its "Next" links), one phase
(the agent's largest), and the supervisor's view of the whole team. Each is timed
alternately with the SQL the page needs, written by hand in the same run and database: the
session and the user with their role, the team (a supervisor's), the per-phase counts, each
list's count and its first rows — counts read up to 1,001 rows, as the page shows "1,000+".

Budget (shared/PERFORMANCE.md): p95 under 100 ms; the page's time in the database within
1.5x of the SQL it needs; the same number of queries whatever the rows shown (the busy agent's
page against the quiet one's, a deep page against the first, the team against the
supervisor's own).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PAGE,
    add_run_options,
    alternate,
    analyze,
    announce,
    bench_django,
    bench_parser,
    captured_queries,
    environment,
    judge,
    lines_table,
    load_span,
    run,
    run_header,
    run_statements,
    session_sql,
    strip_samples,
    summary_table,
)
from web_query import World, build_world

CAP = 1000  # the page counts up to CAP + 1 rows
PAGE_ROWS = 20  # each list's page

# A row of either list, with what the page shows of it.
ROWS_SELECT = """
    SELECT t.id, t.subject, t.next_contact_at, p.name, st.description, st.colour, cr.description,
        u.first_name, u.last_name, u.username
    FROM tickets_ticket t
    JOIN people_person p ON p.id = t.person_id
    JOIN configurator_servicetype st ON st.id = t.service_type_id
    JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id
    LEFT JOIN auth_user u ON u.id = t.next_contact_user_id"""
TEAM_SQL = """
    SELECT DISTINCT u.id, u.first_name, u.last_name, u.username
    FROM auth_user u
    LEFT JOIN auth_user_groups ug ON ug.user_id = u.id
    LEFT JOIN auth_group g ON g.id = ug.group_id
    WHERE (g.name IN ('admin', 'supervisor', 'agent') OR u.is_superuser) AND u.is_active
    ORDER BY u.first_name, u.last_name, u.username"""


# --- the data: who has what due ------------------------------------------------------------------------------------


@dataclass
class People:
    busy: Any  # the agent with `--due` contacts due
    quiet: Any  # an agent with 30
    boss: Any  # a supervisor with none of their own


def day_bounds() -> tuple[dt.datetime, dt.datetime]:
    """The start of today and its last microsecond, in the site's time zone: what "due" reads."""
    from django.utils import timezone

    now = timezone.localtime()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, now.replace(hour=23, minute=59, second=59, microsecond=999999)


def give_due(user_id: int, count: int, spare: tuple[int, ...] = ()) -> int:
    """Make `user_id` the next contact of `count` open tickets due by the end of today, until now
    another's (but not those of the users in `spare`)."""
    from django.db import connection, transaction

    _start, end = day_bounds()
    others = ", ".join(["%s"] * (len(spare) + 1))
    with transaction.atomic(), connection.cursor() as c:
        c.execute(
            "UPDATE tickets_ticket SET next_contact_user_id = %s WHERE id IN ("
            " SELECT id FROM tickets_ticket WHERE status = 'open' AND next_contact_at <= %s"
            f" AND next_contact_user_id NOT IN ({others}) ORDER BY id LIMIT %s)",
            [user_id, connection.ops.adapt_datetimefield_value(end), user_id, *spare, count],
        )
        return c.rowcount


def make_people(world: World, due: int) -> People:
    from django.contrib.auth.models import User

    from ciclo.accounts.roles import Role, set_role

    quiet = User.objects.create_user(username="agente-tranquilo", password=None, first_name="Tranquilo")
    set_role(quiet, Role.AGENT)
    boss = User.objects.create_user(username="supervisora", password=None, first_name="Supervisora")
    set_role(boss, Role.SUPERVISOR)
    busy = world.user
    give_due(busy.pk, due)
    give_due(quiet.pk, 30, spare=(busy.pk,))
    analyze()
    return People(busy=busy, quiet=User.objects.get(pk=quiet.pk), boss=User.objects.get(pk=boss.pk))


def due_counts(user_id: int | None) -> dict[str, int]:
    """How many contacts are due for this user (None: anyone), overdue and today."""
    from django.db import connection

    start, end = day_bounds()
    ops = connection.ops
    who = "next_contact_user_id = %s" if user_id else "next_contact_user_id IS NOT NULL"
    with connection.cursor() as c:
        c.execute(
            "SELECT COUNT(*), SUM(CASE WHEN next_contact_at < %s THEN 1 ELSE 0 END) FROM tickets_ticket"
            f" WHERE status = 'open' AND {who} AND next_contact_at <= %s",
            [ops.adapt_datetimefield_value(start), *([user_id] if user_id else []), ops.adapt_datetimefield_value(end)],
        )
        total, overdue = c.fetchone()
    return {"due": total or 0, "overdue": overdue or 0, "today": (total or 0) - (overdue or 0)}


def largest_phase(user_id: int) -> tuple[int, str, int]:
    """The phase holding most of this user's contacts due: (id, code, how many)."""
    from django.db import connection

    _start, end = day_bounds()
    with connection.cursor() as c:
        c.execute(
            "SELECT t.cr_id, cr.code, COUNT(*) FROM tickets_ticket t"
            " JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id"
            " WHERE t.status = 'open' AND t.next_contact_user_id = %s AND t.next_contact_at <= %s"
            " GROUP BY t.cr_id, cr.code ORDER BY COUNT(*) DESC, t.cr_id LIMIT 1",
            [user_id, connection.ops.adapt_datetimefield_value(end)],
        )
        cr_id, code, n = c.fetchone()
    return cr_id, code, n


# --- the SQL the page needs ----------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    title: str
    client: Any
    url: str
    user_id: int | None  # whose contacts (None: the team's)
    supervisor: bool
    phase: int | None = None
    cursor: tuple[dt.datetime, int] | None = None  # the overdue list's page starts after this row
    statements: list[tuple[str, list[Any]]] = field(default_factory=list)
    small: tuple[Any, str] | None = None  # (client, url) of the same page with fewer rows: its queries must match


def page_statements(case: Case) -> list[tuple[str, list[Any]]]:
    """Everything the page shows, by hand: who asks, the team, the phases' counts, each list's count and rows."""
    from django.db import connection

    ops = connection.ops
    start, end = (ops.adapt_datetimefield_value(x) for x in day_bounds())
    who, who_params = (
        ("t.next_contact_user_id = %s", [case.user_id]) if case.user_id else ("t.next_contact_user_id IS NOT NULL", [])
    )
    due = f"t.status = 'open' AND {who} AND t.next_contact_at <= %s"
    due_params = [*who_params, end]
    phase, phase_params = ("AND t.cr_id = %s", [case.phase]) if case.phase else ("", [])
    per_phase = (
        "SELECT rc.id, rc.code, rc.description, (SELECT COUNT(*) FROM (SELECT t.id FROM tickets_ticket t"
        f" WHERE {due} AND t.cr_id = rc.id LIMIT {CAP + 1}) capped)"
        " FROM configurator_responsibilitycenter rc ORDER BY rc.code_key"
    )
    overdue = f"{due} {phase} AND t.next_contact_at < %s"
    today = f"{due} {phase} AND t.next_contact_at >= %s"
    overdue_params, today_params = [*due_params, *phase_params, start], [*due_params, *phase_params, start]

    def capped(where: str) -> str:
        return f"SELECT COUNT(*) FROM (SELECT t.id FROM tickets_ticket t WHERE {where} LIMIT {CAP + 1}) capped"

    order = f"ORDER BY t.next_contact_at, t.id LIMIT {PAGE_ROWS + 1}"
    if case.cursor is None:
        overdue_rows = (f"{ROWS_SELECT} WHERE {overdue} {order}", overdue_params)
    else:
        # The cursor is the lower bound (PERFORMANCE.md).
        value, pk = case.cursor
        overdue_rows = (
            f"{ROWS_SELECT} WHERE {overdue} AND (t.next_contact_at, t.id) > (%s, %s) {order}",
            [*overdue_params, ops.adapt_datetimefield_value(value), pk],
        )
    return [
        *session_sql(case.client),
        *([(TEAM_SQL, [])] if case.supervisor else []),
        (per_phase, due_params),
        (capped(overdue), overdue_params),
        overdue_rows,
        (capped(today), today_params),
        (f"{ROWS_SELECT} WHERE {today} {order}", today_params),
    ]


def sql_ids(statements: list[tuple[str, list[Any]]]) -> list[int]:
    """The ids the SQL lists: the overdue page's, then today's (the last four statements: count, rows, count, rows)."""
    results = run_statements(statements)
    return [row[0] for row in results[-3][:PAGE_ROWS]] + [row[0] for row in results[-1][:PAGE_ROWS]]


# --- the page ------------------------------------------------------------------------------------------------------


def get(client: Any, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return response.content.decode()


def page_ids(page: str) -> list[int]:
    """The tickets of the page's tables (the phone's cards repeat them), overdue first."""
    return [int(x) for x in re.findall(r'<tr data-ticket="(\d+)"', page)]


def next_link(page: str, key: str) -> str | None:
    """The address of a list's "Next" link, or None on its last page."""
    found = re.search(r'<a [^>]*href="([^"]*)"[^>]*data-testid="' + key + r'-next"', page)
    return html.unescape(found.group(1)) if found else None


def walk(client: Any, url: str, rows: int) -> tuple[str, int]:
    """The overdue list's page after `rows` rows, by following its "Next" links; (its address, rows passed)."""
    passed = 0
    while passed < rows:
        link = next_link(get(client, url), "overdue")
        if link is None:
            break
        url, passed = "/" + link, passed + PAGE_ROWS
    return url, passed


def row_at(user_id: int, depth: int) -> tuple[dt.datetime, int]:
    """The (next contact, id) of the user's overdue contact number `depth`: where the deep page's SQL starts after."""
    from django.utils import timezone

    from ciclo.tickets.models import Ticket

    start, _end = day_bounds()
    value, pk = (
        Ticket.objects.filter(status="open", next_contact_user_id=user_id, next_contact_at__lt=start)
        .order_by("next_contact_at", "id")
        .values_list("next_contact_at", "id")[depth - 1]
    )
    return timezone.localtime(value), pk


def cases(people: People, client_of: Any, args: argparse.Namespace) -> tuple[list[Case], dict[str, Any]]:
    busy, quiet, boss = client_of(people.busy), client_of(people.quiet), client_of(people.boss)
    cr_id, code, in_phase = largest_phase(people.busy.pk)
    deep_url, passed = walk(busy, "/", args.deep)
    info = {
        "busy": due_counts(people.busy.pk),
        "quiet": due_counts(people.quiet.pk),
        "team": due_counts(None),
        "phase": {"code": code, "due": in_phase},
        "deep": passed,
    }
    n = info["busy"]["due"]
    all_cases = [
        Case("first", f"an agent's home, {n:,} due: first page", busy, "/", people.busy.pk, False, small=(quiet, "/")),
        Case(
            "deep",
            f"same, the overdue list {passed:,} rows deep",
            busy,
            deep_url,
            people.busy.pk,
            False,
            cursor=row_at(people.busy.pk, passed) if passed else None,
            small=(busy, "/"),
        ),
        Case(
            "phase",
            f"same, one phase ({code}: {in_phase:,} due)",
            busy,
            f"/?phase={cr_id}",
            people.busy.pk,
            False,
            phase=cr_id,
            small=(quiet, f"/?phase={cr_id}"),
        ),
        Case(
            "team",
            f"a supervisor's team view, {info['team']['due']:,} due",
            boss,
            "/?user=team",
            None,
            True,
            small=(boss, "/"),
        ),
    ]
    for case in all_cases:
        case.statements = page_statements(case)
    return all_cases, info


# --- timing --------------------------------------------------------------------------------------------------------


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client

        env = environment()
        announce("home page", env, args)
        world, seconds = build_world(args.tickets)
        start = time.perf_counter()
        people = make_people(world, args.due)
        seconds += time.perf_counter() - start

        def client_of(user: Any) -> Any:
            client = Client()
            client.force_login(user)
            get(client, "/")  # the session's first request may write it
            return client

        all_cases, info = cases(people, client_of, args)
        print(
            f"due: the agent {info['busy']['due']:,} ({info['busy']['overdue']:,} overdue), the quiet agent "
            f"{info['quiet']['due']:,}, the team {info['team']['due']:,}; the deep page after {info['deep']:,} rows",
            flush=True,
        )
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            page = get(case.client, case.url)
            same = page_ids(page) == sql_ids(case.statements)
            queries = captured_queries(lambda case=case: get(case.client, case.url))
            assert case.small is not None
            small_client, small_url = case.small
            fewer = captured_queries(lambda c=small_client, u=small_url: get(c, u))
            print(f"timing: {case.title} …", flush=True)
            r = alternate(
                lambda case=case: get(case.client, case.url),
                lambda case=case: run_statements(case.statements),
                args.warmup,
                args.iterations,
            )
            r.update(
                title=case.title,
                same_rows=same,
                rows=len(page_ids(page)),
                bytes=len(page),
                queries=len(queries),
                queries_sql=queries,
                sql_queries=len(case.statements),
                extra=["yes" if same else "NO"],
            )
            judge(r, PAGE, backend, (len(fewer), len(queries)))
            r["checks"]["same rows"] = same
            r["passed"] = all(r["checks"].values())
            results[case.key] = r
        env["load_average"] = load_span(load_before)
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "due": info,
            "cases": results,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    lines.append(lines_table("home page", list(result["cases"].values()), extra=["same rows"]))
    lines.append(
        "\nqueries: fewer rows / these rows (the SQL's statements) — the quiet agent's page, the first page, "
        "the supervisor's own page"
    )
    if show_sql:
        for r in result["cases"].values():
            lines.append(f"\n-- the queries of “{r['title']}”:")
            lines += [f"  {i + 1:2}. {' '.join(sql.split())[:400]}" for i, sql in enumerate(r["queries_sql"])]
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
    parser.add_argument("--due", type=int, default=30_000, help="contacts due for the busy agent (30,000)")
    parser.add_argument("--deep", type=int, default=10_000, help="rows into the overdue list for the deep page")
    parser.add_argument("--show-sql", action="store_true", help="print each page's queries")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="web_home",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=lambda results: summary_table("home page", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""How fast the agenda's week (and day and month) answers, against the SQL it needs for the same rows.

    .venv/bin/python bench/agenda.py                          # SQLite, 100,000 tickets, 100,000 appointments
    .venv/bin/python bench/agenda.py --postgres --tickets 1000000 --appointments 500000
    .venv/bin/python bench/agenda.py --both

It builds the follow-up bench's world (bench/followup.py, on bench/web_query.py's: 20 agents,
the tickets Zipf-skewed over 20 CRs and 30 types, half of them sales types) and `--appointments`
appointments, set-based, spread over the 20 agents across five years (four back, one ahead): a
third of them tickets' next contacts (one per ticket), the past ones done or cancelled, the rest
planned; with 500,000, about a hundred a week for each agent. A quiet agent has three this week.
Then it asks for the agenda in-process with django.test.Client (logged in, production settings:
DEBUG off): an agent's week, the same agent's day and month, and a supervisor's week showing
five agents' calendars. Each is timed alternately with the SQL the page needs, written by hand,
in the same run and database: the session and the user with their role, the team (a
supervisor's), and the appointments that overlap the days shown, with their person's and user's
names.

Budget (shared/PERFORMANCE.md): p95 under 100 ms; the page's time in the database within 1.5x
of the SQL it needs; the same number of queries whatever the rows shown (the quiet agent's week
against the busy one's, the supervisor's own week against five calendars).
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from followup import build_world  # the query bench's world, with each ticket's phase time and sales contacts
from web_query import World

AGENTS = 20  # web_query's world
SPAN_DAYS = 5 * 365  # the appointments' years: four back, one ahead
CHUNK = 50_000

RANGE = """a.start >= %s AND a.start < %s AND a."end" > %s AND a.status <> 'cancelled'"""
ROWS_SQL = """
    SELECT a.id, a.start, a."end", a.title, a.status, a.source, a.place, a.ticket_id, a.user_id,
        p.name, u.first_name, u.last_name, u.username
    FROM agenda_appointment a
    LEFT JOIN people_person p ON p.id = a.person_id
    JOIN auth_user u ON u.id = a.user_id
    WHERE {where}
    ORDER BY a.start, a.id"""
TIMES_SQL = """SELECT a.id, a.start, a."end" FROM agenda_appointment a WHERE {where} ORDER BY a.start, a.id"""
TEAM_SQL = """
    SELECT u.id, u.first_name, u.last_name, u.username
    FROM auth_user u
    WHERE u.is_active AND (u.is_superuser OR EXISTS (SELECT 1 FROM auth_user_groups ug
        JOIN auth_group g ON g.id = ug.group_id WHERE ug.user_id = u.id AND g.name IN ('admin', 'supervisor', 'agent')))
    ORDER BY u.first_name, u.last_name, u.username"""


# --- the data ------------------------------------------------------------------------------------------------------


def build_appointments(world: World, count: int) -> float:
    """`count` appointments, set-based: agent x % 20, a start spread over SPAN_DAYS by a stride coprime to
    its minutes, 30 to 75 minutes long; every third one a ticket's next contact (one per ticket)."""
    from django.db import connection, transaction
    from django.db.models import Max, Min

    from ciclo.people.models import Person
    from ciclo.tickets.models import Ticket

    start_time = time.perf_counter()
    pg = connection.vendor == "postgresql"
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None)
    base = now - dt.timedelta(days=4 * 365)
    span = SPAN_DAYS * 1440

    def ts(minutes: str) -> str:
        if pg:
            return f"(TIMESTAMPTZ '{base:%Y-%m-%d %H:%M:%S}+00' + ({minutes}) * INTERVAL '1 minute')"
        return f"datetime('{base:%Y-%m-%d %H:%M:%S}', '+' || ({minutes}) || ' minutes')"

    now_sql = f"TIMESTAMPTZ '{now:%Y-%m-%d %H:%M:%S}+00'" if pg else f"'{now:%Y-%m-%d %H:%M:%S}'"
    series = (
        "WITH s(x) AS (SELECT generate_series(%s::bigint, %s::bigint))"
        if pg
        else "WITH RECURSIVE s(x) AS (SELECT %s UNION ALL SELECT x + 1 FROM s WHERE x < %s)"
    )
    uid = "gen_random_uuid()" if pg else "lower(hex(randomblob(16)))"
    people = Person.objects.aggregate(lo=Min("id"), hi=Max("id"))
    p0, pn = people["lo"], people["hi"] - people["lo"] + 1
    tickets = Ticket.objects.aggregate(lo=Min("id"), hi=Max("id"))
    t0, tn = tickets["lo"], tickets["hi"] - tickets["lo"] + 1
    u0 = world.user.pk
    start = ts(f"(s.x * 7919) %% {span}")
    sql = f"""{series}
        INSERT INTO agenda_appointment (uid, user_id, start, "end", title, person_id, ticket_id, channel, place,
            notes, status, source, sequence, created_at, updated_at, created_by_id)
        SELECT {uid}, {u0} + s.x %% {AGENTS}, {start}, {ts(f"(s.x * 7919) %% {span} + 30 + (s.x %% 4) * 15")},
            'Compromisso ' || s.x, {p0} + (s.x * 31) %% {pn},
            CASE WHEN s.x %% 3 = 0 AND s.x / 3 < {tn} THEN {t0} + s.x / 3 ELSE NULL END,
            'phone', '', '',
            CASE WHEN {start} >= {now_sql} THEN 'planned' WHEN s.x %% 10 = 0 THEN 'cancelled' ELSE 'done' END,
            CASE WHEN s.x %% 3 = 0 AND s.x / 3 < {tn} THEN 'next_contact' ELSE 'manual' END,
            0, {now_sql}, {now_sql}, {u0} + s.x %% {AGENTS}
        FROM s"""
    for lo in range(1, count + 1, CHUNK):
        hi = min(lo + CHUNK - 1, count)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [lo, hi])
    analyze()
    return time.perf_counter() - start_time


@dataclass
class People:
    busy: Any  # an agent of the world, with about a hundred appointments a week
    quiet: Any  # an agent with three this week
    boss: Any  # a supervisor with none of their own
    five: list[int]  # the agents whose calendars the supervisor opens


def make_people(world: World) -> People:
    from django.contrib.auth.models import User

    from ciclo.accounts.roles import Role, set_role
    from ciclo.agenda.appointments import create_appointment

    quiet = User.objects.create_user(username="agenda-tranquila", password=None, first_name="Tranquila")
    set_role(quiet, Role.AGENT)
    boss = User.objects.create_user(username="agenda-supervisora", password=None, first_name="Supervisora")
    set_role(boss, Role.SUPERVISOR)
    from django.utils import timezone

    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    for n in range(3):
        start = timezone.make_aware(dt.datetime.combine(monday + dt.timedelta(days=n), dt.time(10)))
        create_appointment(user=quiet, start=start, end=start + dt.timedelta(hours=1), title=f"Visita {n}", by=quiet)
    five = list(User.objects.filter(username__regex=r"^agente[0-9]+$").order_by("id")[:5])
    return People(busy=world.user, quiet=quiet, boss=boss, five=[u.pk for u in five])


# --- the SQL the page needs ----------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    title: str
    client: Any
    url: str
    kind: str
    users: list[int]
    supervisor: bool
    small: tuple[Any, str]
    statements: list[tuple[str, list[Any]]] = field(default_factory=list)


def days_shown(kind: str) -> tuple[dt.datetime, dt.datetime]:
    from django.utils import timezone

    from ciclo.agenda.views import _midnight, _range

    first, after = _range(kind, timezone.localdate())
    return _midnight(first), _midnight(after)


def _local(value: Any) -> dt.datetime:
    from django.utils import timezone

    value = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return timezone.localtime(value.replace(tzinfo=dt.UTC) if timezone.is_naive(value) else value)


def month_shown(times: list[tuple[Any, ...]]) -> list[int]:
    """The appointments a month shows, from their (id, start, end): each day's first MONTH_SHOWN of those that
    overlap it (one across midnight shows on both), in the page's order."""
    from ciclo.agenda.views import MONTH_SHOWN

    per_day: dict[dt.date, list[int]] = {}
    for pk, start, end in times:
        day, last = _local(start).date(), (_local(end) - dt.timedelta(microseconds=1)).date()
        while day <= last:
            per_day.setdefault(day, []).append(pk)
            day += dt.timedelta(days=1)
    return list(dict.fromkeys(pk for day in sorted(per_day) for pk in per_day[day][:MONTH_SHOWN]))


def page_statements(case: Case) -> list[tuple[str, list[Any]]]:
    """The session, the team (a supervisor's), the appointments of the days shown; a month's, their times
    (from the index) and then what the page shows of the first of each day."""
    from django.db import connection

    from ciclo.agenda.models import MAX_DURATION

    ops = connection.ops
    start, end = days_shown(case.kind)
    users = ", ".join(["%s"] * len(case.users))
    params = [
        *case.users,
        ops.adapt_datetimefield_value(start - MAX_DURATION),
        ops.adapt_datetimefield_value(end),
        ops.adapt_datetimefield_value(start),
    ]
    first = [*session_sql(case.client), *([(TEAM_SQL, [])] if case.supervisor else [])]
    if case.kind != "month":
        return [*first, (ROWS_SQL.format(where=f"a.user_id IN ({users}) AND {RANGE}"), params)]
    times_sql = TIMES_SQL.format(where=f"a.user_id IN ({users}) AND {RANGE}")
    ids = month_shown(run_statements([(times_sql, params)])[0])
    shown = ", ".join(str(pk) for pk in ids) or "NULL"
    where = f"a.user_id IN ({users}) AND {RANGE} AND a.id IN ({shown})"
    return [*first, (times_sql, params), (ROWS_SQL.format(where=where), params)]


def sql_ids(case: Case) -> list[int]:
    """The appointments the SQL reads, as the page shows them."""
    results = run_statements(case.statements)
    if case.kind != "month":
        return list(dict.fromkeys(row[0] for row in results[-1]))
    shown = month_shown(results[-2])
    return shown if {row[0] for row in results[-1]} == set(shown) else [row[0] for row in results[-1]]


# --- the page ------------------------------------------------------------------------------------------------------


def get(client: Any, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return response.content.decode()


def page_ids(page: str) -> list[int]:
    """The appointments the page shows, each once (one that spans days shows on each)."""
    return list(dict.fromkeys(int(x) for x in re.findall(r'data-testid="appointment-(\d+)"', page)))


def cases(people: People, client_of: Any) -> list[Case]:
    busy, quiet, boss = client_of(people.busy), client_of(people.quiet), client_of(people.boss)
    five = "&".join(f"user={pk}" for pk in people.five)
    b = people.busy.pk
    all_cases = [
        Case("week", "an agent's week", busy, "/agenda/", "week", [b], False, small=(quiet, "/agenda/")),
        Case("day", "same, the day", busy, "/agenda/day/", "day", [b], False, small=(quiet, "/agenda/day/")),
        Case("month", "same, the month", busy, "/agenda/month/", "month", [b], False, small=(quiet, "/agenda/month/")),
        Case(
            "team",
            "a supervisor's week, five calendars",
            boss,
            f"/agenda/?{five}",
            "week",
            people.five,
            True,
            small=(boss, "/agenda/"),
        ),
    ]
    for case in all_cases:
        case.statements = page_statements(case)
    return all_cases


# --- timing --------------------------------------------------------------------------------------------------------


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client

        env = environment()
        announce(f"agenda ({args.appointments:,} appointments)", env, args)
        world, seconds = build_world(args.tickets)
        appointment_seconds = build_appointments(world, args.appointments)
        print(f"built {args.appointments:,} appointments in {appointment_seconds:.1f} s", flush=True)
        people = make_people(world)

        def client_of(user: Any) -> Any:
            client = Client()
            client.force_login(user)
            get(client, "/agenda/")  # the session's first request may write it
            return client

        all_cases = cases(people, client_of)
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            page = get(case.client, case.url)
            same = page_ids(page) == sql_ids(case)
            queries = captured_queries(lambda case=case: get(case.client, case.url))
            small_client, small_url = case.small
            fewer = captured_queries(lambda c=small_client, u=small_url: get(c, u))
            print(f"timing: {case.title} ({len(page_ids(page))} appointments) …", flush=True)
            r = alternate(
                lambda case=case: get(case.client, case.url),
                lambda case=case: run_statements(case.statements),
                args.warmup,
                args.iterations,
            )
            r.update(
                title=f"{case.title}, {len(page_ids(page))} shown",
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
            "appointments": args.appointments,
            "build_seconds": round(seconds + appointment_seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "cases": results,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    lines.append(f"{result['appointments']:,} appointments")
    lines.append(lines_table("agenda", list(result["cases"].values()), extra=["same rows"]))
    lines.append(
        "\nqueries: fewer rows / these rows (the SQL's statements) — the quiet agent's page, the supervisor's own week"
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
        tickets=100_000,
        iterations_help="timed requests per case and side (200)",
        warmup_help="untimed requests first (10)",
    )
    parser.add_argument(
        "--appointments", type=int, default=100_000, help="appointments to build (100,000; the issue's: 500,000)"
    )
    parser.add_argument("--show-sql", action="store_true", help="print each page's queries")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="agenda",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=lambda results: summary_table("agenda", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

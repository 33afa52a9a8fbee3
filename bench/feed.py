#!/usr/bin/env python
"""How fast a user's calendar feed (iCalendar) answers with 2,000 appointments, against the SQL it needs.

    .venv/bin/python bench/feed.py                          # SQLite, 100,000 tickets
    .venv/bin/python bench/feed.py --postgres               # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/feed.py --both --tickets 20000 --others 20000

It builds the tickets of bench/web_query.py (its builders, imported), then gives one agent
2,000 appointments inside the feed's window (30 days back to 180 ahead), each tied to a ticket
and its person, and the other agents `--others` appointments between them (the index is shared).
A second agent has 200 appointments (the same feed with fewer rows: the queries must be the same).
It asks for the feed's URL in-process with django.test.Client (no login: the token is the key,
production settings: DEBUG off), as a calendar application does, and parses nothing: the
bytes are what is measured. Two cases: every VEVENT written again (the cache emptied before
each request: the first request after a change of every appointment), and the VEVENTs kept in
Django's cache (a calendar application asking again). Each is timed alternately with the SQL
the feed needs, written by hand: the token with its user and their role, then the rows.

Budget (the issue): the feed of a user with 2,000 appointments p95 under 300 ms; its time in the
database within 1.5x of the SQL it needs; the same number of queries for 200 and 2,000 rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Budget,
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
)
from web_query import build_world

FEED = Budget("calendar feed", 300.0, db_ratio=1.5)

# The feed's rows (ciclo.reminders.feeds.EVENT_FIELDS) by hand: the appointments overlapping the window,
# then the subjects of their tickets and the names of their people by id (a join makes PostgreSQL
# hash the whole tickets and people tables).
ROWS_SQL = """
    SELECT a.uid, a.start, a."end", a.title, a.place, a.channel, a.notes, a.status, a.sequence,
        a.created_at, a.updated_at, a.ticket_id, a.person_id
    FROM agenda_appointment a
    WHERE a.user_id = %s AND a.start >= %s AND a.start < %s AND a."end" > %s
    ORDER BY a.start, a.id"""
SUBJECTS_SQL = "SELECT t.id, t.subject FROM tickets_ticket t WHERE t.id IN ({ids})"
NAMES_SQL = "SELECT p.id, p.name FROM people_person p WHERE p.id IN ({ids})"
TOKEN_SQL = """
    SELECT s.user_id, u.is_active, u.is_superuser, u.first_name, u.last_name, u.username
    FROM reminders_calendarsettings s JOIN auth_user u ON u.id = s.user_id
    WHERE s.feed_token = %s"""
ROLE_SQL = """
    SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
    WHERE ug.user_id = %s AND g.name IN ('admin', 'supervisor', 'agent')"""
PROFILE_SQL = "SELECT language FROM accounts_profile WHERE user_id = %s"


def make_appointments(world: Any, user: Any, count: int, others: int, rng: random.Random) -> None:
    """`count` appointments of `user` spread over the feed's window, and `others` of the other agents."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from ciclo.agenda.models import Appointment
    from ciclo.tickets.models import Ticket

    now = timezone.now()
    tickets = list(Ticket.objects.order_by("?").values_list("id", "person_id", "subject")[: max(count, 1000)])
    agents = list(User.objects.exclude(pk=user.pk).values_list("pk", flat=True))

    def one(owner: int, i: int) -> Appointment:
        ticket_id, person_id, subject = tickets[i % len(tickets)]
        start = now + dt.timedelta(minutes=rng.randrange(-29 * 24 * 60, 179 * 24 * 60))
        start = start.replace(second=0, microsecond=0)
        return Appointment(
            uid=uuid.uuid4(),
            user_id=owner,
            start=start,
            end=start + dt.timedelta(minutes=30),
            title=f"Ligar: {subject}"[:200],
            person_id=person_id,
            ticket_id=ticket_id,
            channel=rng.choice(["phone", "visit", "whatsapp", ""]),
            place=rng.choice(["", "Rua das Flores, 120 — sala 4"]),
            notes=rng.choice(["", "Levar a proposta revisada e o contrato.\nConfirmar o número de usuários."]),
            status=rng.choice(["planned"] * 8 + ["done", "cancelled"]),
            source="manual",
            sequence=rng.randrange(0, 4),
            created_by_id=owner,
        )

    Appointment.objects.bulk_create([one(user.pk, i) for i in range(count)], batch_size=2000)
    for start in range(0, others, 5000):
        batch = [one(agents[(start + i) % len(agents)], start + i) for i in range(min(5000, others - start))]
        Appointment.objects.bulk_create(batch, batch_size=2000)


def statements(token: str, user_id: int) -> list[tuple[str, list[Any]]]:
    """The SQL the feed needs; the ids of its tickets and people are read once here, as its first query gives them."""
    from django.utils import timezone

    now = timezone.now()
    start, end = now - dt.timedelta(days=30), now + dt.timedelta(days=180)
    window = [user_id, start - dt.timedelta(days=7), end, start]
    [rows] = run_statements([(ROWS_SQL, window)])
    tickets = sorted({r[11] for r in rows if r[11] is not None})
    people = sorted({r[12] for r in rows if r[12] is not None})
    return [
        (TOKEN_SQL, [token]),
        (ROLE_SQL, [user_id]),
        (PROFILE_SQL, [user_id]),
        (ROWS_SQL, window),
        (SUBJECTS_SQL.format(ids=", ".join(["%s"] * len(tickets))), tickets),
        (NAMES_SQL.format(ids=", ".join(["%s"] * len(people))), people),
    ]


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.contrib.auth.models import User
        from django.core.cache import cache
        from django.test import Client

        from ciclo.accounts.roles import Role, set_role
        from ciclo.reminders.feeds import calendar_settings, feed_path

        env = environment()
        announce("calendar feed", env, args)
        world, seconds = build_world(args.tickets)
        start = time.perf_counter()
        rng = random.Random(11)
        busy = User.objects.create_user("agenda_cheia", first_name="Agenda", last_name="Cheia")
        quiet = User.objects.create_user("agenda_leve")
        for u in (busy, quiet):
            set_role(u, Role.AGENT)
        make_appointments(world, busy, args.appointments, args.others, rng)
        make_appointments(world, quiet, args.appointments // 10, 0, rng)
        seconds += time.perf_counter() - start
        from _common import analyze

        analyze()
        print(f"built {args.appointments:,} + {args.appointments // 10:,} + {args.others:,} appointments", flush=True)

        client = Client()
        urls = {u.pk: feed_path(u) for u in (busy, quiet)}
        tokens = {u.pk: calendar_settings(u).feed_token for u in (busy, quiet)}

        def feed(user_id: int) -> bytes:
            response = client.get(urls[user_id])
            if response.status_code != 200:
                raise RuntimeError(f"the feed answered {response.status_code}")
            return response.content

        def cold(user_id: int) -> bytes:
            cache.clear()
            return feed(user_id)

        sql = statements(tokens[busy.pk], busy.pk)
        body = feed(busy.pk)
        rows = run_statements(sql)[3]
        events = body.count(b"BEGIN:VEVENT")
        same = events == len(rows)
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for key, title, subject in (
            ("cold", f"feed, {events:,} events, each written again", cold),
            ("cached", f"feed, {events:,} events kept in the cache", feed),
        ):
            queries = captured_queries(lambda subject=subject: subject(busy.pk))
            fewer = captured_queries(lambda subject=subject: subject(quiet.pk))
            print(f"timing: {title} …", flush=True)
            r = alternate(
                lambda subject=subject: subject(busy.pk), lambda: run_statements(sql), args.warmup, args.iterations
            )
            r.update(
                title=title,
                rows=events,
                bytes=len(body),
                queries=len(queries),
                queries_sql=queries,
                sql_queries=len(sql),
                extra=["yes" if same else "NO"],
            )
            judge(r, FEED, backend, (len(fewer), len(queries)))
            r["checks"]["same rows"] = same
            r["passed"] = all(r["checks"].values())
            if args.profile:
                r["profile"] = profiled(lambda subject=subject: subject(busy.pk), 5, 25)
            results[key] = r
        env["load_average"] = load_span(load_before)
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "appointments": args.appointments,
            "cases": results,
        }


def report(result: dict[str, Any]) -> str:
    lines = run_header(result)
    lines.append(lines_table("calendar feed", list(result["cases"].values()), extra=["same rows"]))
    lines.append(
        f"\n{result['appointments']:,} appointments of one user; queries: the user with a tenth as many / this one "
        "(the SQL's statements); bytes of the feed: " + ", ".join(f"{r['bytes']:,}" for r in result["cases"].values())
    )
    for r in result["cases"].values():
        if "profile" in r:
            lines.append(f"\n-- profile of “{r['title']}” (5 requests):\n{r['profile']}")
    return "\n".join(lines)


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return strip_samples(result, ["cases"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for res in results for r in res["cases"].values())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=100_000,
        iterations_help="timed requests per case and side (50)",
        warmup_help="untimed requests first (5)",
    )
    parser.set_defaults(iterations=50, warmup=5)
    parser.add_argument("--appointments", type=int, default=2000, help="appointments of the user whose feed is read")
    parser.add_argument("--others", type=int, default=100_000, help="appointments of the other users (100,000)")
    parser.add_argument("--profile", action="store_true", help="print a profile of the feed written again")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="feed",
        run_backend=run_backend,
        strip=strip,
        report=report,
        summary=lambda results: summary_table("calendar feed", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

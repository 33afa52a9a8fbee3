#!/usr/bin/env python
"""How fast the ticket query page answers, against the SQL it needs for the same rows.

    .venv/bin/python bench/web_query.py                      # SQLite, 1,000,000 tickets
    .venv/bin/python bench/web_query.py --postgres           # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/web_query.py --both --tickets 50000

It builds tickets set-based (INSERT … SELECT; Zipf-skewed over 20 CRs and 30 types,
half of them closed), then requests the query page in-process with django.test.Client
(logged in with force_login, production settings: DEBUG off) and times the server's
answer: the whole page and the htmx fragment of a filtered first page (CR + type +
next-contact range, open tickets, by next contact), the same filter 10,000 rows deep
(reached by following the page's "Next" links, as a person would), and the page with no
filter. Each is timed alternately with the SQL the page needs, written by hand, in the
same run and database: the session and the user with their role, the rows, the capped
count the first page shows, the filter's choices (types, CRs, companies, users) and the
scenarios the user sees; the htmx fragment needs the session, the rows and the count.

Budget (shared/PERFORMANCE.md): p95 under 100 ms; the page's time in the database within
1.5x of the SQL it needs; the same number of queries for 200 rows shown as for 20 (one
fewer when every row fits on the page: the first page's capped count is then not needed).
Notes are not built: the text filter is not measured (bench/people_search.py does).
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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

CHUNK = 50_000  # tickets per INSERT … SELECT
PEOPLE_CHUNK = 5_000
CRS = 20
TYPES = 30
COMPANIES = 3
SLOTS = 1000  # the Zipf tables: a ticket picks a slot, a slot names a CR (or a type)

FIRST = ["Ana", "Bruno", "Carla", "Daniel", "Éverton", "Fernanda", "Gustavo", "Helena", "Íris", "João"]
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes"]


# --- the data ------------------------------------------------------------------------------------------------------


@dataclass
class World:
    crs: list[Any]  # the open ones, most frequent first
    closing_cr: Any
    types: list[Any]  # most frequent first
    user: Any  # who looks at the page
    tickets: int = 0


def zipf_slots(ids: list[int], rng: random.Random) -> list[int]:
    """SLOTS entries, id k (1-based rank) taking a share proportional to 1/k, shuffled over the slots."""
    weights = [1 / k for k in range(1, len(ids) + 1)]
    total = sum(weights)
    counts = [max(1, round(SLOTS * w / total)) for w in weights]
    counts[0] += SLOTS - sum(counts)
    slots = [i for i, n in zip(ids, counts, strict=True) for _ in range(n)]
    rng.shuffle(slots)
    return slots


def make_world(agents: int) -> World:
    from django.contrib.auth.models import User
    from django.db import connection

    from ciclo.accounts.roles import Role, set_role
    from ciclo.configurator.models import CrmOptions, ResponsibilityCenter, ServiceType, Workflow, WorkflowStep
    from ciclo.people.models import Company

    rng = random.Random(7)
    crs = [ResponsibilityCenter.objects.create(code=str(n), description=f"Fase {n}") for n in range(1, CRS)]
    closing = ResponsibilityCenter.objects.create(code=str(CRS), description="Encerrado", closes_process=True)
    workflow = Workflow.objects.create(code="bench", description="Bench")
    steps = {}
    for i, cr in enumerate([*crs, closing]):
        steps[cr.pk] = WorkflowStep.objects.create(
            workflow=workflow, order=i * 5, kind="cr", cr=cr, next_order=None if cr is closing else (i + 1) * 5
        )
    ServiceType.objects.create(code="9", description="Atendimentos", kind=ServiceType.Kind.SYNTHETIC)
    types = [
        ServiceType.objects.create(
            code=f"9.{n}",
            description=f"Tipo {n}",
            kind=ServiceType.Kind.ANALYTICAL,
            workflow=workflow,
            colour=f"#{rng.randrange(0x1000000):06x}",
        )
        for n in range(1, TYPES + 1)
    ]
    for n in range(1, COMPANIES + 1):
        Company.objects.create(code=f"E{n}", name=f"Empresa {n}")
    CrmOptions.current()
    users = []
    for n in range(1, agents + 1):
        user = User.objects.create_user(username=f"agente{n}", password=None, first_name="Agente", last_name=str(n))
        set_role(user, Role.AGENT)
        users.append(user)
    with connection.cursor() as c:
        c.execute("CREATE TABLE bench_cr_slot (slot integer PRIMARY KEY, cr_id bigint, step_id bigint)")
        c.execute("CREATE TABLE bench_type_slot (slot integer PRIMARY KEY, type_id bigint)")
        cr_slots = zipf_slots([cr.pk for cr in crs], rng)
        c.executemany(
            "INSERT INTO bench_cr_slot VALUES (%s, %s, %s)",
            [(i, cr_id, steps[cr_id].pk) for i, cr_id in enumerate(cr_slots)],
        )
        type_slots = zipf_slots([t.pk for t in types], rng)
        c.executemany("INSERT INTO bench_type_slot VALUES (%s, %s)", list(enumerate(type_slots)))
    return World(crs=crs, closing_cr=closing, types=types, user=User.objects.get(pk=users[0].pk))


def build_people(count: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from ciclo.people.documents import cpf_check_digits
    from ciclo.people.text import fold

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        "INSERT INTO people_person (name, search_name, kind, document, trade_name, city, state, notes, active, "
        "created_at) VALUES (%s, %s, 'individual', %s, '', 'São Paulo', 'SP', '', %s, %s)"
    )
    for lo in range(1, count + 1, PEOPLE_CHUNK):
        rows = []
        for n in range(lo, min(lo + PEOPLE_CHUNK, count + 1)):
            name = f"{FIRST[n % 10]} {LAST[(n // 10) % 10]} {LAST[(n // 100) % 10]} {n}"
            rows.append((name, fold(name), cpf_check_digits(f"{n + 100000000:09d}"), True, now))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def build_tickets(world: World, count: int, progress: Callable[[int], None]) -> None:
    """`count` tickets: odd numbers open in a Zipf-chosen CR, even ones closed; 30 days of next contacts."""
    import datetime as dt

    from django.db import connection, transaction
    from django.db.models import Max, Min

    from ciclo.configurator.models import Workflow, WorkflowStep
    from ciclo.people.models import Company, Person

    pg = connection.vendor == "postgresql"
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None)
    base_next, base_open = now - dt.timedelta(days=15), now - dt.timedelta(days=400)

    def ts(base: dt.datetime, minutes: str) -> str:
        if pg:
            return f"(TIMESTAMPTZ '{base:%Y-%m-%d %H:%M:%S}+00' + ({minutes}) * INTERVAL '1 minute')"
        return f"datetime('{base:%Y-%m-%d %H:%M:%S}', '+' || ({minutes}) || ' minutes')"

    series = (
        "WITH s(x) AS (SELECT generate_series(%s::bigint, %s::bigint))"
        if pg
        else "WITH RECURSIVE s(x) AS (SELECT %s UNION ALL SELECT x + 1 FROM s WHERE x < %s)"
    )
    people = Person.objects.aggregate(lo=Min("id"), hi=Max("id"))
    p0, pn = people["lo"], people["hi"] - people["lo"] + 1
    c0 = Company.objects.order_by("id").values_list("id", flat=True)[0]
    u0 = world.user.pk
    workflow = Workflow.objects.get(code="bench")
    closing_step = WorkflowStep.objects.get(workflow=workflow, cr=world.closing_cr)
    sql = f"""{series}
        INSERT INTO tickets_ticket (status, subject, channel, priority, next_contact_at, opened_at, closed_at,
            version, company_id, contact_person_id, cr_id, next_contact_user_id, opened_by_id, person_id,
            service_type_id, step_id, workflow_id, phase_entered_at)
        SELECT CASE WHEN s.x %% 2 = 0 THEN 'closed' ELSE 'open' END,
            'Atendimento ' || s.x,
            CASE s.x %% 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' ELSE 'whatsapp' END,
            1 + (s.x * 31) %% 5,
            {ts(base_next, "(s.x * 37) %% 43200")},
            {ts(base_open, "s.x / 2")},
            CASE WHEN s.x %% 2 = 0 THEN {ts(base_open, "s.x / 2 + 1440")} ELSE NULL END,
            1, {c0} + s.x %% {COMPANIES}, NULL,
            CASE WHEN s.x %% 2 = 0 THEN {world.closing_cr.pk} ELSE c.cr_id END,
            {u0} + (s.x * 13) %% 20, {u0} + s.x %% 20, {p0} + (s.x * 7919) %% {pn},
            t.type_id,
            CASE WHEN s.x %% 2 = 0 THEN {closing_step.pk} ELSE c.step_id END,
            {workflow.pk},
            {ts(base_open, "s.x / 2")}
        FROM s
        JOIN bench_cr_slot c ON c.slot = ((s.x / 2) * 7919) %% {SLOTS}
        JOIN bench_type_slot t ON t.slot = ((s.x / 2) * 104729 + s.x %% 2) %% {SLOTS}"""
    for lo in range(world.tickets + 1, world.tickets + count + 1, CHUNK):
        hi = min(lo + CHUNK - 1, world.tickets + count)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [lo, hi])
        progress(hi - lo + 1)
    world.tickets += count


def build(world: World, tickets: int) -> float:
    from tqdm import tqdm

    start = time.perf_counter()
    build_people(max(1, tickets // 5))
    with tqdm(total=tickets, desc="tickets", unit="ticket", dynamic_ncols=True, leave=False) as bar:
        build_tickets(world, tickets, bar.update)
    analyze()
    return time.perf_counter() - start


def build_world(tickets: int) -> tuple[World, float]:
    """The configuration (20 agents) and `tickets` tickets with a fifth as many people; the seconds the build took."""
    world = make_world(agents=20)
    seconds = build(world, tickets)
    print(f"built {tickets:,} tickets and {max(1, tickets // 5):,} people in {seconds:.1f} s", flush=True)
    return world, seconds


# --- what is measured ----------------------------------------------------------------------------------------------

SELECT = """
    SELECT t.id, t.subject, t.status, t.priority, t.channel, t.opened_at, t.next_contact_at,
        p.name, p.document, st.code, st.description, st.colour, cr.code, cr.description,
        c.name, u.first_name, u.last_name, u.username
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
    url: str
    htmx: bool
    sql: str  # the rows
    params: list[Any]
    more: list[tuple[str, list[Any]]] = field(default_factory=list)  # the rest of what the page shows


# What the filter form offers and the scenarios list shows.
CHOICES_SQL = [
    (
        "SELECT id, code, description, active FROM configurator_servicetype"
        " WHERE kind = 'analytical' ORDER BY code_key",
        [],
    ),
    ("SELECT id, code, description, active FROM configurator_responsibilitycenter ORDER BY code_key", []),
    ("SELECT id, code, name FROM people_company ORDER BY code", []),
    (
        "SELECT DISTINCT u.id, u.first_name, u.last_name, u.username FROM auth_user u"
        " LEFT JOIN auth_user_groups g ON g.user_id = u.id"
        " WHERE (g.id IS NOT NULL OR u.is_superuser) AND u.is_active"
        " ORDER BY u.first_name, u.last_name, u.username",
        [],
    ),
]
SCENARIOS_SQL = (
    "SELECT s.id, s.name, s.owner_id, s.shared, s.params, s.columns, u.username FROM tickets_scenario s"
    " JOIN auth_user u ON u.id = s.owner_id WHERE s.owner_id = %s OR s.shared ORDER BY s.name, s.id"
)
# The first page's count, capped as the page caps it (COUNT_CAP + 1 index entries at most).
COUNT_SQL = "SELECT COUNT(*) FROM (SELECT t.id FROM tickets_ticket t {where} LIMIT 1001) AS capped"
COLUMNS = "number,opened,person,document,subject,type,phase,status,next_contact,next_contact_user,company"


def link(page: str, testid: str) -> str | None:
    """The address of the link marked data-testid=`testid`, or None."""
    tag = re.search(r'<a\b[^>]*\bdata-testid="' + re.escape(testid) + r'"[^>]*>', page)
    href = re.search(r'\bhref="([^"]*)"', tag.group(0)) if tag else None
    return html.unescape(href.group(1)) if href else None


def cursor_after(client: Any, url: str, depth: int) -> tuple[str, int]:
    """The page's cursor after `depth` rows, by following its "Next" links with pages of 200; (cursor, rows)."""
    after, passed = "", 0
    while passed < depth:
        page = request(client, None, f"{url}&size=200" + (f"&after={after}" if after else "")).content.decode()
        found = link(page, "next-page")
        if found is None:
            break
        after, passed = parse_qs(urlsplit(found).query)["after"][0], passed + 200
    return after, passed


def cases(world: World, client: Any, deep: int) -> tuple[list[Case], dict[str, Any]]:
    """The requests and, for each, the hand-written SQL of the same rows (20 and one more, to know of a next page)."""
    import datetime as dt
    from urllib.parse import quote

    from django.db import connection
    from django.utils import timezone

    ops = connection.ops
    cr, st = world.crs[0], world.types[0]
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=10), today + dt.timedelta(days=10)
    params = {
        "crs": cr.pk,
        "service_types": st.pk,
        "status": "open",
        "next_contact_from": start.isoformat(),
        "next_contact_to": end.isoformat(),
        "sort": "next_contact_at",
        "cols": COLUMNS,
    }
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    lo = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    hi = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    where = "WHERE t.status = 'open' AND t.cr_id = %s AND t.service_type_id = %s"
    range_where = f"{where} AND t.next_contact_at >= %s AND t.next_contact_at < %s"
    first_params = [cr.pk, st.pk, ops.adapt_datetimefield_value(lo), ops.adapt_datetimefield_value(hi)]
    with connection.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM tickets_ticket t {range_where}", first_params)
        matching = c.fetchone()[0]
    cursor, depth = cursor_after(client, f"/tickets/?{qs}", min(deep, max(0, matching - 20)))
    value, pk = None, None
    if depth:
        with connection.cursor() as c:  # the row the walk stopped after, to start the SQL from
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
    deep_params = [cr.pk, st.pk, ops.adapt_datetimefield_value(hi), value, pk]
    landing_sql = f"{SELECT} ORDER BY t.opened_at DESC, t.id DESC LIMIT 21"
    count = (COUNT_SQL.format(where=range_where), first_params)
    chrome = [*CHOICES_SQL, (SCENARIOS_SQL, [world.user.pk])]
    signed_in = session_sql(client)
    all_cases = [
        Case(
            "first",
            "filtered first page (CR + type + next-contact range)",
            f"/tickets/?{qs}",
            False,
            first_sql,
            first_params,
            [count, *chrome],
        ),
        Case("first_htmx", "same, htmx fragment", f"/tickets/?{qs}", True, first_sql, first_params, [count]),
        Case(
            "landing",
            "no filter, newest first",
            "/tickets/?cols=" + COLUMNS,
            False,
            landing_sql,
            [],
            [(COUNT_SQL.format(where=""), []), *chrome],
        ),
    ]
    if depth:
        all_cases.insert(
            2,
            Case(
                "deep",
                f"same filter, {depth:,} rows deep by cursor",
                f"/tickets/?{qs}&after={quote(cursor)}",
                False,
                deep_sql,
                deep_params,
                chrome,
            ),
        )
    for case in all_cases:
        case.more = [*signed_in, *case.more]
    return all_cases, {"matching": matching, "depth": depth, "cr": cr.code, "type": st.code}


def page_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-ticket="(\d+)"', page)]


def sql_ids(case: Case) -> list[int]:
    return [row[0] for row in run_statements([(case.sql, case.params)])[0]][:20]


def request(client: Any, case: Case | None, url: str | None = None) -> Any:
    headers = {"HTTP_HX_REQUEST": "true"} if case is not None and case.htmx else {}
    address = url or (case.url if case else "/")
    response = client.get(address, **headers)
    if response.status_code != 200:
        raise RuntimeError(f"{address} answered {response.status_code}")
    return response


def run_sql(case: Case) -> None:
    """Everything the page shows, by hand: the rows, then the rest (session and user, count, choices, scenarios)."""
    run_statements([(case.sql, case.params), *case.more])


def queries_of(client: Any, case: Case, url: str) -> int:
    return len(captured_queries(lambda: request(client, case, url)))


def measure(client: Any, case: Case, warmup: int, iterations: int) -> dict[str, Any]:
    """The page and the SQL it needs, alternately; the page's time spent in the database driver too."""
    return {"title": case.title, **alternate(lambda: request(client, case), lambda: run_sql(case), warmup, iterations)}


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client

        env = environment()
        announce("query page", env, args)
        world, seconds = build_world(args.tickets)
        client = Client()
        client.force_login(world.user)
        request(client, None, "/tickets/")  # the session's first request may write it
        all_cases, info = cases(world, client, args.deep)
        print(
            f"filter: CR {info['cr']}, type {info['type']}, open, 21 days of next contacts → "
            f"{info['matching']:,} tickets; deep page at {info['depth']:,}",
            flush=True,
        )
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            page = request(client, case).content.decode()
            same = page_ids(page) == sql_ids(case)
            small = queries_of(client, case, case.url.replace("/tickets/?", "/tickets/?size=20&"))
            large = queries_of(client, case, case.url.replace("/tickets/?", "/tickets/?size=200&"))
            print(f"timing: {case.title} …", flush=True)
            r = measure(client, case, args.warmup, args.iterations)
            r.update(
                same_rows=same,
                rows=len(page_ids(page)),
                sql_queries=1 + len(case.more),
                extra=["yes" if same else "NO"],
            )
            # One fewer for 200 rows when every row fits on the page: the capped count is then not needed.
            judge(r, PAGE, backend, (small, small if large == small - 1 else large))
            r["queries_large"] = large
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
            "filter": info,
            "cases": results,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    lines = run_header(result)
    lines.append(lines_table("query page", list(result["cases"].values()), extra=["same rows"]))
    lines.append("\nqueries: 20 rows shown / 200 rows shown (the SQL's statements)")
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
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="web_query",
        run_backend=run_backend,
        strip=strip,
        report=report,
        summary=lambda results: summary_table("query page", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""How fast the follow-up list answers, against the SQL it needs for the same rows.

    .venv/bin/python bench/followup.py                        # SQLite, 100,000 tickets
    .venv/bin/python bench/followup.py --postgres --tickets 1000000
    .venv/bin/python bench/followup.py --both

It builds the query bench's world (bench/web_query.py: 20 CRs Zipf-skewed, 30 types, half the
tickets closed, 20 agents) with half the types sales types (and every ticket of them a sales
contact with a success chance and an expected value), phases that go stale after a few business
days and a few days off; then requests /followup/ in-process with django.test.Client (logged
in, production settings: DEBUG off) and times the server's answer: an agent's list (every
group's first page, the counts and the weighted pipeline of all their open sales contacts), the
same sorted by expected value (every contact read to sort), "stale only", one phase with a
success range, the overdue group deep by cursor, and a supervisor's view of one colleague. Each
is timed alternately with the SQL the page needs, written by hand, in the same run and database:
the session and the user with their role, the sales types, the access option, the counts and the
pipeline in one aggregate, each group's page, the cycle progress of the rows shown, the days off,
and what the filter form offers (sales types, phases; the team for a supervisor).

Budget (shared/PERFORMANCE.md): p95 under 100 ms; the page's time in the database within 1.5x of
the SQL it needs; the same number of queries for an agent with 30 contacts as for the busy one.
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
from web_query import CHUNK, COMPANIES, SLOTS, World, build_people, make_world

PAGE_ROWS = 25  # ciclo.sales.followup.PAGE_SIZE


# --- the data ------------------------------------------------------------------------------------------------------


def build_tickets(world: World, count: int, progress: Any) -> None:
    """`count` tickets as the query bench builds them, with the time each entered its phase (0 to 40 days
    ago), one in 50 with no next-contact user; then a sales contact for every ticket of a sales type."""
    from django.db import connection, transaction
    from django.db.models import Max, Min

    from ciclo.configurator.models import Workflow, WorkflowStep
    from ciclo.people.models import Company, Person

    pg = connection.vendor == "postgresql"
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, tzinfo=None)
    base_next, base_open, base_entered = now - dt.timedelta(days=15), now - dt.timedelta(days=400), now
    base_entered -= dt.timedelta(days=40)

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
            phase_entered_at, version, company_id, contact_person_id, cr_id, next_contact_user_id, opened_by_id,
            person_id, service_type_id, step_id, workflow_id, search_text)
        SELECT CASE WHEN s.x %% 2 = 0 THEN 'closed' ELSE 'open' END,
            'Atendimento ' || s.x,
            CASE s.x %% 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' ELSE 'whatsapp' END,
            1 + (s.x * 31) %% 5,
            {ts(base_next, "(s.x * 37) %% 43200")},
            {ts(base_open, "s.x / 2")},
            CASE WHEN s.x %% 2 = 0 THEN {ts(base_open, "s.x / 2 + 1440")} ELSE NULL END,
            {ts(base_entered, "(s.x * 53) %% 57600")},
            1, {c0} + s.x %% {COMPANIES}, NULL,
            CASE WHEN s.x %% 2 = 0 THEN {world.closing_cr.pk} ELSE c.cr_id END,
            CASE WHEN s.x %% 50 = 1 THEN NULL ELSE {u0} + ((s.x / 2) * 13) %% 20 END,
            {u0} + s.x %% 20, {p0} + (s.x * 7919) %% {pn},
            t.type_id,
            CASE WHEN s.x %% 2 = 0 THEN {closing_step.pk} ELSE c.step_id END,
            {workflow.pk}, 'atendimento ' || s.x
        FROM s
        JOIN bench_cr_slot c ON c.slot = ((s.x / 2) * 7919) %% {SLOTS}
        JOIN bench_type_slot t ON t.slot = ((s.x / 2) * 104729 + s.x %% 2) %% {SLOTS}"""
    for lo in range(world.tickets + 1, world.tickets + count + 1, CHUNK):
        hi = min(lo + CHUNK - 1, world.tickets + count)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [lo, hi])
        progress(hi - lo + 1)
    world.tickets += count
    sales_ids = ",".join(str(t.pk) for t in world.types if t.sales)
    today = dt.date.today().isoformat()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sales_salescontact (ticket_id, contact_date, success, success_by_hand, expected_value,"
            " outcome, outcome_text, version)"
            f" SELECT t.id, '{today}', CASE WHEN t.id %% 7 = 0 THEN NULL ELSE (t.id * 17) %% 101 END, FALSE,"
            " CASE WHEN t.id %% 5 = 0 THEN NULL ELSE ((t.id * 7919) %% 100000) * 10 END, '', '', 1"
            f" FROM tickets_ticket t WHERE t.service_type_id IN ({sales_ids})",
            [],
        )


def build_world(tickets: int) -> tuple[World, float]:
    from django.contrib.auth.models import User
    from tqdm import tqdm

    from ciclo.accounts.roles import Role, set_role
    from ciclo.configurator.models import ResponsibilityCenter, ServiceType
    from ciclo.people.models import Company
    from ciclo.sales.models import DayOff

    start = time.perf_counter()
    world = make_world(agents=20)
    # The even types are sales types, the frequent ones among them; the phases go stale after 2 to 10 days.
    ServiceType.objects.filter(pk__in=[t.pk for t in world.types[::2]]).update(sales=True)
    world.types = list(ServiceType.objects.filter(kind=ServiceType.Kind.ANALYTICAL).order_by("code_key"))
    for i, cr in enumerate(world.crs):
        ResponsibilityCenter.objects.filter(pk=cr.pk).update(stale_after_days=2 + i % 9, default_success=5 * i)
    company = Company.objects.order_by("id").first()
    today = dt.date.today()
    DayOff.objects.create(date=today - dt.timedelta(days=9), company=company, description="Inventário")
    DayOff.objects.create(date=today - dt.timedelta(days=23), company=None, description="Ponto facultativo")
    build_people(max(1, tickets // 5))
    with tqdm(total=tickets, desc="tickets", unit="ticket", dynamic_ncols=True, leave=False) as bar:
        build_tickets(world, tickets, bar.update)
    quiet = User.objects.create_user(username="agente-tranquilo", password=None, first_name="Tranquilo")
    set_role(quiet, Role.AGENT)
    _give_some(quiet.pk, world.user.pk, 30)
    analyze()
    seconds = time.perf_counter() - start
    print(f"built {tickets:,} tickets and {max(1, tickets // 5):,} people in {seconds:.1f} s", flush=True)
    return world, seconds


def _give_some(user_id: int, but_not: int, count: int) -> None:
    """Give `user_id` about `count` open sales contacts, some in each group: overdue, today's, upcoming, and
    a few they opened with no next contact."""
    from django.db import connection, transaction
    from django.utils import timezone

    start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    ops = connection.ops
    bounds = [
        ("t.next_contact_at < %s", [start]),
        ("t.next_contact_at >= %s AND t.next_contact_at < %s", [start, start + dt.timedelta(days=1)]),
        ("t.next_contact_at >= %s", [start + dt.timedelta(days=1)]),
    ]
    with transaction.atomic(), connection.cursor() as c:
        for where, params in bounds:
            c.execute(
                "UPDATE tickets_ticket SET next_contact_user_id = %s WHERE id IN (SELECT t.id FROM tickets_ticket t"
                " JOIN sales_salescontact s ON s.ticket_id = t.id WHERE t.status = 'open'"
                f" AND t.next_contact_user_id <> %s AND {where} ORDER BY t.id LIMIT %s)",
                [user_id, but_not, *(ops.adapt_datetimefield_value(p) for p in params), count // 3],
            )
        c.execute(
            "UPDATE tickets_ticket SET opened_by_id = %s WHERE id IN (SELECT t.id FROM tickets_ticket t"
            " JOIN sales_salescontact s ON s.ticket_id = t.id WHERE t.status = 'open'"
            " AND t.next_contact_user_id IS NULL ORDER BY t.id LIMIT 3)",
            [user_id],
        )


# --- the SQL the page needs ----------------------------------------------------------------------------------------

ROW_SELECT = """
    SELECT t.id, t.subject, t.version, t.next_contact_at, t.next_contact_user_id, u.username, u.first_name,
        u.last_name, t.person_id, p.name, t.channel, t.service_type_id, st.code, st.description, st.colour,
        s.referral_id, r.name, s.success, s.expected_value, t.cr_id, cr.code, cr.description, cr.stale_after_days,
        t.phase_entered_at, t.company_id{sort_column}
    FROM tickets_ticket t
    JOIN people_person p ON p.id = t.person_id
    JOIN configurator_servicetype st ON st.id = t.service_type_id
    JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id
    LEFT JOIN auth_user u ON u.id = t.next_contact_user_id
    LEFT JOIN sales_salescontact s ON s.ticket_id = t.id
    LEFT JOIN people_person r ON r.id = s.referral_id"""
PROGRESS_SQL = """
    SELECT t.id,
        (SELECT COUNT(*) FROM configurator_question q JOIN configurator_servicetype qt ON qt.cycle_id = q.cycle_id
         WHERE qt.id = t.service_type_id AND q.cr_id = t.cr_id AND q.active),
        (SELECT COUNT(*) FROM configurator_question q JOIN configurator_servicetype qt ON qt.cycle_id = q.cycle_id
         WHERE qt.id = t.service_type_id AND q.cr_id = t.cr_id AND q.active AND EXISTS (SELECT 1 FROM
         tickets_answer a WHERE a.ticket_id = t.id AND a.question_id = q.id AND NOT a.is_empty)),
        (SELECT COUNT(*) FROM configurator_question q JOIN configurator_servicetype qt ON qt.cycle_id = q.cycle_id
         WHERE qt.id = t.service_type_id AND q.cr_id = t.cr_id AND q.active AND q.required AND NOT EXISTS (SELECT 1
         FROM tickets_answer a WHERE a.ticket_id = t.id AND a.question_id = q.id AND NOT a.is_empty))
    FROM tickets_ticket t WHERE t.id IN ({ids})"""
CHROME_SQL = [
    ("SELECT id, parent_id, sales FROM configurator_servicetype", []),  # which types are sales types (once)
    ("SELECT 1 FROM configurator_crmoptions WHERE id = 1 AND access_control_user_company LIMIT 1", []),
    ("SELECT date, company_id FROM sales_dayoff", []),
]
FORM_SQL = [
    (
        "SELECT id, code, description FROM configurator_servicetype WHERE kind = 'analytical' AND id IN ({sales})"
        " ORDER BY code_key",
        [],
    ),
    ("SELECT id, code, description FROM configurator_responsibilitycenter ORDER BY code_key", []),
]
TEAM_SQL = (
    "SELECT u.id, u.first_name, u.last_name, u.username FROM auth_user u WHERE u.is_active AND (u.is_superuser OR"
    " EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id WHERE ug.user_id = u.id"
    " AND g.name IN ('admin', 'supervisor', 'agent'))) ORDER BY u.first_name, u.last_name, u.username"
)


@dataclass
class Case:
    key: str
    title: str
    client: Any
    url: str
    user_id: int
    supervisor: bool = False
    where: str = ""  # more conditions, on t and s
    params: list[Any] = field(default_factory=list)
    order: tuple[str, str] = ("t.next_contact_at", "ASC")  # the groups' sort (then by id)
    cursor_group: str = ""
    cursor: tuple[Any, int] | None = None
    stale: bool = False
    statements: list[tuple[str, list[Any]]] = field(default_factory=list)
    small: tuple[Any, str] | None = None


def day_bounds() -> tuple[Any, Any]:
    from django.db import connection
    from django.utils import timezone

    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = start + dt.timedelta(days=1)
    ops = connection.ops
    return ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)


def statements(case: Case) -> list[tuple[str, list[Any]]]:
    """Everything the page shows, by hand."""
    from ciclo.configurator.models import sales_type_ids

    sales = ",".join(str(pk) for pk in sorted(sales_type_ids()))
    start, end = day_bounds()
    who = "(t.next_contact_user_id = %s OR (t.next_contact_user_id IS NULL AND t.opened_by_id = %s))"
    base = f"t.status = 'open' AND t.service_type_id IN ({sales}) AND {who}"
    base_params: list[Any] = [case.user_id, case.user_id]
    extra, extra_params = (f" AND {case.where}", case.params) if case.where else ("", [])
    base += extra
    base_params += extra_params
    # Each group's page reads only its side of "whose": the user's next contacts, or those they opened
    # that have none.
    groups = {
        "overdue": ("t.next_contact_user_id IS NOT NULL AND t.next_contact_at < %s", [start]),
        "today": (
            "t.next_contact_user_id IS NOT NULL AND t.next_contact_at >= %s AND t.next_contact_at < %s",
            [
                start,
                end,
            ],
        ),
        "upcoming": ("t.next_contact_user_id IS NOT NULL AND t.next_contact_at >= %s", [end]),
        "no_next_contact": ("t.next_contact_user_id IS NULL", []),
    }
    sides = {
        key: ("t.opened_by_id = %s" if key == "no_next_contact" else "t.next_contact_user_id = %s") for key in groups
    }
    sums = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond, _p in groups.values())
    sum_params = [p for _c, ps in groups.values() for p in ps]
    aggregate = (
        f"SELECT {sums}, SUM(s.expected_value * s.success), SUM(s.expected_value) FROM tickets_ticket t"
        f" LEFT JOIN sales_salescontact s ON s.ticket_id = t.id WHERE {base}"
    )
    out = [*session_sql(case.client), *CHROME_SQL]
    if case.stale:
        out += [
            (
                "SELECT id, stale_after_days FROM configurator_responsibilitycenter WHERE stale_after_days IS NOT NULL",
                [],
            ),
            ("SELECT id FROM people_company", []),
        ]
    out.append((aggregate, [*sum_params, *base_params]))
    column, direction = case.order
    sort_column = "" if column.startswith("t.next_contact_at") else f", {column}"
    rows = []
    for key, (cond, ps) in groups.items():
        where = f"t.status = 'open' AND t.service_type_id IN ({sales}) AND {sides[key]}{extra} AND {cond}"
        params = [case.user_id, *extra_params, *ps]
        if case.cursor_group == key and case.cursor is not None:
            value, pk = case.cursor
            where += f" AND ({column}, t.id) > (%s, %s)" if direction == "ASC" else f" AND ({column}, t.id) < (%s, %s)"
            params += [value, pk]
        sql = (
            ROW_SELECT.format(sort_column=sort_column)
            + f" WHERE {where} ORDER BY {column} {direction}, t.id {direction} LIMIT {PAGE_ROWS + 1}"
        )
        rows.append((sql, params))
    out += rows
    form = [(sql.format(sales=sales), p) for sql, p in FORM_SQL]
    out += [*form, *([(TEAM_SQL, [])] if case.supervisor else [])]
    return out


def page_rows(case: Case) -> list[tuple[str, list[Any]]]:
    """The statements of the groups' rows (the four after the aggregate)."""
    return [s for s in case.statements if s[0].lstrip().startswith("SELECT t.id, t.subject")]


def run_sql(case: Case) -> None:
    """The statements, then the cycle progress of the rows they found (the page reads it by their ids)."""
    results = run_statements(case.statements)
    ids = [
        row[0]
        for sql, rows in zip(case.statements, results, strict=True)
        if "t.subject" in sql
        for row in rows[:PAGE_ROWS]
    ]
    if ids:
        run_statements([(PROGRESS_SQL.format(ids=",".join(str(i) for i in ids)), [])])


def sql_ids(case: Case) -> list[int]:
    results = run_statements(page_rows(case))
    return [row[0] for rows in results for row in rows[:PAGE_ROWS]]


def get(client: Any, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return response.content.decode()


def page_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-ticket="(\d+)"', page)]


def next_link(page: str, key: str) -> str | None:
    found = re.search(r'href="([^"]*)"[^>]*data-testid="' + key + r'-next"', page)
    return html.unescape(found.group(1)) if found else None


def walk(client: Any, url: str, key: str, rows: int) -> tuple[str, int]:
    passed = 0
    while passed < rows:
        link = next_link(get(client, url), key)
        if link is None:
            break
        url, passed = "/followup/" + link, passed + PAGE_ROWS
    return url, passed


def cases(world: World, client_of: Any, args: argparse.Namespace) -> list[Case]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from ciclo.accounts.roles import Role, set_role
    from ciclo.tickets.models import Ticket

    busy = client_of(world.user)
    quiet_user = User.objects.get(username="agente-tranquilo")
    quiet = client_of(quiet_user)
    boss_user = User.objects.create_user(username="supervisora", password=None, first_name="Supervisora")
    set_role(boss_user, Role.SUPERVISOR)
    boss = client_of(User.objects.get(pk=boss_user.pk))
    cr = world.crs[0]
    me = world.user.pk
    deep_url, passed = walk(busy, "/followup/", "overdue", args.deep)
    deep_cursor = None
    if passed:
        start = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
        value, pk = (
            Ticket.objects.filter(status="open", next_contact_user_id=me, next_contact_at__lt=start)
            .filter(service_type__sales=True)
            .order_by("next_contact_at", "id")
            .values_list("next_contact_at", "id")[passed - 1]
        )
        deep_cursor = (connection.ops.adapt_datetimefield_value(value), pk)
    all_cases = [
        Case("first", "an agent's list: every group's first page", busy, "/followup/", me, small=(quiet, "/followup/")),
        Case(
            "by_value",
            "same, by expected value (every contact sorted)",
            busy,
            "/followup/?sort=value",
            me,
            order=("COALESCE(s.expected_value, -1)", "DESC"),
            small=(quiet, "/followup/?sort=value"),
        ),
        Case("stale", "stale only", busy, "/followup/?stale=1", me, stale=True, small=(quiet, "/followup/?stale=1")),
        Case(
            "phase",
            f"one phase ({cr.code}), success 30–80 %",
            busy,
            f"/followup/?crs={cr.pk}&success_min=30&success_max=80",
            me,
            where="t.cr_id = %s AND s.success >= %s AND s.success <= %s",
            params=[cr.pk, 30, 80],
            small=(quiet, f"/followup/?crs={cr.pk}&success_min=30&success_max=80"),
        ),
        Case(
            "deep",
            f"the overdue group {passed:,} rows deep",
            busy,
            deep_url,
            me,
            cursor_group="overdue",
            cursor=deep_cursor,
            small=(busy, "/followup/"),
        ),
        Case(
            "colleague",
            "a supervisor's view of the busy agent",
            boss,
            f"/followup/?user={me}",
            me,
            supervisor=True,
            small=(boss, f"/followup/?user={quiet_user.pk}"),
        ),
    ]
    for case in all_cases:
        case.statements = statements(case)
    return all_cases


def stale_statements(case: Case) -> None:
    """The stale filter's SQL: each phase's threshold against when its contacts entered it (per company)."""
    from django.db import connection
    from django.utils import timezone

    from ciclo.configurator.models import ResponsibilityCenter
    from ciclo.people.models import Company
    from ciclo.sales.businessdays import BusinessCalendar

    today = timezone.localdate()
    calendar = BusinessCalendar.for_companies()
    parts, params = [], []
    for cr_id, days in ResponsibilityCenter.objects.filter(stale_after_days__isnull=False).values_list(
        "id", "stale_after_days"
    ):
        for company_id in Company.objects.values_list("id", flat=True):
            day = today - dt.timedelta(days=days)
            while calendar.business_days_between(day, today, company_id) <= days:
                day -= dt.timedelta(days=1)
            entered_by = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
            parts.append("(t.cr_id = %s AND t.company_id = %s AND t.phase_entered_at < %s)")
            params += [cr_id, company_id, connection.ops.adapt_datetimefield_value(entered_by)]
    case.where = "(" + " OR ".join(parts) + ")"
    case.params = params
    case.statements = statements(case)


# --- timing --------------------------------------------------------------------------------------------------------


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client

        env = environment()
        announce("follow-up list", env, args)
        world, seconds = build_world(args.tickets)

        def client_of(user: Any) -> Any:
            client = Client()
            client.force_login(user)
            get(client, "/followup/")  # the session's first request may write it
            return client

        all_cases = cases(world, client_of, args)
        for case in all_cases:
            if case.stale:
                stale_statements(case)
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for case in all_cases:
            page = get(case.client, case.url)
            same = page_ids(page) == sql_ids(case)
            queries = captured_queries(lambda case=case: get(case.client, case.url))
            assert case.small is not None
            small_client, small_url = case.small
            fewer = captured_queries(lambda c=small_client, u=small_url: get(c, u))
            count = re.search(r'data-testid="contacts-count">([^<]*)<', page)
            print(f"timing: {case.title} ({count.group(1) if count else '?'} contacts) …", flush=True)
            r = alternate(
                lambda case=case: get(case.client, case.url),
                lambda case=case: run_sql(case),
                args.warmup,
                args.iterations,
            )
            r.update(
                title=case.title,
                same_rows=same,
                rows=len(page_ids(page)),
                contacts=count.group(1) if count else "",
                queries=len(queries),
                queries_sql=queries,
                sql_queries=len(case.statements) + 1,
                extra=[r_contacts(count), "yes" if same else "NO"],
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
            "cases": results,
        }


def r_contacts(count: Any) -> str:
    return count.group(1) if count else "?"


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    lines.append(lines_table("follow-up list", list(result["cases"].values()), extra=["contacts", "same rows"]))
    lines.append(
        "\nqueries: an agent with 30 contacts / these rows (the SQL's statements, with the rows' cycle progress)"
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
    parser.add_argument("--deep", type=int, default=1_000, help="rows into the overdue group for the deep page")
    parser.add_argument("--show-sql", action="store_true", help="print each page's queries")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="followup",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=lambda results: summary_table("follow-up list", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""How fast the collections update runs over many receivables, against set-based SQL doing the same work.

    .venv/bin/python bench/collections_update.py                                   # SQLite, 100,000 receivables
    .venv/bin/python bench/collections_update.py --backend postgres
    .venv/bin/python bench/collections_update.py --both --receivables 1000000 --debtors 200000

For each of two sizes (--receivables and a tenth of it, debtors in proportion) it makes a fresh
database, loads the receivables (all "normal", no administrative status, each of a random debtor,
--overdue of them overdue), and then, in the same run and database:

1. the set-based SQL that does the update's work, written by hand and rolled back: the debtors'
   groups, one ticket each at the first phase of the collection workflow, its opening and
   automatic notes, its opening move and phase stay, a collection item per receivable, the notes'
   words on the ticket's search text, and the next contact on the agenda with its history row;
2. `update_collections()` in a process of its own (timed inside it, its peak memory read by the
   parent), which opens each chunk's tickets together through the engine (open_tickets);
3. the same again with nothing new (the rerun), right away, and once more after ANALYZE (the next
   day's scheduled run, when autovacuum has seen the first update's rows).

Budget (shared/PERFORMANCE.md): the first update within 2x of the SQL; the rerun under 1 s; the
update's peak memory at the full size within 1.5x of its peak at a tenth (it streams).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BenchDatabase, analyze, environment, migrate, setup_django, table, write_results

SCRIPT = str(Path(__file__).resolve())
TODAY = dt.date(2026, 11, 9)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL")
    p.add_argument("--receivables", type=int, default=100_000)
    p.add_argument("--debtors", type=int, default=20_000)
    p.add_argument("--overdue", type=float, default=0.10, help="the share of receivables overdue")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--strict", action="store_true", help="exit 1 when a budget is missed")
    p.add_argument("--size", action="store_true", help=argparse.SUPPRESS)  # one size, in this process
    p.add_argument("--update", action="store_true", help=argparse.SUPPRESS)  # the update, in this process
    return p


# ---- the world ----------------------------------------------------------------------------------


def build(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import User
    from django.db import transaction

    from ciclo.accounts.roles import Role, set_role
    from ciclo.collections.models import CollectionKind, Receivable
    from ciclo.configurator.models import CrmOptions, ResponsibilityCenter, ServiceType, Workflow, WorkflowStep
    from ciclo.people.models import Company, Person

    rng = random.Random(args.seed)
    with transaction.atomic():
        contact = ResponsibilityCenter.objects.create(code="3.01", description="Contato")
        agreement = ResponsibilityCenter.objects.create(code="3.02", description="Acordo")
        closed = ResponsibilityCenter.objects.create(code="3.91", description="Encerrada", closes_process=True)
        w = Workflow.objects.create(code="cobranca", description="Cobrança")
        WorkflowStep.objects.create(workflow=w, order=0, kind="cr", cr=contact, next_order=5)
        WorkflowStep.objects.create(workflow=w, order=5, kind="cr", cr=agreement, next_order=10)
        WorkflowStep.objects.create(workflow=w, order=10, kind="cr", cr=closed)
        group = ServiceType.objects.create(code="3", description="Cobrança", kind="synthetic", category="collection")
        kind = ServiceType.objects.create(
            code="3.1", description="Títulos vencidos", kind="analytical", category="collection", workflow=w
        )
        robot = User.objects.create_user("robo", password="x")
        set_role(robot, Role.SUPERVISOR)
        CrmOptions.objects.update_or_create(
            pk=1,
            defaults={
                "collection_synthetic_type": group,
                "collection_analytical_type": kind,
                "automatic_note_user": robot,
                "collection_days_overdue": 5,
            },
        )
        companies = [Company.objects.create(code=f"E{i}", name=f"Empresa {i}") for i in range(1, 4)]
        normal, _ = CollectionKind.objects.get_or_create(code="normal", defaults={"name": "Normal"})
    people: list[int] = []
    for start in range(0, args.debtors, 10_000):
        batch = [Person(name=f"Devedor {n:07d}") for n in range(start, min(args.debtors, start + 10_000))]
        for p in batch:
            p.refresh_search_key()
        with transaction.atomic():
            people += [p.pk for p in Person.objects.bulk_create(batch)]
    for start in range(0, args.receivables, 20_000):
        rows = []
        for n in range(start, min(args.receivables, start + 20_000)):
            overdue = rng.random() < args.overdue
            due = (
                TODAY - dt.timedelta(days=rng.randint(6, 400))
                if overdue
                else TODAY + dt.timedelta(days=rng.randint(1, 400))
            )
            rows.append(
                Receivable(
                    company=companies[n % 3],
                    document=f"NF{n:08d}",
                    instalment="1",
                    person_id=rng.choice(people),
                    issue_date=due - dt.timedelta(days=30),
                    due_date=due,
                    amount="150.00",
                    open_balance="150.00",
                    kind=normal,
                )
            )
        with transaction.atomic():
            Receivable.objects.bulk_create(rows)


# ---- the set-based SQL -------------------------------------------------------------------------


def set_based_sql() -> tuple[float, dict[str, int]]:
    """The update's work as set-based SQL, in one transaction rolled back; its time and row counts."""
    from django.db import connection, transaction

    from ciclo.configurator.models import CrmOptions, WorkflowStep

    options = CrmOptions.objects.get(pk=1)
    step = WorkflowStep.objects.get(workflow__code="cobranca", order=0)
    signer, type_id = options.automatic_note_user_id, options.collection_analytical_type_id
    cutoff = TODAY - dt.timedelta(days=options.collection_days_overdue)
    at = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)
    eligible = """
        FROM collections_receivable r
        JOIN collections_collectionkind k ON k.id = r.kind_id AND k.collected
        JOIN people_person p ON p.id = r.person_id AND p.active
        JOIN people_company c ON c.id = r.company_id AND c.active
        LEFT JOIN collections_administrativestatus s ON s.id = r.administrative_status_id
        WHERE r.open_balance > 0 AND r.due_date <= %(cutoff)s AND (s.id IS NULL OR s.enters_collection)
          AND NOT EXISTS (SELECT 1 FROM collections_collectionitem i
                          WHERE i.receivable_id = r.id AND i.released_at IS NULL)
    """
    p = {
        "cutoff": cutoff,
        "at": at,
        "next": at + dt.timedelta(days=1),
        "signer": signer,
        "type": type_id,
        "workflow": step.workflow_id,
        "step": step.pk,
        "cr": step.cr_id,
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        uuid, half_hour = "gen_random_uuid()", "t.next_contact_at + interval '30 minutes'"
    else:
        uuid, half_hour = "lower(hex(randomblob(16)))", "datetime(t.next_contact_at, '+30 minutes')"
    listing = (
        "string_agg(r.document || '/' || r.instalment, ' ')"
        if postgres
        else "group_concat(r.document || '/' || r.instalment, ' ')"
    )
    statements = [
        # The debtors' groups, each with the listing of its receivables (the automatic note, the search text).
        "CREATE TEMPORARY TABLE bench_eligible AS SELECT r.id, r.person_id, r.company_id, r.document, r.instalment "
        + eligible,
        "ANALYZE bench_eligible",
        "CREATE TEMPORARY TABLE bench_groups AS"
        f" SELECT r.person_id, MIN(r.company_id) AS company_id, {listing} AS listing"
        " FROM bench_eligible r GROUP BY r.person_id",
        "ANALYZE bench_groups",
        """INSERT INTO tickets_ticket (person_id, service_type_id, workflow_id, step_id, cr_id, status, subject,
               company_id, channel, priority, next_contact_at, next_contact_user_id, opened_at, opened_by_id,
               phase_entered_at, version, search_text)
           SELECT g.person_id, %(type)s, %(workflow)s, %(step)s, %(cr)s, 'open', 'Collection: ' || p.name,
               g.company_id, 'system', 3, %(next)s, %(signer)s, %(at)s, %(signer)s, %(at)s, 1,
               'collection ' || p.search_key || ' collection opened for ' || g.listing
           FROM bench_groups g JOIN people_person p ON p.id = g.person_id""",
        "ANALYZE tickets_ticket",  # what a set-based script does after a bulk load: the joins below plan on it
        """INSERT INTO tickets_note (ticket_id, kind, text, channel, author_id, created_at, next_contact_at,
               next_contact_user_id)
           SELECT t.id, 'opening', 'Collection opened by the collections update.', 'system', %(signer)s, %(at)s,
               t.next_contact_at, t.next_contact_user_id
           FROM tickets_ticket t WHERE t.service_type_id = %(type)s AND t.opened_at = %(at)s""",
        """INSERT INTO tickets_note (ticket_id, kind, text, channel, author_id, created_at)
           SELECT t.id, 'automatic', 'Collection opened for: ' || g.listing, 'system', %(signer)s, %(at)s
           FROM bench_groups g JOIN tickets_ticket t ON t.person_id = g.person_id
           WHERE t.service_type_id = %(type)s AND t.opened_at = %(at)s""",
        """INSERT INTO tickets_phasemove (ticket_id, note_id, kind, to_step_id, to_cr_id, route, reason,
               overrode_required, by_id, at)
           SELECT n.ticket_id, n.id, 'open', %(step)s, %(cr)s, '[]', '', '[]', %(signer)s, %(at)s
           FROM tickets_note n WHERE n.kind = 'opening' AND n.created_at = %(at)s""",
        """INSERT INTO insight_phasestay (ticket_id, cr_id, workflow_id, step_id, move_id, entered_at, entered_by_id,
               before_seconds)
           SELECT m.ticket_id, %(cr)s, %(workflow)s, %(step)s, m.id, %(at)s, %(signer)s, 0
           FROM tickets_phasemove m WHERE m.kind = 'open' AND m.at = %(at)s""",
        """INSERT INTO collections_collectionitem (ticket_id, receivable_id, added_at)
           SELECT t.id, e.id, %(at)s FROM bench_eligible e JOIN tickets_ticket t
             ON t.person_id = e.person_id AND t.service_type_id = %(type)s AND t.opened_at = %(at)s""",
        # The next contact on the delegate's agenda, and its first history row.
        f"""INSERT INTO agenda_appointment (uid, user_id, start, "end", title, person_id, ticket_id, channel, place,
               notes, status, source, sequence, created_at, updated_at, created_by_id)
           SELECT {uuid}, t.next_contact_user_id, t.next_contact_at, {half_hour}, t.subject, t.person_id,
               t.id, 'system', '', '', 'planned', 'next_contact', 0, %(at)s, %(at)s, %(signer)s
           FROM tickets_ticket t WHERE t.service_type_id = %(type)s AND t.opened_at = %(at)s""",
        """INSERT INTO agenda_appointmentchange (appointment_id, kind, changes, reason, sequence, by_id, at)
           SELECT a.id, 'created', '{}', 'The ticket''s next contact.', 0, %(signer)s, %(at)s
           FROM agenda_appointment a WHERE a.created_at = %(at)s""",
    ]
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for n, sql in enumerate(statements):
            began = time.perf_counter()
            cursor.execute(sql, p)
            counts[f"statement {n}"] = cursor.rowcount
            # Each statement's time, on stderr: where the set-based work goes.
            print(f"  {time.perf_counter() - began:7.3f} s  {' '.join(sql.split())[:100]}", file=sys.stderr)
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_groups")
        cursor.execute("DROP TABLE IF EXISTS bench_eligible")
    return elapsed, {"tickets": counts["statement 4"], "items": counts["statement 10"]}


# ---- the update, in a process of its own -------------------------------------------------------


def update_here() -> None:
    from ciclo.collections.update import update_collections

    at = dt.datetime(2026, 11, 9, 13, 0, tzinfo=dt.UTC)  # the day the receivables were made for
    started = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):  # where the update's time goes, on stderr
        import cProfile
        import pstats

        with cProfile.Profile() as profile:
            run = update_collections(trigger="command", at=at)
        pstats.Stats(profile, stream=sys.stderr).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        ).print_stats(40)
    else:
        run = update_collections(trigger="command", at=at)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "status": run.status, "counts": run.counts, "error": run.error}))


def update_process() -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, SCRIPT, "--update"], stdout=subprocess.PIPE, env=os.environ.copy(), text=True
    )
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"the update process failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = _children_peak_mb()
    return result


_peaks: list[float] = []


def _children_peak_mb() -> float:
    # ru_maxrss of the children is the largest any child reached: read after each, it is this one's
    # when it grows; the first update is the largest child here (the rerun reads less).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    _peaks.append(peak)
    return peak


def one_size(args: argparse.Namespace) -> dict[str, Any]:
    db = BenchDatabase.create(args.backend)
    try:
        setup_django(db)
        migrate()
        started = time.perf_counter()
        build(args)
        analyze()
        loaded = time.perf_counter() - started
        sql_seconds, sql_counts = set_based_sql()
        first = update_process()
        rerun = update_process()
        analyze()
        next_day = update_process()
        return {
            "backend": args.backend,
            "receivables": args.receivables,
            "debtors": args.debtors,
            "load_seconds": loaded,
            "sql_seconds": sql_seconds,
            "sql_counts": sql_counts,
            "first": first,
            "rerun": rerun,
            "next_day": next_day,
            "environment": environment(),
        }
    finally:
        db.drop()


def run_size(args: argparse.Namespace, receivables: int, debtors: int, backend: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        SCRIPT,
        "--size",
        "--backend",
        backend,
        "--receivables",
        str(receivables),
        "--debtors",
        str(debtors),
        "--overdue",
        str(args.overdue),
        "--seed",
        str(args.seed),
    ]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(small: dict[str, Any], large: dict[str, Any]) -> tuple[str, bool]:
    ratio = large["first"]["seconds"] / large["sql_seconds"] if large["sql_seconds"] else float("inf")
    memory = large["first"]["peak_mb"] / small["first"]["peak_mb"]
    rerun = large["rerun"]["seconds"]
    rows = []
    for r in (small, large):
        rows.append(
            [
                f"{r['receivables']:,} / {r['debtors']:,}",
                f"{r['sql_seconds']:.2f} s",
                f"{r['first']['seconds']:.2f} s",
                f"{r['first']['seconds'] / r['sql_seconds']:.1f}x",
                f"{r['rerun']['seconds']:.3f} s",
                f"{r['next_day']['seconds']:.3f} s",
                f"{r['first']['peak_mb']:.0f} MB",
                f"{r['first']['counts'].get('opened', 0):,} / {r['first']['counts'].get('receivables', 0):,}",
                f"{r['sql_counts']['tickets']:,} / {r['sql_counts']['items']:,}",
            ]
        )
    ok = ratio <= 2 and large["rerun"]["seconds"] < 1 and memory <= 1.5
    text = "\n".join(
        [
            f"## collections update on {large['backend']}",
            "",
            table(
                [
                    "receivables / debtors",
                    "set-based SQL",
                    "first update",
                    "ratio",
                    "rerun",
                    "rerun analyzed",
                    "peak memory",
                    "opened / linked",
                    "SQL tickets / items",
                ],
                rows,
            ),
            "",
            f"first update {ratio:.1f}x the SQL (budget 2x): {'pass' if ratio <= 2 else 'FAIL'}; "
            f"rerun {rerun:.3f} s (budget < 1 s): {'pass' if rerun < 1 else 'FAIL'}; "
            f"memory {memory:.2f}x from a tenth to the full size (budget 1.5x): {'pass' if memory <= 1.5 else 'FAIL'}",
        ]
    )
    return text, ok


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.update:
        import django

        django.setup()  # the database of the parent's environment (BenchDatabase.configure_environment)
        update_here()
        return 0
    if args.size:
        print(json.dumps(one_size(args)))
        return 0
    results = []
    ok = True
    for backend in ("sqlite", "postgres") if args.both else (args.backend,):
        small = run_size(args, args.receivables // 10, max(1, args.debtors // 10), backend)
        large = run_size(args, args.receivables, args.debtors, backend)
        text, passed = report(small, large)
        print(text, flush=True)
        ok = ok and passed
        results.append({"small": small, "large": large})
    path = write_results("collections", {"runs": results})
    print(f"\nresults: {path}")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""How long an ERP takes to load its receivables through the API: PUT /api/v1/receivables, 10,000 rows a request.

    .venv/bin/python bench/receivables_import.py                 # SQLite, 100,000 rows
    .venv/bin/python bench/receivables_import.py --postgres
    .venv/bin/python bench/receivables_import.py --both --rows 20000

It builds a fresh database with two companies and 20,000 debtors (set-based), then, as an ERP would,
sends the rows over HTTP in-process (django.test.Client, production settings: DEBUG off) with a
supervisor's token: the first load (every row created, with its history row), the same load again
(nothing changes: idempotent) and a load where one row in ten has a new open balance. Each load's
wall time, this process's CPU time (the server's, on PostgreSQL, not counted: wall time grows when other
processes share the CPUs, CPU time hardly does), the rows per second, the slowest request and the load
average around the run are printed.

Budget (issue 12): the first load of 100,000 rows in under 60 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import add_run_options, bench_django, environment, load_span, run, table

BUDGET_S = 60.0
PEOPLE = 20_000


def _rows(people: list[int], count: int, *, changed_every: int = 0) -> list[dict[str, Any]]:
    start = dt.date(2026, 1, 1)
    rows = []
    for i in range(count):
        amount = f"{100 + (i % 900)}.{i % 100:02d}"
        balance = "0.00" if changed_every and i % changed_every == 0 else amount
        rows.append(
            {
                "company": "MTZ" if i % 3 else "FIL",
                "document": f"NF-{i // 3:07d}",
                "instalment": str(i % 3 + 1),
                "person": people[i % len(people)],
                "issue_date": (start + dt.timedelta(days=i % 300)).isoformat(),
                "due_date": (start + dt.timedelta(days=i % 300 + 30)).isoformat(),
                "amount": amount,
                "open_balance": balance,
                "kind": "normal" if i % 20 else "descontado",
                "administrative_status": None,
            }
        )
    return rows


def _load(client: Any, headers: dict[str, str], rows: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    requests = []
    totals = {"created": 0, "changed": 0, "unchanged": 0, "refused": 0}
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(rows), batch):
        body = json.dumps(rows[i : i + batch])
        t0 = time.perf_counter()
        response = client.put("/api/v1/receivables", body, content_type="application/json", headers=headers)
        requests.append(time.perf_counter() - t0)
        if response.status_code != 200:
            raise SystemExit(f"PUT answered {response.status_code}: {response.content[:500]!r}")
        report = response.json()
        for key in ("created", "changed", "unchanged"):
            totals[key] += report[key]
        totals["refused"] += len(report["refused"])
    wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "rows_per_s": round(len(rows) / wall),
        "slowest_request_s": round(max(requests), 2),
        **totals,
    }


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.contrib.auth.models import User
        from django.test import Client

        from ciclo.accounts.roles import Role, ensure_role_groups, set_role
        from ciclo.accounts.tokens import create_token
        from ciclo.people.models import Company, Person

        ensure_role_groups()
        Company.objects.bulk_create([Company(code="MTZ", name="Matriz"), Company(code="FIL", name="Filial")])
        Person.objects.bulk_create(
            [Person(name=f"Devedor {i}", search_name=f"devedor {i}", search_key=f"devedor {i}") for i in range(PEOPLE)],
            batch_size=5000,
        )
        people = list(Person.objects.values_list("pk", flat=True))
        user = User.objects.create_user("erp", password="bench-pw")
        set_role(user, Role.SUPERVISOR)
        headers = {"Authorization": f"Bearer {create_token(user, name='bench')[1]}"}
        client = Client()
        env = environment()
        load_before = os.getloadavg()
        first = _load(client, headers, _rows(people, args.rows), args.batch)
        print(f"first load: {first}", flush=True)
        again = _load(client, headers, _rows(people, args.rows), args.batch)
        print(f"same load again: {again}", flush=True)
        changed = _load(client, headers, _rows(people, args.rows, changed_every=10), args.batch)
        print(f"one row in ten changed: {changed}", flush=True)
        return {
            "backend": backend,
            "environment": env,
            "rows": args.rows,
            "batch": args.batch,
            "loads": {"first": first, "again": again, "changed": changed},
            "load_average": load_span(load_before),
            "passed": first["wall_s"] < BUDGET_S and first["created"] == args.rows and again["unchanged"] == args.rows,
        }


def report(result: dict[str, Any]) -> str:
    loads = result["loads"]
    lines = [
        [
            name,
            f"{r['wall_s']:.2f}",
            f"{r['cpu_s']:.2f}",
            f"{r['rows_per_s']:,}",
            f"{r['slowest_request_s']:.2f}",
            r["created"],
            r["changed"],
            r["unchanged"],
            r["refused"],
        ]
        for name, r in loads.items()
    ]
    verdict = "PASS" if result["passed"] else "FAIL"
    head = f"\n== PUT /api/v1/receivables · {result['backend']} · {result['rows']:,} rows in {result['batch']:,}s =="
    body = table(
        ["load", "wall s", "CPU s", "rows/s", "slowest request s", "created", "changed", "unchanged", "refused"], lines
    )
    load = " ".join(f"{x:.2f}" for x in result["load_average"])
    return (
        f"{head}\n{body}\nload average before and after (1, 5, 15 min): {load}\n"
        f"first load < {BUDGET_S:.0f} s: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true")
    where.add_argument("--sqlite", action="store_true")
    where.add_argument("--both", action="store_true")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    add_run_options(parser, "exit 1 when the first load takes 60 s or more")
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="receivables_import",
        run_backend=run_backend,
        strip=lambda r: r,
        report=report,
        passed=lambda results: all(r["passed"] for r in results),
    )


if __name__ == "__main__":
    sys.exit(main())

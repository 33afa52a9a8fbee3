#!/usr/bin/env python
"""How fast the insight dashboards and their API answer, beside the SQL they need.

    .venv/bin/python bench/insight.py                          # SQLite, 20,000 tickets (a few minutes)
    .venv/bin/python bench/insight.py --postgres --tickets 1000000   # the issue's size: ~5,000,000 ledger rows
    .venv/bin/python bench/insight.py --both

It builds one sales workflow (tests.factory.SalesSetup: Prospecção → Proposta enviada → "Fechou
negócio?" Sim → Encerrado / Não → Negociação → back to the decision) and `--tickets` tickets opened
over the last year by 20 users. Each walks the workflow with a stay of 0 to 20 days per phase, up
to --loops rounds of the negotiation: about five stays a ticket by default, so the issue's
1,000,000 tickets make some 5,000,000 ledger rows. A note per move, a decision row per decision
taken, a sales contact per ticket (won, lost with a reason, or open with a value and a chance);
half the tickets answer the cycle's choice and number questions. The ledger is then written by
`ciclo insight rebuild`'s function (its time is printed). Each dashboard (/insight/, funnel,
people, answers, over the last 12 weeks) is requested in-process with django.test.Client as a
supervisor, and each API measurement with a token; each is timed alternately with the SQL the
same request runs, captured from it and replayed bare through the connection (the session, the
user and role, every statement of the measurement).

Budget (shared/PERFORMANCE.md): every dashboard p95 < 300 ms, every API measurement p95 < 200 ms,
the time in the database within 1.5x of the SQL it needs.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Budget,
    add_run_options,
    alternate,
    analyze,
    announce,
    bench_django,
    bench_parser,
    environment,
    judge,
    lines_table,
    load_span,
    run,
    run_header,
    strip_samples,
    summary_table,
)

DASHBOARD = Budget("insight dashboard", 300.0, db_ratio=1.5)
API_MEASURE = Budget("insight API measurement", 200.0, db_ratio=1.5)
CHUNK = 5000
USERS = 20


def build(tickets: int, loops: int, seed: int = 7) -> dict[str, Any]:
    """The world: see the module's docstring. Returns what the requests need."""
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from ciclo.accounts.roles import Role
    from ciclo.insight.ledger import rebuild
    from ciclo.people.models import Person
    from ciclo.sales.models import LostReason, Outcome, SalesContact
    from ciclo.tickets.models import Answer, AnswerChoice, MoveDecision, Note, PhaseMove, Ticket
    from tests.factory import SalesSetup, make_cpf, make_user

    rnd = random.Random(seed)
    s = SalesSetup()
    s.type.sales = True
    s.type.save(update_fields=["sales"])
    s.cr_prospect.stale_after_days = 10
    s.cr_prospect.save(update_fields=["stale_after_days"])
    reason = LostReason.objects.create(name="Preço")
    boss = make_user("bench_supervisor", Role.SUPERVISOR)
    agents = [make_user(f"bench_agent{i}", Role.AGENT) for i in range(USERS)]
    now = timezone.now()
    day = dt.timedelta(days=1)

    def stay() -> dt.timedelta:
        return dt.timedelta(seconds=rnd.randint(0, 20 * 86400))

    started = time.perf_counter()
    built_at = started
    done = 0
    while done < tickets:
        size = min(CHUNK, tickets - done)
        with transaction.atomic():
            people = Person.objects.bulk_create(
                [Person(name=f"Pessoa {done + i}", document=make_cpf()) for i in range(size)]
            )
            rows: list[Ticket] = []
            paths: list[list[tuple[Any, dt.datetime, Any]]] = []
            for person in people:
                opened = now - dt.timedelta(seconds=rnd.randint(0, 365 * 86400))
                user = rnd.choice(agents)
                path: list[tuple[Any, dt.datetime, Any]] = [(s.step_prospect, opened, None)]
                at = opened + stay()
                if at < now and rnd.random() > 0.15:
                    path.append((s.step_proposal, at, None))
                    for _loop in range(loops):
                        at += stay()
                        if at >= now:
                            break
                        if rnd.random() < 0.35:
                            path.append((s.step_closed, at, s.yes))
                            break
                        path.append((s.step_negotiation, at, s.no))
                last_step, last_at, _option = path[-1]
                closed = last_step == s.step_closed
                rows.append(
                    Ticket(
                        person=person,
                        service_type=s.type,
                        workflow=s.workflow,
                        step=last_step,
                        cr=last_step.cr,
                        status=Ticket.Status.CLOSED if closed else Ticket.Status.OPEN,
                        subject="Interesse no ERP",
                        company=s.company,
                        next_contact_at=now + dt.timedelta(seconds=rnd.randint(-10 * 86400, 20 * 86400)),
                        next_contact_user=user,
                        opened_at=opened,
                        opened_by=user,
                        closed_at=last_at if closed else None,
                        phase_entered_at=last_at,
                    )
                )
                paths.append(path)
            Ticket.objects.bulk_create(rows)
            notes, moves, decisions, contacts, answers = [], [], [], [], []
            for ticket, path in zip(rows, paths, strict=True):
                previous = None
                for step, at, option in path:
                    notes.append(Note(ticket=ticket, text="Contato", author=ticket.opened_by, created_at=at))
                    moves.append(
                        PhaseMove(
                            ticket=ticket,
                            kind=PhaseMove.Kind.OPEN if previous is None else PhaseMove.Kind.MOVE,
                            from_step=previous,
                            to_step=step,
                            from_cr=previous.cr if previous else None,
                            to_cr=step.cr,
                            by=ticket.opened_by,
                            at=at,
                        )
                    )
                    decisions.append(option)
                    previous = step
                closed = ticket.status == Ticket.Status.CLOSED
                won = closed and rnd.random() < 0.4
                contacts.append(
                    SalesContact(
                        ticket=ticket,
                        contact_date=ticket.opened_at.date(),
                        success=rnd.choice([10, 30, 50, 70]),
                        expected_value=Decimal(rnd.randint(500, 50000)),
                        outcome=(Outcome.WON if won else Outcome.LOST) if closed else Outcome.OPEN,
                        won_value=Decimal(rnd.randint(500, 50000)) if won else None,
                        lost_reason=reason if closed and not won else None,
                        outcome_at=ticket.closed_at,
                        outcome_by=ticket.opened_by if closed else None,
                    )
                )
                if rnd.random() < 0.5:
                    when = ticket.opened_at + day
                    answers.append(
                        Answer(
                            ticket=ticket,
                            question=s.q_single,
                            cr=s.cr_prospect,
                            question_code=s.q_single.code,
                            question_text=s.q_single.text,
                            answer_type=s.q_single.answer_type,
                            answered_by=ticket.opened_by,
                            answered_at=when,
                        )
                    )
                    answers.append(
                        Answer(
                            ticket=ticket,
                            question=s.q_number,
                            cr=s.cr_prospect,
                            question_code=s.q_number.code,
                            question_text=s.q_number.text,
                            answer_type=s.q_number.answer_type,
                            value_number=Decimal(rnd.randint(1, 500)),
                            answered_by=ticket.opened_by,
                            answered_at=when,
                        )
                    )
            Note.objects.bulk_create(notes, batch_size=2000)
            PhaseMove.objects.bulk_create(moves, batch_size=2000)
            MoveDecision.objects.bulk_create(
                [
                    MoveDecision(move=m, step=s.decision, option=o, question=s.decision.question, label=o.label)
                    for m, o in zip(moves, decisions, strict=True)
                    if o is not None
                ],
                batch_size=2000,
            )
            SalesContact.objects.bulk_create(contacts, batch_size=2000)
            Answer.objects.bulk_create(answers, batch_size=2000)
            AnswerChoice.objects.bulk_create(
                [
                    AnswerChoice(answer=a, option=o, label=o.label)
                    for a in answers
                    if a.question_id == s.q_single.pk
                    for o in [rnd.choice([s.o_site, s.o_referral])]
                ],
                batch_size=2000,
            )
        done += size
        print(f"\r  built {done:,}/{tickets:,} tickets", end="", flush=True)
    print(f" in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    stays = rebuild()
    rebuilt = time.perf_counter() - started
    print(f"  ledger rebuilt: {stays:,} stays in {rebuilt:.1f} s", flush=True)
    return {
        "setup": s,
        "boss": boss,
        "stays": stays,
        "rebuild_s": rebuilt,
        "build_seconds": round(started - built_at),
        "moves": PhaseMove.objects.count(),
    }


def captured(fn: Any) -> list[tuple[str, Any]]:
    """Every statement `fn` runs, with its parameters, to be run again bare."""
    from django.db import connection

    seen: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        fn()
    return seen


def replay(statements: list[tuple[str, Any]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params in statements:
            if sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                continue
            cursor.execute(sql, params)
            if cursor.description is not None:
                cursor.fetchall()


def run_backend(args: Any, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client

        from ciclo.accounts.tokens import create_token

        world = build(args.tickets, args.loops)
        analyze()
        env = environment()
        announce("insight", env, args)
        s = world["setup"]
        client = Client()
        client.force_login(world["boss"])
        token = create_token(world["boss"], name="bench")[1]
        api = Client(headers={"Authorization": f"Bearer {token}"})
        cases = {
            "phases page": (client, "/insight/", {"workflow": s.workflow.pk}, DASHBOARD),
            "funnel page": (client, "/insight/funnel/", {"workflow": s.workflow.pk}, DASHBOARD),
            "people page": (client, "/insight/people/", {}, DASHBOARD),
            "answers page": (client, "/insight/answers/", {"cycle": s.cycle.pk}, DASHBOARD),
            "API phases": (api, "/api/v1/insight/phases", {"workflow": s.workflow.pk}, API_MEASURE),
            "API funnel": (api, "/api/v1/insight/funnel", {"workflow": s.workflow.pk}, API_MEASURE),
            "API people": (api, "/api/v1/insight/people", {}, API_MEASURE),
            "API answers": (api, "/api/v1/insight/answers", {"cycle": s.cycle.pk}, API_MEASURE),
        }
        before = os.getloadavg()
        results: dict[str, Any] = {}
        for title, (who, url, params, budget) in cases.items():

            def request(who: Any = who, url: str = url, params: dict[str, Any] = params) -> None:
                response = who.get(url, params)
                assert response.status_code == 200, (url, response.status_code, response.content[:300])

            statements = captured(request)
            r = alternate(request, lambda st=statements: replay(st), args.warmup, args.iterations)
            r.update(title=title, queries=len(statements), sql=[sql for sql, _p in statements])
            results[title] = judge(r, budget, backend)
            print(f"  {title}: p95 {r['p95']:.1f} ms, {len(statements)} queries", flush=True)
        env["load_average"] = load_span(before)
        return {
            "environment": env,
            "build_seconds": world["build_seconds"],
            "tickets": args.tickets,
            "moves": world["moves"],
            "stays": world["stays"],
            "rebuild_s": round(world["rebuild_s"], 2),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "cases": results,
        }


def report(result: dict[str, Any]) -> str:
    lines = run_header(result)
    lines.append(
        f"{result['tickets']:,} tickets, {result['moves']:,} moves, {result['stays']:,} ledger rows "
        f"(rebuilt in {result['rebuild_s']} s)"
    )
    lines.append(lines_table("request", list(result["cases"].values())))
    for r in result["cases"].values():
        lines.append(f"\n-- the SQL of {r['title']} ({len(r['sql'])} statements)")
        lines.extend(f"   {sql}" for sql in r["sql"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.splitlines()[1],
        tickets=20_000,
        iterations_help="timed requests of each case (default 30)",
        warmup_help="untimed requests first (default 3)",
    )
    parser.set_defaults(iterations=30, warmup=3)
    parser.add_argument(
        "--loops", type=int, default=4, help="times a ticket may go round the negotiation (default 4: ~5 stays each)"
    )
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="insight",
        run_backend=run_backend,
        strip=lambda result: strip_samples(result, ["cases"]),
        report=report,
        passed=lambda results: all(r["passed"] for res in results for r in res["cases"].values()),
        summary=lambda results: summary_table("request", results),
    )


if __name__ == "__main__":
    raise SystemExit(main())

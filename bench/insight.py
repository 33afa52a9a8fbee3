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
half the tickets answer the cycle's choice and number questions. On SQLite the rows are written
through the ORM and the ledger by `ciclo insight rebuild`'s function; on PostgreSQL every row,
the ledger's too, is written set-based (build_sql: INSERT … SELECT over generate_series), then
the insight's summaries are rebuilt from them (ciclo.insight.summaries.rebuild; its time is
printed). `--database URL` measures a database an earlier run kept. Each dashboard (/insight/, funnel,
people, answers, over the last 12 weeks) is requested in-process with django.test.Client as a
supervisor, and each API measurement with a token; each is timed alternately with the SQL the
same request runs, captured from it and replayed bare through the connection (the session, the
user and role, every statement of the measurement).

Budget (shared/PERFORMANCE.md): every dashboard p95 < 300 ms, every API measurement p95 < 200 ms,
the time in the database within 1.5x of the SQL it needs.

Measured 2026-12-04, PostgreSQL 15.20, 2 CPUs, quiet (load 0.25 → 1.94), 100 iterations, commit
646e7dc: 1,000,000 tickets, 5,122,008 moves and ledger stays, built set-based in 415 s, summaries
rebuilt in 476 s with another bench beside it (551,254 phase rows, 51,113 open-stay rows, 441,427
answer rows, 7,320 notes rows, 15,424 sales rows). p95 ms, request / its SQL:

    phases page   193 / 115  PASS      API phases   164 / 114  PASS
    funnel page    24 / 4    PASS      API funnel    12 / 3    PASS
    people page   123 / 55   PASS      API people    71 / 55   PASS
    answers page  102 / 70   PASS      API answers   85 / 71   PASS

What each reads now, median ms of its statements alone: phases, the ended stays' times of the period
(131,000 phase rows, a sequential scan) 56, the open stays by hour entered and by hour their time in
the phase began (25,000 rows each) 15 + 15; people, the open tickets per user and phase with those
overdue 46, the notes per author and day 2, won and lost 2, the pipeline under 1; answers, the
period's answer rows 43. With another bench running beside it (load ~2.5) the same database gave
phases 608 / API 342 before the open stays' new shape and answers 155: those figures are the
machine's, not the code's.

Before, on 2026-12-03 (load ~2.4): the funnel 477 / API 504 (the cohort's sales contacts, one
aggregate over 230,000 contacts, 435 ms) and people 739 / API 755 (the period's notes per author and
day 217 ms over 1,288,514 index entries, the weighted pipeline 258, won and lost 85, open tickets 69),
both read from the raw rows. Both now read NoteTally and SalesTally, kept in the transaction of each
note, move and sales contact change (ciclo.insight.summaries). The open stays were summarised per
bucket of the time spent in the phase before, 121,723 rows (a row for nearly every re-entered stay):
the phases' two passes over them took 47 ms each.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchDatabase,
    Budget,
    add_run_options,
    alternate,
    analyze,
    announce,
    bench_django,
    bench_parser,
    environment,
    is_postgres_url,
    judge,
    lines_table,
    load_span,
    migrate,
    run,
    run_header,
    serve_in_process,
    setup_django,
    strip_samples,
    summary_table,
)

DASHBOARD = Budget("insight dashboard", 300.0, db_ratio=1.5)
API_MEASURE = Budget("insight API measurement", 200.0, db_ratio=1.5)
CHUNK = 5000
USERS = 20
PEOPLE = 20_000
CLOSE_CHANCE = 0.2  # of each round of the negotiation ending the sale: ~5 stays a ticket


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
                        if rnd.random() < CLOSE_CHANCE:
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


def build_sql(tickets: int, loops: int, seed: float = 0.07) -> dict[str, Any]:
    """The same world written set-based on PostgreSQL (INSERT … SELECT over generate_series): the paths,
    then the tickets, notes, moves, decisions, ledger stays, sales contacts and answers from them, as the
    engine writes them; business days from a day table the business calendar fills. The summaries are
    then rebuilt from those rows (ciclo.insight.summaries.rebuild, its time printed)."""
    from django.conf import settings
    from django.db import connection, transaction

    from ciclo.accounts.roles import Role
    from ciclo.insight import summaries
    from ciclo.people.models import Person
    from ciclo.sales.businessdays import BusinessCalendar
    from ciclo.sales.models import LostReason, Outcome
    from ciclo.tickets.models import PhaseMove
    from tests.factory import SalesSetup, make_cpf, make_user

    s = SalesSetup()
    s.type.sales = True
    s.type.save(update_fields=["sales"])
    s.cr_prospect.stale_after_days = 10
    s.cr_prospect.save(update_fields=["stale_after_days"])
    reason = LostReason.objects.create(name="Preço")
    boss = make_user("bench_supervisor", Role.SUPERVISOR)
    agents = [make_user(f"bench_agent{i}", Role.AGENT).pk for i in range(USERS)]
    people = Person.objects.bulk_create([Person(name=f"Pessoa {i}", document=make_cpf()) for i in range(PEOPLE)])
    first_person = min(p.pk for p in people)
    v = {
        "n": tickets,
        "last": loops + 1,
        "agents": "(ARRAY[" + ",".join(str(a) for a in agents) + "])",
        "users": USERS,
        "people": PEOPLE,
        "person0": first_person,
        "tz": settings.TIME_ZONE,
        "prospect": s.step_prospect.pk,
        "proposal": s.step_proposal.pk,
        "negotiation": s.step_negotiation.pk,
        "closed": s.step_closed.pk,
        "cr_prospect": s.cr_prospect.pk,
        "cr_proposal": s.cr_proposal.pk,
        "cr_negotiation": s.cr_negotiation.pk,
        "cr_closed": s.cr_closed.pk,
        "decision": s.decision.pk,
        "yes": s.yes.pk,
        "no": s.no.pk,
        "workflow": s.workflow.pk,
        "type": s.type.pk,
        "company": s.company.pk,
        "q_single": s.q_single.pk,
        "q_number": s.q_number.pk,
        "site": s.o_site.pk,
        "referral": s.o_referral.pk,
        "reason": reason.pk,
    }
    steps = [
        (
            "paths",
            """
        CREATE TEMP TABLE bench_ticket AS
        SELECT g AS id, now() - random() * interval '365 days' AS opened,
               {agents}[1 + g % {users}] AS agent, random() < 0.5 AS answers
        FROM generate_series(1, {n}) g;
        CREATE TEMP TABLE bench_try AS
        SELECT t.id AS ticket_id, i, t.agent,
               t.opened + sum(CASE WHEN i = 0 THEN interval '0' ELSE random() * interval '20 days' END)
                   OVER (PARTITION BY t.id ORDER BY i) AS at,
               random() AS u
        FROM bench_ticket t CROSS JOIN generate_series(0, {last}) i;
        CREATE TEMP TABLE bench_move AS
        WITH marked AS (
            SELECT *, max(CASE WHEN i = 1 THEN u END) OVER (PARTITION BY ticket_id) AS u1,
                   coalesce(bool_or(i >= 2 AND u < {close}) OVER (PARTITION BY ticket_id ORDER BY i
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS ended
            FROM bench_try
        ), kept AS (
            SELECT ticket_id, i, agent, at,
                   CASE WHEN i = 0 THEN {prospect} WHEN i = 1 THEN {proposal}
                        WHEN u < {close} THEN {closed} ELSE {negotiation} END AS step,
                   CASE WHEN i = 0 THEN {cr_prospect} WHEN i = 1 THEN {cr_proposal}
                        WHEN u < {close} THEN {cr_closed} ELSE {cr_negotiation} END AS cr,
                   CASE WHEN i < 2 THEN NULL WHEN u < {close} THEN {yes} ELSE {no} END AS option
            FROM marked WHERE at < now() AND (i = 0 OR u1 > 0.15) AND NOT ended
        )
        SELECT row_number() OVER (ORDER BY ticket_id, i) AS id, *,
               lag(step) OVER w AS from_step, lag(cr) OVER w AS from_cr, lead(at) OVER w AS next_at,
               (at AT TIME ZONE '{tz}')::date AS day, (lead(at) OVER w AT TIME ZONE '{tz}')::date AS next_day,
               floor(extract(epoch FROM lead(at) OVER w - at))::bigint AS seconds
        FROM kept WINDOW w AS (PARTITION BY ticket_id ORDER BY i);
        CREATE INDEX ON bench_move (ticket_id, i);
        ANALYZE bench_ticket; ANALYZE bench_move;
        """,
        ),
        (
            "tickets",
            """
        INSERT INTO tickets_ticket (id, status, subject, channel, priority, next_contact_at, opened_at, closed_at,
            version, company_id, cr_id, next_contact_user_id, opened_by_id, person_id, service_type_id, step_id,
            workflow_id, search_text, phase_entered_at)
        SELECT t.id, CASE WHEN m.step = {closed} THEN 'closed' ELSE 'open' END, 'Interesse no ERP', 'phone', 3,
               now() + (random() * 30 - 10) * interval '1 day', t.opened,
               CASE WHEN m.step = {closed} THEN m.at END, 1, {company}, m.cr, t.agent, t.agent,
               {person0} + t.id % {people}, {type}, m.step, {workflow}, 'interesse no erp', m.at
        FROM bench_ticket t JOIN bench_move m ON m.ticket_id = t.id AND m.next_at IS NULL;
        SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), {n});
        """,
        ),
        (
            "notes",
            """
        INSERT INTO tickets_note (kind, text, channel, created_at, author_id, ticket_id)
        SELECT CASE WHEN i = 0 THEN 'opening' ELSE 'contact' END, 'Contato', 'phone', at, agent, ticket_id
        FROM bench_move;
        """,
        ),
        (
            "moves",
            """
        INSERT INTO tickets_phasemove (id, kind, route, reason, overrode_required, at, by_id, from_cr_id,
            from_step_id, to_cr_id, to_step_id, ticket_id)
        SELECT id, CASE WHEN i = 0 THEN 'open' ELSE 'move' END, '[]', '', '[]', at, agent, from_cr, from_step,
               cr, step, ticket_id
        FROM bench_move;
        SELECT setval(pg_get_serial_sequence('tickets_phasemove', 'id'), (SELECT max(id) FROM bench_move));
        INSERT INTO tickets_movedecision (question, label, option_id, step_id, move_id)
        SELECT 'Fechou negócio?', CASE WHEN option = {yes} THEN 'Sim' ELSE 'Não' END, option, {decision}, id
        FROM bench_move WHERE option IS NOT NULL;
        """,
        ),
        (
            "ledger",
            """
        INSERT INTO insight_phasestay (entered_at, left_at, seconds, business_days, before_seconds, cr_id,
            entered_by_id, left_by_id, move_id, step_id, ticket_id, workflow_id)
        SELECT m.at, m.next_at, m.seconds, CASE WHEN m.next_at IS NOT NULL THEN b.n - a.n END,
               coalesce(sum(m.seconds) OVER (PARTITION BY m.ticket_id, m.cr ORDER BY m.i
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
               m.cr, m.agent, CASE WHEN m.next_at IS NOT NULL THEN m.agent END, m.id, m.step, m.ticket_id, {workflow}
        FROM bench_move m JOIN bench_day a ON a.day = m.day LEFT JOIN bench_day b ON b.day = m.next_day;
        """,
        ),
        (
            "sales contacts",
            """
        INSERT INTO sales_salescontact (ticket_id, contact_date, success, success_by_hand, expected_value, outcome,
            won_value, outcome_text, outcome_at, version, lost_reason_id, outcome_by_id)
        SELECT id, (opened_at AT TIME ZONE '{tz}')::date, (ARRAY[10, 30, 50, 70])[1 + floor(random() * 4)::int],
               false, 500 + floor(random() * 49500), outcome,
               CASE WHEN outcome = '{won}' THEN 500 + floor(random() * 49500) END, '', closed_at, 1,
               CASE WHEN outcome = '{lost}' THEN {reason} END, CASE WHEN closed_at IS NOT NULL THEN opened_by_id END
        FROM (SELECT *, CASE WHEN status = 'open' THEN '{open}' WHEN random() < 0.4 THEN '{won}' ELSE '{lost}' END
                  AS outcome FROM tickets_ticket) t;
        """,
        ),
        (
            "answers",
            """
        INSERT INTO tickets_answer (question_code, question_text, answer_type, value_text, value_number, is_empty,
            version, answered_at, answered_by_id, cr_id, question_id, ticket_id)
        SELECT q.code, q.text, q.answer_type, '', CASE WHEN q.id = {q_number} THEN 1 + floor(random() * 500) END,
               false, 1, t.opened + interval '1 day', t.agent, {cr_prospect}, q.id, t.id
        FROM bench_ticket t CROSS JOIN configurator_question q WHERE t.answers AND q.id IN ({q_single}, {q_number});
        INSERT INTO tickets_answerchoice (label, complement, answer_id, option_id)
        SELECT CASE WHEN r < 0.5 THEN 'Site' ELSE 'Indicação' END, '', id,
               CASE WHEN r < 0.5 THEN {site} ELSE {referral} END
        FROM (SELECT id, random() AS r FROM tickets_answer WHERE question_id = {q_single}) a;
        """,
        ),
    ]
    fill = {
        **v,
        "close": CLOSE_CHANCE,
        "won": Outcome.WON.value,
        "lost": Outcome.LOST.value,
        "open": Outcome.OPEN.value,
    }
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed])
        # The rows refer to each other by construction: the foreign keys' per-row triggers, checked at
        # commit (Django's are deferred), would take longer than the writes; replica mode skips them.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Business days after a fixed first day, by the calendar: a stay's are the difference of two.
        calendar = BusinessCalendar.for_companies()
        first = dt.date.today() - dt.timedelta(days=400)
        days = [first + dt.timedelta(days=i) for i in range(420)]
        cursor.execute("CREATE TEMP TABLE bench_day (day date PRIMARY KEY, n integer)")
        cursor.executemany(
            "INSERT INTO bench_day VALUES (%s, %s)",
            [(d, calendar.business_days_between(first, d, s.company.pk)) for d in days],
        )
        for name, sql in steps:
            began = time.perf_counter()
            for statement in sql.format(**fill).split(";"):
                if statement.strip():
                    cursor.execute(statement)
            print(f"  {name}: {time.perf_counter() - began:.1f} s", flush=True)
    built = time.perf_counter() - started
    print(f"  built {tickets:,} tickets set-based in {built:.0f} s", flush=True)
    analyze()
    started = time.perf_counter()
    rows = summaries.rebuild()
    rebuilt = time.perf_counter() - started
    from ciclo.insight.models import PhaseStay

    stays = PhaseStay.objects.count()
    print(f"  summaries rebuilt from {stays:,} stays: {rows:,} rows in {rebuilt:.1f} s", flush=True)
    return {
        "setup": s,
        "boss": boss,
        "stays": stays,
        "rebuild_s": rebuilt,
        "summary_rows": rows,
        "build_seconds": round(built),
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


@contextmanager
def kept_database(url: str) -> Iterator[None]:
    """Django set up on a database an earlier run kept (--keep), migrated to this code, as bench_django
    sets it up; nothing is dropped at the end."""
    import tempfile

    serve_in_process()
    db = BenchDatabase("postgres" if is_postgres_url(url) else "sqlite", url, Path(tempfile.mkdtemp()), url, keep=True)
    os.environ["STATIC_ROOT"] = str(db.data_dir / "static")
    setup_django(db)
    migrate()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    yield


def kept_world() -> dict[str, Any]:
    """What the requests need, read from a kept database."""
    from django.contrib.auth import get_user_model

    from ciclo.configurator.models import ServiceCycle, Workflow
    from ciclo.insight.models import PhaseStay
    from ciclo.tickets.models import PhaseMove

    setup = SimpleNamespace(workflow=Workflow.objects.get(code="vendas"), cycle=ServiceCycle.objects.order_by("pk")[0])
    return {
        "setup": setup,
        "boss": get_user_model().objects.get(username="bench_supervisor"),
        "stays": PhaseStay.objects.count(),
        "rebuild_s": 0.0,
        "build_seconds": 0,
        "moves": PhaseMove.objects.count(),
    }


def run_backend(args: Any, backend: str) -> dict[str, Any]:
    where = kept_database(args.database) if args.database else bench_django(backend, keep=args.keep, client=True)
    with where:
        from django.test import Client

        from ciclo.accounts.tokens import create_token

        if args.database:
            from ciclo.tickets.models import Ticket

            world = kept_world()
            args.tickets = Ticket.objects.count()
        elif backend == "postgres":
            world = build_sql(args.tickets, args.loops)
        else:
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

            def bare(st: list[tuple[str, Any]] = statements) -> None:
                replay(st)

            r = alternate(request, bare, args.warmup, args.iterations)
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
        "--loops", type=int, default=10, help="times a ticket may go round the negotiation (default 10: ~5 stays each)"
    )
    parser.add_argument(
        "--database", help="measure a database an earlier run kept (--keep) instead of building one (its URL)"
    )
    add_run_options(parser)
    args = parser.parse_args(argv)
    if args.database and is_postgres_url(args.database):
        args.postgres = True  # a kept PostgreSQL database: its results are named so
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

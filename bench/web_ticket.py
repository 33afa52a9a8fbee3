#!/usr/bin/env python
"""How fast the ticket page answers, against the hand-written SQL that fetches the same data.

    .venv/bin/python bench/web_ticket.py                      # SQLite, 1,000,000 tickets
    .venv/bin/python bench/web_ticket.py --postgres           # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/web_ticket.py --both --tickets 20000

It builds the tickets of bench/web_query.py (its builders, imported), then, through the
engine (open_ticket, save_answers, record_note), two tickets of their own: a big one
whose type's cycle has 50 questions over 5 phases, all answered, with 100 notes (4 of
them moves) — and a small one with 5 questions and 3 notes. It requests each ticket's
page in-process with django.test.Client (an agent logged in with force_login,
production settings: DEBUG off) and times the server's answer, alternately with the
SQL a person would write for the data the page shows (the ticket with its related
rows, the timeline with its moves, the cycle's questions and options, the answers and
their choices, the phases visited and unlocked, the workflow's steps, the users to
pass the ticket to), in the same run and database.

Budget (shared/PERFORMANCE.md): p95 under 100 ms; the page's time in the database within
1.5x of the SQL it needs (the session and the user with their role, then the 9 SELECTs);
the same number of queries for the small and the big ticket (no query per note, question
or answer).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
from dataclasses import dataclass
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

# The answer types in turn, so the cycle holds every kind of input.
ANSWER_TYPES = ["short_text", "long_text", "number", "money", "date", "time", "single_choice", "multiple_choice"]


# --- the two tickets -----------------------------------------------------------------------------------------------


@dataclass
class Shape:
    key: str
    title: str
    questions: list[int]  # per phase (the workflow's first CRs, in order)
    notes: int  # with the opening note; a move's note counts once


@dataclass
class Built:
    shape: Shape
    ticket_id: int
    questions: int
    answers: int
    notes: int
    moves: int


SMALL = Shape("small", "5 questions, 3 notes", [3, 2], 3)
BIG = Shape("big", "50 questions, 100 notes", [10, 10, 10, 10, 10], 100)


def make_type(world: World, shape: Shape, code: str) -> tuple[Any, dict[int, list[Any]]]:
    """A service type of the bench workflow whose cycle has `shape.questions` questions per phase."""
    from ciclo.configurator.models import Option, Question, ServiceCycle, ServiceType, Workflow

    cycle = ServiceCycle.objects.create(code=f"ciclo-{shape.key}", description=f"Ciclo {shape.title}")
    by_cr: dict[int, list[Any]] = {}
    n = 0
    for cr, count in zip(world.crs, shape.questions, strict=False):
        for i in range(1, count + 1):
            kind = ANSWER_TYPES[n % len(ANSWER_TYPES)]
            q = Question.objects.create(
                cycle=cycle,
                cr=cr,
                code=f"{cr.code}.{i:02d}",
                text=f"Pergunta {i} da fase {cr.code} ({kind})",
                help_text="Como o cliente respondeu" if i % 3 == 0 else "",
                answer_type=kind,
                required=i == 1,
            )
            if kind in ("single_choice", "multiple_choice"):
                for position, label in enumerate(["Site", "Indicação", "Feira", "Outro"], start=1):
                    Option.objects.create(question=q, label=label, position=position, asks_complement=label == "Outro")
            by_cr.setdefault(cr.pk, []).append(q)
            n += 1
    service_type = ServiceType.objects.create(
        code=code,
        description=f"Atendimento com {shape.title}",
        kind=ServiceType.Kind.ANALYTICAL,
        workflow=Workflow.objects.get(code="bench"),
        cycle=cycle,
    )
    return service_type, by_cr


def _value(q: Any) -> Any:
    if q.answer_type in ("single_choice", "multiple_choice"):
        options = [o.pk for o in q.options.order_by("position")]
        if q.answer_type == "single_choice":
            return [{"option": options[0], "complement": ""}]
        return [{"option": options[1], "complement": ""}, {"option": options[3], "complement": "Revenda"}]
    return {
        "short_text": "Maria, gerente de compras",
        "long_text": "Quer integrar o ERP com a loja virtual.\nPediu proposta até sexta.",
        "number": "12",
        "money": "1234.56",
        "date": "2027-03-01",
        "time": "09:30",
    }[q.answer_type]


def make_ticket(world: World, shape: Shape, code: str) -> Built:
    """Open a ticket of a type of this shape and give it its history through the engine: per phase,
    its answers, notes, and the note that moves on; the rest of the notes in the last phase."""
    from ciclo.people.models import Company, Person
    from ciclo.tickets.answering import AnswerInput, save_answers
    from ciclo.tickets.models import Answer, Note, PhaseMove, Ticket
    from ciclo.tickets.opening import open_ticket
    from ciclo.tickets.routing import record_note

    service_type, by_cr = make_type(world, shape, code)
    person = Person.objects.order_by("id").first()
    company = Company.objects.order_by("id").first()
    at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    ticket = open_ticket(
        person=person,
        service_type=service_type,
        subject=f"Ticket com {shape.title}",
        company=company,
        by=world.user,
        at=at,
    )
    phases = list(by_cr.values())
    notes = shape.notes - 1  # after the opening note
    per_phase = notes // len(phases)
    for index, questions in enumerate(phases):
        ticket = Ticket.objects.get(pk=ticket.pk)
        at += dt.timedelta(minutes=5)
        save_answers(ticket, [AnswerInput(q.pk, _value(q)) for q in questions], by=world.user, at=at)
        last = index == len(phases) - 1
        count = notes - per_phase * index if last else per_phase
        for n in range(count):
            ticket = Ticket.objects.get(pk=ticket.pk)
            at += dt.timedelta(minutes=7)
            move = not last and n == count - 1
            record_note(
                ticket,
                by=world.user,
                text=f"Contato {n + 1} na fase {index + 1}: o cliente pediu mais detalhes sobre a integração.",
                move_on=move,
                next_contact_at=at + dt.timedelta(days=2),
                next_contact_user=world.user,
                at=at,
            )
    return Built(
        shape=shape,
        ticket_id=ticket.pk,
        questions=sum(len(q) for q in phases),
        answers=Answer.objects.filter(ticket_id=ticket.pk).count(),
        notes=Note.objects.filter(ticket_id=ticket.pk).count(),
        moves=PhaseMove.objects.filter(ticket_id=ticket.pk).count(),
    )


# --- the SQL of the page's data -------------------------------------------------------------------------------------

SQL_QUERIES = 9  # page_sql's own, after the session's

# The ticket with what its header shows.
TICKET_SQL = """
    SELECT t.id, t.subject, t.status, t.priority, t.channel, t.version, t.next_contact_at, t.workflow_id,
        t.cr_id, t.step_id, p.name, p.document, st.code, st.description, st.colour, st.cycle_id, cr.code,
        cr.description, cr.closes_process, co.name, cp.name, u.username, u.first_name, u.last_name
    FROM tickets_ticket t
    JOIN people_person p ON p.id = t.person_id
    JOIN configurator_servicetype st ON st.id = t.service_type_id
    JOIN configurator_responsibilitycenter cr ON cr.id = t.cr_id
    JOIN people_company co ON co.id = t.company_id
    LEFT JOIN people_contactperson cp ON cp.id = t.contact_person_id
    LEFT JOIN auth_user u ON u.id = t.next_contact_user_id
    WHERE t.id = %s"""
# Where "move on" leads (the step after the ticket's, and its CR), and whether the user works the ticket's CR.
ROUTE_SQL = """
    SELECT ns.id, ns.kind, ns.question, ncr.description, ncr.closes_process,
        NOT EXISTS (SELECT 1 FROM configurator_responsibilitycenter_members m WHERE m.responsibilitycenter_id = %s)
        OR EXISTS (SELECT 1 FROM configurator_responsibilitycenter_members m
                   WHERE m.responsibilitycenter_id = %s AND m.user_id = %s)
    FROM configurator_workflowstep s
    LEFT JOIN configurator_workflowstep ns ON ns.workflow_id = s.workflow_id AND ns."order" = s.next_order
    LEFT JOIN configurator_responsibilitycenter ncr ON ncr.id = ns.cr_id
    WHERE s.id = %s"""
TIMELINE_SQL = """
    SELECT n.id, n.created_at, n.kind, n.channel, n.text, a.username, a.first_name, a.last_name,
        m.id, m.route, m.overrode_required, m.reason, fc.description, tc.description, tc.closes_process
    FROM tickets_note n
    JOIN auth_user a ON a.id = n.author_id
    LEFT JOIN tickets_phasemove m ON m.note_id = n.id
    LEFT JOIN configurator_responsibilitycenter fc ON fc.id = m.from_cr_id
    LEFT JOIN configurator_responsibilitycenter tc ON tc.id = m.to_cr_id
    WHERE n.ticket_id = %s
    ORDER BY n.created_at DESC, n.id DESC"""
QUESTIONS_SQL = """
    SELECT q.id, q.code, q.text, q.help_text, q.answer_type, q.required, q.active, q.cr_id, cr.code, cr.description
    FROM configurator_question q
    JOIN configurator_responsibilitycenter cr ON cr.id = q.cr_id
    WHERE q.cycle_id = %s
    ORDER BY cr.code_key, q.code_key"""
OPTIONS_SQL = """
    SELECT o.id, o.question_id, o.label, o.checked_by_default, o.asks_complement, o.active
    FROM configurator_option o
    JOIN configurator_question q ON q.id = o.question_id
    WHERE q.cycle_id = %s
    ORDER BY o.position, o.id"""
ANSWERS_SQL = """
    SELECT a.id, a.question_id, a.answer_type, a.value_text, a.value_number, a.value_date, a.value_time,
        a.is_empty, a.version
    FROM tickets_answer a
    WHERE a.ticket_id = %s"""
CHOICES_SQL = """
    SELECT c.answer_id, c.option_id, c.complement
    FROM tickets_answerchoice c
    JOIN tickets_answer a ON a.id = c.answer_id
    WHERE a.ticket_id = %s
    ORDER BY c.id"""
PHASES_SQL = """
    SELECT 'visited', m.to_cr_id FROM tickets_phasemove m WHERE m.ticket_id = %s
    UNION ALL
    SELECT 'unlocked', u.cr_id FROM tickets_crunlock u WHERE u.ticket_id = %s"""
USERS_SQL = """
    SELECT DISTINCT u.id, u.username, u.first_name, u.last_name
    FROM auth_user u
    JOIN auth_user_groups g ON g.user_id = u.id
    WHERE u.is_active
    ORDER BY u.username"""


def page_sql(ticket_id: int, user_id: int, signed_in: list[tuple[str, list[Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the page shows: who asks (`signed_in`, session_sql), then 9 queries: the floor of the page."""
    from django.db import connection

    out: dict[str, list[tuple[Any, ...]]] = {}
    run_statements(signed_in)
    with connection.cursor() as c:
        c.execute(TICKET_SQL, [ticket_id])
        out["ticket"] = c.fetchall()
        cr_id, step_id, cycle_id = out["ticket"][0][8], out["ticket"][0][9], out["ticket"][0][15]
        for key, sql, params in (
            ("route", ROUTE_SQL, [cr_id, cr_id, user_id, step_id]),
            ("timeline", TIMELINE_SQL, [ticket_id]),
            ("questions", QUESTIONS_SQL, [cycle_id]),
            ("options", OPTIONS_SQL, [cycle_id]),
            ("answers", ANSWERS_SQL, [ticket_id]),
            ("choices", CHOICES_SQL, [ticket_id]),
            ("phases", PHASES_SQL, [ticket_id, ticket_id]),
            ("users", USERS_SQL, []),
        ):
            c.execute(sql, params)
            out[key] = c.fetchall()
    return out


def shown(html: str) -> dict[str, Any]:
    """What the page shows, to hold against the SQL's rows: the questions in order, the timeline's entries."""
    timeline = html.split('data-testid="timeline"', 1)[1].split("</ol>", 1)[0]
    return {
        "questions": [int(x) for x in re.findall(r'<div class="mb-3" id="q-(\d+)">', html)],
        "notes": timeline.count("<li"),
        "moves": len(re.findall(r'<li class="move', timeline)),
        "users": len(re.findall(r'<option value="\d+"', html.split('id="note-user"', 1)[1].split("</select>", 1)[0])),
    }


def same_data(html: str, data: dict[str, list[tuple[Any, ...]]]) -> bool:
    page = shown(html)
    return (
        page["questions"] == [row[0] for row in data["questions"] if row[6]]
        and page["notes"] == len(data["timeline"])
        and page["moves"] == sum(1 for row in data["timeline"] if row[8] is not None)
        and page["users"] == len(data["users"])
    )


# --- timing --------------------------------------------------------------------------------------------------------


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    with bench_django(backend, keep=args.keep, client=True):
        from django.test import Client
        from django.urls import reverse

        env = environment()
        announce("ticket page", env, args)
        world, seconds = build_world(args.tickets)
        start = time.perf_counter()
        built = [
            make_ticket(world, SMALL, f"9.{len(world.types) + 1}"),
            make_ticket(world, BIG, f"9.{len(world.types) + 2}"),
        ]
        analyze()
        print(
            f"through the engine in {time.perf_counter() - start:.1f} s: "
            + "; ".join(
                f"#{b.ticket_id} {b.questions} questions, {b.answers} answers, {b.notes} notes, {b.moves} moves"
                for b in built
            ),
            flush=True,
        )
        client = Client()
        client.force_login(world.user)
        client.get("/")  # the session's first request may write it
        signed_in = session_sql(client)
        load_before = os.getloadavg()
        results: dict[str, Any] = {}
        for b in built:
            url = reverse("ticket", args=[b.ticket_id])

            def page(url: str = url) -> Any:
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")
                return response

            def sql(b: Built = b) -> Any:
                return page_sql(b.ticket_id, world.user.pk, signed_in)

            html = page().content.decode()
            same = same_data(html, sql())
            queries = captured_queries(page)
            print(f"timing: the page of the ticket with {b.shape.title} …", flush=True)
            r = alternate(page, sql, args.warmup, args.iterations)
            r.update(
                title=f"ticket page, {b.shape.title}",
                built={k: v for k, v in b.__dict__.items() if k != "shape"},
                same_data=same,
                shown=shown(html),
                bytes=len(html),
                queries=len(queries),
                queries_sql=queries,
                sql_queries=len(signed_in) + SQL_QUERIES,
                extra=[f"{len(html) // 1024} KiB", "yes" if same else "NO"],
            )
            results[b.shape.key] = r
        env["load_average"] = load_span(load_before)
        # No query per note, question or answer: the small ticket's page asks what the big one's does.
        for r in results.values():
            judge(r, PAGE, backend, (results["small"]["queries"], results["big"]["queries"]))
            r["checks"]["same data"] = r["same_data"]
            r["passed"] = all(r["checks"].values())
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "build_seconds": round(seconds, 1),
            "iterations": args.iterations,
            "warmup": args.warmup,
            "cases": results,
        }


# --- reporting -----------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    lines = run_header(result)
    lines.append(lines_table("ticket page", list(result["cases"].values()), extra=["HTML", "same data"]))
    lines.append("\nqueries: the small ticket's page / the big one's (the SQL's statements)")
    if show_sql:
        big = result["cases"]["big"]
        lines.append(f"\n-- the queries of “{big['title']}”:")
        lines += [f"  {i + 1:2}. {' '.join(sql.split())[:300]}" for i, sql in enumerate(big["queries_sql"])]
    return "\n".join(lines)


def strip(result: dict[str, Any]) -> dict[str, Any]:
    return strip_samples(result, ["cases"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for res in results for r in res["cases"].values())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=1_000_000,
        iterations_help="timed requests per ticket and side (200)",
        warmup_help="untimed requests first (10)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print the big ticket's page's queries")
    add_run_options(parser)
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="web_ticket",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=lambda results: summary_table("ticket page", results),
        passed=passed,
    )


if __name__ == "__main__":
    sys.exit(main())

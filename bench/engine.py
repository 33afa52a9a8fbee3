#!/usr/bin/env python
"""How fast the ticket engine is, against hand-written SQL doing the same writes.

    .venv/bin/python bench/engine.py              # SQLite, 1,000,000 tickets, 200 iterations
    .venv/bin/python bench/engine.py --postgres   # a fresh PostgreSQL database (dropped at the end)
    .venv/bin/python bench/engine.py --both       # SQLite, then PostgreSQL; both tables at the end

It builds a realistic database set-based (INSERT … SELECT, not through the engine),
then times three agent actions — open a ticket, record a note that moves through a
decision, save ten answers — through the engine's public functions (open_ticket,
record_note, save_answers) and through raw SQL, alternating, in the same run and
database. Budget (shared/PERFORMANCE.md): p95 under 15 ms, within 3x of its raw SQL on
PostgreSQL, and the same number of queries per action at 1,000 and at the full size.
The raw SQL also keeps the insight's summaries as the engine does (ciclo.insight.summaries:
the PhaseTally, OpenTally, NoteTally and AnswerTally upserts, and the one sales-contact read a
note or move makes; the bench's service type is not a sales type); at the small size the
summaries both sides kept are compared with a recount. See bench/README.md for each figure.

At 1,000,000 tickets (engine at commit f77b6ba, 2026-12-04 02:12–02:21 UTC, 2 CPUs, 200 calls
a side; queries: engine at 1,000 / at 1,000,000, the raw SQL's in brackets):

    SQLite 3.40.1, load 2.75 → 2.79    p50 / p95 ms   raw p50 / p95   ×raw p50  queries     budget
      open a ticket                     9.47 / 22.11    1.03 / 1.25     9.21×   16/16 (11)  FAIL: p95
      note + move through a decision   16.20 / 26.19    2.08 / 6.08     7.80×   23/23 (16)  FAIL: p95
      save 10 answers (all types)      11.43 / 20.69    1.08 / 3.83    10.54×   11/11 (7)   FAIL: p95
    PostgreSQL 15.20, load 1.23 → 1.18
      open a ticket                    12.62 / 14.28    2.57 / 2.78     4.91×   16/16 (11)  FAIL: ×SQL
      note + move through a decision   22.99 / 26.00    5.75 / 7.55     4.00×   23/23 (16)  FAIL: p95, ×SQL
      save 10 answers (all types)      17.17 / 19.16    4.28 / 4.94     4.01×   11/11 (7)   FAIL: p95, ×SQL

Rows written per call the same on both sides; the summaries kept at 1,000 tickets equal a recount.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENGINE_ACTION,
    add_run_options,
    alternate,
    analyze,
    announce,
    bench_django,
    bench_parser,
    captured_queries,
    db_time,
    environment,
    judge,
    lines_table,
    load_span,
    ms,
    profiled,
    ratio,
    run,
    strip_samples,
    summary_table,
    table,
)

CHUNK = 5_000  # tickets per set-based INSERT … SELECT
ARRIVED, LEFT, LATEST, TOTAL, REACHED, DECIDED = 1, 2, 3, 4, 5, 6  # insight.PhaseTally's kinds


# --- the configuration: a sales workflow with a decision, a cycle with every answer type -------------------------


@dataclass
class Config:
    company: Any
    service_type: Any
    workflow: Any
    cycle: Any
    crs: dict[str, Any]  # by code
    steps: dict[int, Any]  # by order
    decision: Any
    yes: Any
    no: Any
    questions: dict[str, Any]  # by code
    options: dict[str, Any]  # by label
    agent: Any  # the `by` of every action
    user_ids: list[int] = field(default_factory=list)

    @property
    def first_cr_questions(self) -> list[Any]:
        return [q for q in self.questions.values() if q.cr_id == self.crs["1"].pk]


def make_config(agents: int) -> Config:
    """Like tests/factory.py's SalesSetup, with 10 questions in the first CR and 13 in all.

    Workflow "vendas":
      0  CR 1 Prospecção           → 5
      5  CR 2 Proposta enviada     → 10
      10 decision "Fechou negócio?"  Sim → 20, Não → 15
      15 CR 3 Negociação           → 10
      20 CR 9 Encerrado (closes)
    """
    from django.contrib.auth.models import User

    from ciclo.accounts.roles import Role, set_role
    from ciclo.configurator.models import (
        AnswerType,
        CrmOptions,
        DecisionOption,
        Option,
        Question,
        ResponsibilityCenter,
        ServiceCycle,
        ServiceType,
        Workflow,
        WorkflowStep,
    )
    from ciclo.people.models import Company

    crs = {
        code: ResponsibilityCenter.objects.create(code=code, description=desc, closes_process=code == "9")
        for code, desc in [("1", "Prospecção"), ("2", "Proposta enviada"), ("3", "Negociação"), ("9", "Encerrado")]
    }
    w = Workflow.objects.create(code="vendas", description="Vendas")
    steps = {
        0: WorkflowStep.objects.create(workflow=w, order=0, kind="cr", cr=crs["1"], next_order=5),
        5: WorkflowStep.objects.create(workflow=w, order=5, kind="cr", cr=crs["2"], next_order=10),
        10: WorkflowStep.objects.create(workflow=w, order=10, kind="decision", question="Fechou negócio?"),
        15: WorkflowStep.objects.create(workflow=w, order=15, kind="cr", cr=crs["3"], next_order=10),
        20: WorkflowStep.objects.create(workflow=w, order=20, kind="cr", cr=crs["9"]),
    }
    yes = DecisionOption.objects.create(step=steps[10], label="Sim", target_order=20, position=1)
    no = DecisionOption.objects.create(step=steps[10], label="Não", target_order=15, position=2)
    cycle = ServiceCycle.objects.create(code="ciclo-vendas", description="Ciclo de vendas")
    t = AnswerType
    spec: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("1", "1.01", "Contato", t.SHORT_TEXT, {}),
        ("1", "1.02", "Necessidade", t.LONG_TEXT, {}),
        ("1", "1.03", "Funcionários", t.NUMBER, {"min_value": 0}),
        ("1", "1.04", "Orçamento", t.MONEY, {}),
        ("1", "1.05", "Data da visita", t.DATE, {}),
        ("1", "1.06", "Hora da visita", t.TIME, {}),
        ("1", "1.07", "Origem", t.SINGLE_CHOICE, {"required": True}),
        ("1", "1.08", "Interesses", t.MULTIPLE_CHOICE, {}),
        ("1", "1.09", "Cargo do contato", t.SHORT_TEXT, {}),
        ("1", "1.10", "Filiais", t.NUMBER, {"min_value": 0}),
        ("2", "2.01", "Valor da proposta", t.MONEY, {}),
        ("3", "3.01", "Objeções", t.LONG_TEXT, {}),
        ("9", "9.01", "Avaliação", t.SHORT_TEXT, {}),
    ]
    questions = {
        code: Question.objects.create(cycle=cycle, cr=crs[cr], code=code, text=text, answer_type=kind, **kw)
        for cr, code, text, kind, kw in spec
    }
    options = {
        "Site": Option.objects.create(question=questions["1.07"], label="Site", position=1),
        "Indicação": Option.objects.create(
            question=questions["1.07"], label="Indicação", position=2, asks_complement=True
        ),
        "ERP": Option.objects.create(question=questions["1.08"], label="ERP", position=1, checked_by_default=True),
        "CRM": Option.objects.create(question=questions["1.08"], label="CRM", position=2),
        "Outro": Option.objects.create(question=questions["1.08"], label="Outro", position=3, asks_complement=True),
    }
    ServiceType.objects.create(code="1", description="Vendas", kind=ServiceType.Kind.SYNTHETIC)
    service_type = ServiceType.objects.create(
        code="1.1",
        description="Venda nova",
        kind=ServiceType.Kind.ANALYTICAL,
        category=ServiceType.Category.SALES,
        workflow=w,
        cycle=cycle,
        days_to_next_contact=2,
        priority=2,
    )
    company = Company.objects.create(code="E1", name="Empresa Bench")
    CrmOptions.current()  # the one row exists, as in any installed Ciclo
    users = []
    for n in range(1, agents + 1):
        user = User.objects.create_user(username=f"agent{n}", password=None, first_name=f"Agente {n}")
        set_role(user, Role.AGENT)
        users.append(user)
    return Config(
        company=company,
        service_type=service_type,
        workflow=w,
        cycle=cycle,
        crs=crs,
        steps=steps,
        decision=steps[10],
        yes=yes,
        no=no,
        questions=questions,
        options=options,
        agent=User.objects.get(pk=users[0].pk),
        user_ids=[u.pk for u in users],
    )


# --- the data: set-based, one statement per table per chunk of tickets -------------------------------------------

FIRST = [
    "Ana",
    "Bruno",
    "Carla",
    "Daniel",
    "Éverton",
    "Fernanda",
    "Gustavo",
    "Helena",
    "Íris",
    "João",
    "Karina",
    "Lucas",
    "Márcia",
    "Nélson",
    "Otávio",
    "Paula",
    "Rafael",
    "Sílvia",
    "Tiago",
    "Valéria",
]
LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Araújo",
    "Melo",
    "Barbosa",
    "Cardoso",
    "Conceição",
    "Simões",
]


class Builder:
    """Writes people, tickets, notes, moves, decisions, answers, choices and revisions with INSERT … SELECT.

    Ticket number x (1…N) decides where a ticket sits, by x mod 20: 45 % in CR 1 (no
    answers yet), 30 % in CR 2, 10 % in CR 3 (passed the decision with "Não"), 15 %
    closed (passed it with "Sim"). Tickets past CR 1 carry the 10 answers of CR 1, with
    choices and a revision each; a third of them changed one answer (2 revisions).
    Each ticket has one note, the move that brought it to its step (it has been in its phase
    since then: phase_entered_at, as the engine sets it) and the phase stay that move began (the
    ledger's backfill writes the same). No appointments: the agenda has none for tickets older than
    it, so the first action on one puts its next contact on the agenda.
    """

    BUCKETS = {"cr1": 0, "cr2": 9, "cr3": 15, "closed": 17}

    def __init__(self, cfg: Config) -> None:
        from django.db import connection

        self.cfg = cfg
        self.pg = connection.vendor == "postgresql"
        now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        self.base_open = now - dt.timedelta(days=200)
        self.base_next = now - dt.timedelta(days=15)
        self.people_count = 0
        self.next_x = 10_000_000  # ticket numbers of the pools, apart from the bulk's
        self.skip_fk_triggers = False
        if self.pg:
            with connection.cursor() as cursor:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", [])
                self.skip_fk_triggers = bool(cursor.fetchone()[0])

    # vendor-specific expressions
    def _series(self) -> str:
        if self.pg:
            return "WITH s(x) AS (SELECT generate_series(%s::bigint, %s::bigint))"
        return "WITH RECURSIVE s(x) AS (SELECT %s UNION ALL SELECT x + 1 FROM s WHERE x < %s)"

    def _ts(self, base: dt.datetime, minutes: str) -> str:
        if self.pg:
            return f"(TIMESTAMPTZ '{base:%Y-%m-%d %H:%M:%S}+00' + ({minutes}) * INTERVAL '1 minute')"
        return f"datetime('{base:%Y-%m-%d %H:%M:%S}', '+' || ({minutes}) || ' minutes')"

    def _date(self, days: str) -> str:
        if self.pg:
            return f"(DATE '2027-01-01' + CAST({days} AS integer))"
        return f"date('2027-01-01', '+' || ({days}) || ' days')"

    def _time(self, minutes: str) -> str:
        if self.pg:
            return f"(TIME '08:00' + ({minutes}) * INTERVAL '1 minute')"
        return f"time('08:00', '+' || ({minutes}) || ' minutes')"

    def _json(self, literal_sql: str) -> str:
        return f"CAST({literal_sql} AS jsonb)" if self.pg else literal_sql

    def _json_of_answer(self) -> str:
        """The answer's value as the engine's history rows carry it (values.json_of)."""
        if self.pg:
            return (
                "CASE a.answer_type WHEN 'short_text' THEN to_jsonb(a.value_text) "
                "WHEN 'long_text' THEN to_jsonb(a.value_text) "
                "WHEN 'number' THEN to_jsonb(CAST(trim_scale(a.value_number) AS text)) "
                "WHEN 'money' THEN to_jsonb(to_char(a.value_number, 'FM999999999990.00')) "
                "WHEN 'date' THEN to_jsonb(CAST(a.value_date AS text)) "
                "WHEN 'time' THEN to_jsonb(to_char(a.value_time, 'HH24:MI')) "
                "ELSE (SELECT COALESCE(jsonb_agg(jsonb_build_object('option', c.option_id, 'label', c.label, "
                "'complement', c.complement) ORDER BY c.id), CAST('[]' AS jsonb)) "
                "FROM tickets_answerchoice c WHERE c.answer_id = a.id) END"
            )
        return (
            "CASE a.answer_type WHEN 'short_text' THEN json_quote(a.value_text) "
            "WHEN 'long_text' THEN json_quote(a.value_text) "
            "WHEN 'number' THEN json_quote(CAST(CAST(a.value_number AS integer) AS text)) "
            "WHEN 'money' THEN json_quote(printf('%%.2f', a.value_number)) "
            "WHEN 'date' THEN json_quote(a.value_date) "
            "WHEN 'time' THEN json_quote(substr(a.value_time, 1, 5)) "
            "ELSE (SELECT json_group_array(json_object('option', c.option_id, 'label', c.label, "
            "'complement', c.complement)) FROM tickets_answerchoice c WHERE c.answer_id = a.id) END"
        )

    @staticmethod
    def _route(option: Any, cfg: Config) -> str:
        hop = [{"order": 10, "kind": "decision", "question": cfg.decision.question, "option": option.label}]
        return "'" + json.dumps(hop).replace("'", "''") + "'"

    def people(self, count: int, progress: Any = None) -> None:
        """`count` more people, named from common Brazilian names, each with a valid CPF."""
        from django.db import connection, transaction

        from ciclo.people.documents import cpf_check_digits
        from ciclo.people.text import fold

        now = connection.ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC))
        sql = (
            "INSERT INTO people_person (name, search_name, kind, document, trade_name, city, state, notes, active, "
            "created_at) VALUES (%s, %s, 'individual', %s, '', 'São Paulo', 'SP', '', %s, %s)"
        )
        start = self.people_count + 1
        for lo in range(start, start + count, CHUNK):
            rows = []
            for n in range(lo, min(lo + CHUNK, start + count)):
                name = f"{FIRST[n % 20]} {LAST[(n // 20) % 20]} {LAST[(n // 400) % 20]} {n}"
                rows.append((name, fold(name), cpf_check_digits(f"{n + 100000000:09d}"), True, now))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
            if progress is not None:
                progress.update(len(rows))
        self.people_count += count

    def tickets(self, lo: int, hi: int, bucket: str | None = None, progress: Any = None) -> list[int]:
        """Tickets number lo…hi (inclusive) with their rows in every table; returns their ids."""
        from django.db import connection, transaction

        ids: list[int] = []
        for start in range(lo, hi + 1, CHUNK):
            end = min(start + CHUNK - 1, hi)
            with transaction.atomic(), connection.cursor() as cursor:
                if self.skip_fk_triggers:
                    # Consistent by construction: PostgreSQL need not check 3 M foreign keys row by row.
                    cursor.execute("SET LOCAL session_replication_role = replica", [])
                cursor.execute("SELECT COALESCE(MAX(id), 0) FROM tickets_ticket", [])
                before = cursor.fetchone()[0]
                for sql, params in self._chunk_sql(bucket):
                    cursor.execute(sql, [start, end] if params == "series" else [before])
                cursor.execute("SELECT id FROM tickets_ticket WHERE id > %s ORDER BY id", [before])
                ids += [row[0] for row in cursor.fetchall()]
            if progress is not None:
                progress.update(end - start + 1)
        return ids

    def pool(self, count: int, bucket: str) -> list[int]:
        """`count` fresh tickets in one bucket, for actions that each need a ticket of their own."""
        lo = self.next_x
        self.next_x += count
        return self.tickets(lo, lo + count - 1, bucket) if count else []

    def _chunk_sql(self, bucket: str | None) -> list[tuple[str, str]]:
        cfg = self.cfg
        s, cr = cfg.steps, cfg.crs
        st = cfg.service_type
        k = "x %% 20" if bucket is None else str(self.BUCKETS[bucket])
        u0, un = min(cfg.user_ids), len(cfg.user_ids)
        p0 = self._people_min()
        pn = self.people_count
        tickets = f"""{self._series()}
            INSERT INTO tickets_ticket (status, subject, channel, priority, next_contact_at, opened_at, closed_at,
                version, company_id, contact_person_id, cr_id, next_contact_user_id, opened_by_id, person_id,
                service_type_id, step_id, workflow_id, phase_entered_at)
            SELECT CASE WHEN b.k >= 17 THEN 'closed' ELSE 'open' END,
                'Interesse no ERP ' || b.x,
                CASE b.x %% 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'email' ELSE 'whatsapp' END,
                {st.priority},
                {self._ts(self.base_next, "b.x %% 43200")},
                {self._ts(self.base_open, "b.x %% 250000")},
                CASE WHEN b.k >= 17 THEN {self._ts(self.base_open, "b.x %% 250000 + 1440")} ELSE NULL END,
                CASE WHEN b.k < 9 THEN 1 ELSE 2 END,
                {cfg.company.pk}, NULL,
                CASE WHEN b.k < 9 THEN {cr["1"].pk} WHEN b.k < 15 THEN {cr["2"].pk}
                     WHEN b.k < 17 THEN {cr["3"].pk} ELSE {cr["9"].pk} END,
                {u0} + b.x %% {un}, {u0} + (b.x / 7) %% {un}, {p0} + (b.x * 7919) %% {pn},
                {st.pk},
                CASE WHEN b.k < 9 THEN {s[0].pk} WHEN b.k < 15 THEN {s[5].pk}
                     WHEN b.k < 17 THEN {s[15].pk} ELSE {s[20].pk} END,
                {cfg.workflow.pk},
                {self._ts(self.base_open, "b.x %% 250000")}
            FROM (SELECT x, {k} AS k FROM s) AS b"""
        notes = f"""
            INSERT INTO tickets_note (ticket_id, kind, text, channel, author_id, created_at, next_contact_at,
                next_contact_user_id)
            SELECT t.id, CASE WHEN t.step_id = {s[0].pk} THEN 'opening' ELSE 'contact' END,
                'Falamos com o cliente sobre: ' || t.subject, t.channel, t.opened_by_id, t.opened_at,
                t.next_contact_at, t.next_contact_user_id
            FROM tickets_ticket t WHERE t.id > %s"""
        moves = f"""
            INSERT INTO tickets_phasemove (ticket_id, note_id, kind, from_step_id, to_step_id, from_cr_id, to_cr_id,
                route, reason, overrode_required, by_id, at)
            SELECT t.id, n.id, CASE WHEN t.step_id = {s[0].pk} THEN 'open' ELSE 'move' END,
                CASE WHEN t.step_id = {s[0].pk} THEN NULL WHEN t.step_id = {s[5].pk} THEN {s[0].pk}
                     ELSE {s[5].pk} END,
                t.step_id,
                CASE WHEN t.step_id = {s[0].pk} THEN NULL WHEN t.step_id = {s[5].pk} THEN {cr["1"].pk}
                     ELSE {cr["2"].pk} END,
                t.cr_id,
                {
            self._json(
                f"CASE WHEN t.step_id = {s[15].pk} THEN {self._route(cfg.no, cfg)} "
                f"WHEN t.step_id = {s[20].pk} THEN {self._route(cfg.yes, cfg)} ELSE '[]' END"
            )
        },
                '', {self._json("'[]'")}, t.opened_by_id, t.opened_at
            FROM tickets_ticket t JOIN tickets_note n ON n.ticket_id = t.id WHERE t.id > %s"""
        stays = """
            INSERT INTO insight_phasestay (ticket_id, cr_id, workflow_id, step_id, move_id, entered_at, entered_by_id,
                left_at, left_by_id, seconds, business_days)
            SELECT m.ticket_id, m.to_cr_id, t.workflow_id, m.to_step_id, m.id, m.at, m.by_id, NULL, NULL, NULL, NULL
            FROM tickets_phasemove m JOIN tickets_ticket t ON t.id = m.ticket_id WHERE m.ticket_id > %s"""
        decisions = f"""
            INSERT INTO tickets_movedecision (move_id, step_id, option_id, question, label)
            SELECT m.id, {cfg.decision.pk},
                CASE WHEN m.to_step_id = {s[20].pk} THEN {cfg.yes.pk} ELSE {cfg.no.pk} END,
                '{cfg.decision.question}',
                CASE WHEN m.to_step_id = {s[20].pk} THEN '{cfg.yes.label}' ELSE '{cfg.no.label}' END
            FROM tickets_phasemove m WHERE m.ticket_id > %s AND m.to_step_id IN ({s[15].pk}, {s[20].pk})"""
        answers = f"""
            INSERT INTO tickets_answer (ticket_id, question_id, cr_id, question_code, question_text, answer_type,
                value_text, value_number, value_date, value_time, is_empty, version, answered_by_id, answered_at)
            SELECT t.id, q.id, q.cr_id, q.code, q.text, q.answer_type,
                CASE q.answer_type WHEN 'short_text' THEN 'Resposta ' || t.id
                    WHEN 'long_text' THEN 'Quer integrar o ERP com a loja virtual (ticket ' || t.id || ')'
                    ELSE '' END,
                CASE q.answer_type WHEN 'number' THEN t.id %% 500 WHEN 'money' THEN (t.id %% 100000) / 100.0
                    ELSE NULL END,
                CASE WHEN q.answer_type = 'date' THEN {self._date("t.id %% 365")} ELSE NULL END,
                CASE WHEN q.answer_type = 'time' THEN {self._time("t.id %% 600")} ELSE NULL END,
                false,
                CASE WHEN q.answer_type = 'short_text' AND t.id %% 3 = 0 THEN 2 ELSE 1 END,
                t.opened_by_id, t.opened_at
            FROM tickets_ticket t CROSS JOIN configurator_question q
            WHERE t.id > %s AND t.cr_id <> {cr["1"].pk} AND q.cycle_id = {cfg.cycle.pk} AND q.cr_id = {cr["1"].pk}"""
        q_single, q_multi = cfg.questions["1.07"].pk, cfg.questions["1.08"].pk
        choices = f"""
            INSERT INTO tickets_answerchoice (answer_id, option_id, label, complement)
            SELECT a.id, o.id, o.label, ''
            FROM tickets_answer a JOIN configurator_option o ON o.question_id = a.question_id
            WHERE a.ticket_id > %s AND (
                (a.question_id = {q_single} AND o.position = 1 + a.ticket_id %% 2)
                OR (a.question_id = {q_multi} AND (o.position = 1 OR (o.position = 2 AND a.ticket_id %% 3 = 0))))"""
        draft = self._json("'\"rascunho\"'")
        first_revisions = f"""
            INSERT INTO tickets_answerrevision (answer_id, ticket_id, question_id, version, old_value, new_value,
                by_id, at)
            SELECT a.id, a.ticket_id, a.question_id, 1, NULL,
                CASE WHEN a.version = 2 THEN {draft} ELSE {self._json_of_answer()} END,
                a.answered_by_id, a.answered_at
            FROM tickets_answer a WHERE a.ticket_id > %s"""
        second_revisions = f"""
            INSERT INTO tickets_answerrevision (answer_id, ticket_id, question_id, version, old_value, new_value,
                by_id, at)
            SELECT a.id, a.ticket_id, a.question_id, 2, {draft}, {self._json_of_answer()},
                a.answered_by_id, a.answered_at
            FROM tickets_answer a WHERE a.ticket_id > %s AND a.version = 2"""
        return [
            (tickets, "series"),
            (notes, "before"),
            (moves, "before"),
            (stays, "before"),
            (decisions, "before"),
            (answers, "before"),
            (choices, "before"),
            (first_revisions, "before"),
            (second_revisions, "before"),
        ]

    def _people_min(self) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM people_person", [])
            low, high, count = cursor.fetchone()
        assert high - low + 1 == count == self.people_count, "people ids must be contiguous"
        return low


def build(builder: Builder, lo: int, hi: int, label: str) -> dict[str, Any]:
    """Tickets lo…hi and their share of people (one person for five tickets), with a progress bar."""
    from tqdm import tqdm

    start = dt.datetime.now()
    people = max(1, hi // 5) - builder.people_count
    with tqdm(total=people, desc=f"{label}: people", unit="row", leave=False, dynamic_ncols=True) as bar:
        builder.people(people, bar)
    with tqdm(total=hi - lo + 1, desc=f"{label}: tickets", unit="ticket", dynamic_ncols=True) as bar:
        builder.tickets(lo, hi, progress=bar)
    analyze()
    seconds = (dt.datetime.now() - start).total_seconds()
    return {"tickets": hi - lo + 1, "people": people, "seconds": round(seconds, 1)}


def row_counts() -> dict[str, int]:
    from django.db import connection

    tables = [
        "people_person",
        "tickets_ticket",
        "tickets_note",
        "tickets_phasemove",
        "tickets_movedecision",
        "tickets_answer",
        "tickets_answerchoice",
        "tickets_answerrevision",
        "insight_phasestay",
        "agenda_appointment",
    ]
    counts = {}
    with connection.cursor() as cursor:
        for name in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {name}", [])
            counts[name] = cursor.fetchone()[0]
    return counts


# --- the actions: the engine call and the hand-written SQL that does the same writes ------------------------------


@dataclass
class Action:
    key: str
    title: str
    engine: Callable[[], Any]
    raw: Callable[[], Any]
    bucket: str | None  # where its tickets sit, None when it makes its own


class Actions:
    """The three actions, each drawing a ticket of its own per call from pools made beforehand."""

    def __init__(self, cfg: Config, builder: Builder) -> None:
        from django.db import connection

        self.cfg = cfg
        self.builder = builder
        self.pg = connection.vendor == "postgresql"
        self.ops = connection.ops
        self.pools: dict[tuple[str, str], list[Any]] = {}
        self.calls = 0
        self.moves = {"engine": 0, "raw": 0}  # each side's moves: "Sim" and "Não" in turn
        self.steps_by_id = {st.pk: st for st in cfg.steps.values()}
        self.persons: list[Any] = []
        self.all = [
            Action("open", "open a ticket", self.engine_open, self.raw_open, None),
            Action("move", "note + move through a decision", self.engine_move, self.raw_move, "cr2"),
            Action("answers", "save 10 answers (all types)", self.engine_answers, self.raw_answers, "cr1"),
        ]

    def fill(self, per_side: int) -> None:
        """Fresh tickets for `per_side` calls of each side of each action, and people to open tickets for."""
        from ciclo.people.models import Person
        from ciclo.tickets.models import Ticket

        for action in self.all:
            if action.bucket is None:
                continue
            engine_ids = self.builder.pool(per_side, action.bucket)
            raw_ids = self.builder.pool(per_side, action.bucket)
            # The engine takes a Ticket as a view would have loaded it; the raw SQL takes the id.
            tickets = Ticket.objects.in_bulk(engine_ids)
            self.pools[(action.key, "engine")] = [tickets[i] for i in engine_ids]
            self.pools[(action.key, "raw")] = list(raw_ids)
        ids = random.Random(7).sample(range(1, self.builder.people_count + 1), min(500, self.builder.people_count))
        low = Person.objects.order_by("id").values_list("id", flat=True).first() or 1
        self.persons = list(Person.objects.filter(pk__in=[low - 1 + i for i in ids]))

    def take(self, key: str, side: str) -> Any:
        pool = self.pools[(key, side)]
        if not pool:
            raise RuntimeError(f"the pool of {key}/{side} ran out: make it larger")
        return pool.pop()

    def _j(self) -> str:
        return "CAST(%s AS jsonb)" if self.pg else "%s"

    # the insight's summaries (ciclo.insight.summaries), kept in the action's transaction: one upsert per table,
    # its rows in key order, each an increment the database adds (ON CONFLICT … DO UPDATE SET n = n + excluded.n)
    def _upsert(self, c: Any, sql: str, rows: dict[tuple[Any, ...], list[Any]]) -> None:
        changed = sorted((key, values) for key, values in rows.items() if any(values))
        if not changed:
            return
        width = len(changed[0][0]) + len(changed[0][1])
        adapt = self.ops.adapt_datefield_value
        params = [
            adapt(v)
            if isinstance(v, dt.date)
            else self.ops.adapt_decimalfield_value(v, 38, 4)
            if isinstance(v, Decimal)
            else v
            for key, values in changed
            for v in (*key, *values)
        ]
        c.execute(sql.format(", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(changed))), params)

    def _phase_tally(self, c: Any, rows: dict[tuple[Any, ...], list[Any]]) -> None:
        """rows: (workflow, kind, day, cr, service type, company, bucket) → [n, seconds]."""
        self._upsert(
            c,
            "INSERT INTO insight_phasetally (workflow_id, kind, day, cr_id, service_type_id, company_id, bucket, n,"
            " seconds) VALUES {} ON CONFLICT (workflow_id, kind, day, cr_id, service_type_id, company_id, bucket)"
            " DO UPDATE SET n = insight_phasetally.n + excluded.n,"
            " seconds = insight_phasetally.seconds + excluded.seconds",
            rows,
        )

    def _open_tally(self, c: Any, rows: dict[tuple[Any, ...], list[Any]]) -> None:
        """rows: (kind, workflow, cr, hour, service type, company) → [n, moments]: an open stay by the hour
        it was entered (kind 1) and by the hour its ticket's time in the phase began (kind 2)."""
        self._upsert(
            c,
            "INSERT INTO insight_opentally (kind, workflow_id, cr_id, hour, service_type_id, company_id, n, moments)"
            " VALUES {} ON CONFLICT (kind, workflow_id, cr_id, hour, service_type_id, company_id)"
            " DO UPDATE SET n = insight_opentally.n + excluded.n,"
            " moments = insight_opentally.moments + excluded.moments",
            rows,
        )

    @staticmethod
    def _open_stay(
        rows: dict[tuple[Any, ...], list[Any]], wf: int, cr: int, st: int, co: int, epoch: int, before: int, sign: int
    ) -> None:
        """An open stay entered at `epoch` after `before` seconds in the phase: added (1) or taken away (-1)."""
        for kind, moment in ((1, epoch), (2, epoch - before)):
            row = rows.setdefault((kind, wf, cr, moment // 3600, st, co), [0, 0])
            row[0] += sign
            row[1] += sign * moment

    def _note_tally(self, c: Any, day: dt.date, author: int, service_type: int, company: int) -> None:
        self._upsert(
            c,
            "INSERT INTO insight_notetally (day, user_id, service_type_id, company_id, n) VALUES {}"
            " ON CONFLICT (day, user_id, service_type_id, company_id)"
            " DO UPDATE SET n = insight_notetally.n + excluded.n",
            {(day, author, service_type, company): [1]},
        )

    def _no_sales_contact(self, c: Any, ticket_id: int) -> None:
        """What the sales summaries read of a ticket before a note or move (summaries.contact_changing): its
        sales contact, which the bench's service type (not a sales type) never has; so nothing more to write."""
        c.execute(
            "SELECT s.ticket_id, t.opened_at, t.service_type_id, t.company_id, t.status, t.next_contact_user_id,"
            " s.outcome, s.lost_reason_id, s.won_value, s.expected_value, s.success, s.outcome_at, s.outcome_by_id"
            " FROM sales_salescontact s JOIN tickets_ticket t ON t.id = s.ticket_id WHERE s.ticket_id = %s",
            [ticket_id],
        )
        if c.fetchone() is not None:
            raise RuntimeError("a sales contact: the raw SQL does not keep the sales summaries")

    # a) open a ticket
    def engine_open(self) -> Any:
        from ciclo.tickets.opening import open_ticket

        self.calls += 1
        cfg = self.cfg
        return open_ticket(
            person=self.persons[self.calls % len(self.persons)],
            service_type=cfg.service_type,
            subject=f"Interesse no ERP {self.calls}",
            company=cfg.company,
            by=cfg.agent,
        )

    def raw_open(self) -> int:
        from django.db import connection, transaction
        from django.utils import timezone

        self.calls += 1
        cfg = self.cfg
        st, step, by = cfg.service_type, cfg.steps[0], cfg.agent.pk
        person = self.persons[self.calls % len(self.persons)].pk
        subject = f"Interesse no ERP {self.calls}"
        now = timezone.now()
        at = self.ops.adapt_datetimefield_value(now)
        next_at = self.ops.adapt_datetimefield_value(now + dt.timedelta(days=st.days_to_next_contact))
        j = self._j()
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "INSERT INTO tickets_ticket (status, subject, channel, priority, next_contact_at, opened_at, closed_at,"
                " version, company_id, contact_person_id, cr_id, next_contact_user_id, opened_by_id, person_id,"
                " service_type_id, step_id, workflow_id, phase_entered_at) VALUES"
                " ('open', %s, 'phone', %s, %s, %s, NULL, 1, %s, NULL, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                [
                    subject,
                    st.priority,
                    next_at,
                    at,
                    cfg.company.pk,
                    step.cr_id,
                    by,
                    by,
                    person,
                    st.pk,
                    step.pk,
                    cfg.workflow.pk,
                    at,
                ],
            )
            ticket_id = c.fetchone()[0]
            c.execute(
                "INSERT INTO tickets_note (ticket_id, kind, text, channel, author_id, created_at, next_contact_at,"
                " next_contact_user_id) VALUES (%s, 'opening', %s, 'phone', %s, %s, %s, %s) RETURNING id",
                [ticket_id, f"Ticket aberto: {subject}", by, at, next_at, by],
            )
            note_id = c.fetchone()[0]
            c.execute(
                "INSERT INTO tickets_phasemove (ticket_id, note_id, kind, from_step_id, to_step_id, from_cr_id,"
                f" to_cr_id, route, reason, overrode_required, by_id, at) VALUES (%s, %s, 'open', NULL, %s, NULL, %s,"
                f" {j}, '', {j}, %s, %s) RETURNING id",
                [ticket_id, note_id, step.pk, step.cr_id, "[]", "[]", by, at],
            )
            move_id = c.fetchone()[0]
            self._enter_stay(c, ticket_id, step, move_id, by, at)
            # The summaries: the stay entered (by day; open, by hour), the workflow and phase reached, the note.
            day, wf, cr, st_id, co = timezone.localdate(now), cfg.workflow.pk, step.cr_id, st.pk, cfg.company.pk
            self._phase_tally(
                c,
                {
                    (wf, ARRIVED, day, cr, st_id, co, 0): [1, 0],
                    (wf, REACHED, day, 0, st_id, co, 0): [1, 0],
                    (wf, REACHED, day, cr, st_id, co, 0): [1, 0],
                },
            )
            epoch = int(now.timestamp())
            opened: dict[tuple[Any, ...], list[Any]] = {}
            self._open_stay(opened, wf, cr, st_id, co, epoch, 0, 1)
            self._open_tally(c, opened)
            self._note_tally(c, day, by, st_id, co)
            self._add_appointment(
                c, ticket_id, by, now + dt.timedelta(days=st.days_to_next_contact), subject, person, "phone", by, now
            )
        return ticket_id

    # what the engine writes beside the ticket's own rows: the phase ledger and the agenda
    def _enter_stay(
        self, c: Any, ticket_id: int, step: Any, move_id: int, by: int, at: Any, before_seconds: int = 0
    ) -> None:
        """The stay the move begins (insight.ledger.record_move), with the time spent in its phase before."""
        c.execute(
            "INSERT INTO insight_phasestay (ticket_id, cr_id, workflow_id, step_id, move_id, entered_at,"
            " entered_by_id, left_at, left_by_id, seconds, business_days, before_seconds)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, NULL, NULL, NULL, %s)",
            [ticket_id, step.cr_id, step.workflow_id, step.pk, move_id, at, by, before_seconds],
        )

    @staticmethod
    def _aware(value: Any) -> Any:
        """A datetime as the driver returns it (SQLite: text, naive UTC), aware."""
        from django.utils import timezone

        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value is not None and timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        return value

    def _move_stays(
        self,
        c: Any,
        ticket: tuple[int, int, int, dt.date],
        target: Any,
        move_id: int,
        decided: list[tuple[int, int, int]],
        by: int,
        now: dt.datetime,
    ) -> None:
        """The ledger and its summaries for a move to `target` (insight.ledger.record_move): the ticket's stays
        read; the open one ended (calendar seconds, business days), the one entered written with the time the
        ticket spent in that phase before; then what changed in the phase summaries (with the decisions taken,
        (workflow, step, option), by the ticket's opening day) and in the open stays'."""
        from django.utils import timezone

        from ciclo.insight.summaries import duration_bucket
        from ciclo.sales.businessdays import business_days_between

        ticket_id, st, co, opened_day = ticket
        c.execute(
            "SELECT id, workflow_id, cr_id, entered_at, left_at, seconds, before_seconds FROM insight_phasestay"
            " WHERE ticket_id = %s ORDER BY entered_at, id",
            [ticket_id],
        )
        stays = [
            {
                "id": i,
                "phase": (wf, cr),
                "entered": self._aware(e),
                "left": self._aware(lt),
                "seconds": sec or 0,
                "before": b or 0,
            }
            for i, wf, cr, e, lt, sec, b in c.fetchall()
        ]
        current = next((s for s in stays if s["left"] is None), None)
        entering = (target.workflow_id, target.cr_id)
        day = timezone.localdate(now)
        phase: dict[tuple[Any, ...], list[Any]] = {}
        opened: dict[tuple[Any, ...], list[Any]] = {}

        def add(rows: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], *values: int) -> None:
            row = rows.setdefault(key, [0] * len(values))
            for i, v in enumerate(values):
                row[i] += v

        if current is not None:
            spent = max(0, int((now - current["entered"]).total_seconds()))
            days = business_days_between(timezone.localdate(current["entered"]), day, co)
            c.execute(
                "UPDATE insight_phasestay SET left_at = %s, left_by_id = %s, seconds = %s, business_days = %s"
                " WHERE id = %s",
                [self.ops.adapt_datetimefield_value(now), by, spent, days, current["id"]],
            )
            (wf, cr), before = current["phase"], current["before"]
            epoch = int(current["entered"].timestamp())
            self._open_stay(opened, wf, cr, st, co, epoch, before, -1)
            add(phase, (wf, LEFT, day, cr, st, co, 0), 1, 0)
            if current["phase"] != entering:  # it stays the ticket's latest in its phase
                add(phase, (wf, LATEST, day, cr, st, co, duration_bucket(spent)), 1, spent)
                add(phase, (wf, TOTAL, day, cr, st, co, duration_bucket(spent + before)), 1, spent + before)
            current.update(left=now, seconds=spent)
        earlier = [s for s in stays if s["phase"] == entering]
        before_seconds = sum(s["seconds"] for s in earlier if s["left"] is not None)
        if earlier and earlier[-1] is not current:  # its latest stay there is no longer the latest
            e = earlier[-1]
            wf, cr = entering
            left_day, total = timezone.localdate(e["left"]), e["seconds"] + e["before"]
            add(phase, (wf, LATEST, left_day, cr, st, co, duration_bucket(e["seconds"])), -1, -e["seconds"])
            add(phase, (wf, TOTAL, left_day, cr, st, co, duration_bucket(total)), -1, -total)
        self._enter_stay(c, ticket_id, target, move_id, by, self.ops.adapt_datetimefield_value(now), before_seconds)
        wf, cr = entering
        add(phase, (wf, ARRIVED, day, cr, st, co, 0), 1, 0)
        if not earlier:
            add(phase, (wf, REACHED, opened_day, cr, st, co, 0), 1, 0)
        if not any(s["phase"][0] == wf for s in stays):
            add(phase, (wf, REACHED, opened_day, 0, st, co, 0), 1, 0)
        epoch = int(now.timestamp())
        self._open_stay(opened, wf, cr, st, co, epoch, before_seconds, 1)
        for decision_wf, step_id, option_id in decided:
            add(phase, (decision_wf, DECIDED, opened_day, step_id, st, co, option_id), 1, 0)
        self._phase_tally(c, phase)
        self._open_tally(c, opened)

    def _add_appointment(
        self,
        c: Any,
        ticket_id: int,
        user: int,
        start: dt.datetime,
        title: str,
        person: int,
        channel: str,
        by: int,
        now: dt.datetime,
    ) -> None:
        """The ticket's next contact on its user's agenda, and the appointment's history row
        (agenda.appointments.sync_next_contact)."""
        import uuid

        from django.utils import timezone

        from ciclo.agenda.appointments import NEXT_CONTACT_LENGTH, TITLE_LENGTH

        end = start + NEXT_CONTACT_LENGTH
        adapt = self.ops.adapt_datetimefield_value
        j = self._j()
        c.execute(
            'INSERT INTO agenda_appointment (uid, user_id, start, "end", title, person_id, ticket_id, channel, place,'
            " notes, status, source, sequence, created_at, updated_at, created_by_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', '', 'planned', 'next_contact', 0, %s, %s, %s) RETURNING id",
            [
                uuid.uuid4() if self.pg else uuid.uuid4().hex,
                user,
                adapt(start),
                adapt(end),
                title[:TITLE_LENGTH],
                person,
                ticket_id,
                channel,
                adapt(now),
                adapt(now),
                by,
            ],
        )
        appointment_id = c.fetchone()[0]
        changes = {
            "user": [None, user],
            "start": [None, timezone.localtime(start).isoformat()],
            "end": [None, timezone.localtime(end).isoformat()],
            "title": [None, title[:TITLE_LENGTH]],
            "person": [None, person],
            "ticket": [None, ticket_id],
            "channel": [None, channel],
        }
        c.execute(
            "INSERT INTO agenda_appointmentchange (appointment_id, kind, changes, reason, sequence, by_id, at)"
            f" VALUES (%s, 'created', {j}, %s, 0, %s, %s)",
            [appointment_id, json.dumps(changes), "O próximo contato do ticket.", by, adapt(now)],
        )

    # b) a note that moves the ticket on, through the decision
    def _option(self, side: str) -> Any:
        """ "Sim" (it closes) and "Não" (it stays open) in turn, each side's k-th move the same: the two
        paths write different rows (the agenda's next contact is cancelled or planned)."""
        self.moves[side] += 1
        return self.cfg.yes if self.moves[side] % 2 else self.cfg.no

    def restart_options(self) -> None:
        """The next move of each side says "Sim": what queries are counted on at both sizes."""
        self.moves = dict.fromkeys(self.moves, 0)

    def engine_move(self) -> Any:
        from ciclo.tickets.routing import record_note

        ticket = self.take("move", "engine")
        option = self._option("engine")
        return record_note(
            ticket,
            by=self.cfg.agent,
            text="Cliente respondeu à proposta",
            move_on=True,
            choices={self.cfg.decision.pk: option.pk},
        )

    def raw_move(self) -> None:
        from django.db import connection, transaction
        from django.utils import timezone

        ticket_id = self.take("move", "raw")
        option = self._option("raw")
        cfg, by = self.cfg, self.cfg.agent.pk
        now = timezone.now()
        at = self.ops.adapt_datetimefield_value(now)
        j = self._j()
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "SELECT version, status, step_id, cr_id, subject, person_id, channel, next_contact_at,"
                " next_contact_user_id, service_type_id, company_id, opened_at FROM tickets_ticket WHERE id = %s"
                + (" FOR UPDATE" if self.pg else ""),
                [ticket_id],
            )
            version, status, step_id, cr_id, subject, person, channel, next_at, next_user, st, co, opened = c.fetchone()
            self._no_sales_contact(c, ticket_id)
            step = self.steps_by_id[step_id]
            if status != "open" or step.next_order is None:
                raise RuntimeError("the ticket cannot move on")
            decision = cfg.steps[step.next_order]
            target = cfg.steps[option.target_order]
            route = [
                {"order": decision.order, "kind": "decision", "question": decision.question, "option": option.label}
            ]
            closes = target.cr_id == cfg.crs["9"].pk
            c.execute(
                "INSERT INTO tickets_note (ticket_id, kind, text, channel, author_id, created_at, next_contact_at,"
                " next_contact_user_id) VALUES (%s, 'contact', %s, 'phone', %s, %s, NULL, NULL) RETURNING id",
                [ticket_id, "Cliente respondeu à proposta", by, at],
            )
            note_id = c.fetchone()[0]
            self._note_tally(c, timezone.localdate(now), by, st, co)
            c.execute(
                "INSERT INTO tickets_phasemove (ticket_id, note_id, kind, from_step_id, to_step_id, from_cr_id,"
                f" to_cr_id, route, reason, overrode_required, by_id, at) VALUES (%s, %s, 'move', %s, %s, %s, %s,"
                f" {j}, '', {j}, %s, %s) RETURNING id",
                [ticket_id, note_id, step_id, target.pk, cr_id, target.cr_id, json.dumps(route), "[]", by, at],
            )
            move_id = c.fetchone()[0]
            c.execute(
                "INSERT INTO tickets_movedecision (move_id, step_id, option_id, question, label)"
                " VALUES (%s, %s, %s, %s, %s)",
                [move_id, decision.pk, option.pk, decision.question, option.label],
            )
            ticket = (ticket_id, st, co, timezone.localdate(self._aware(opened)))
            self._move_stays(c, ticket, target, move_id, [(decision.workflow_id, decision.pk, option.pk)], by, now)
            c.execute(
                "UPDATE tickets_ticket SET workflow_id = %s, step_id = %s, cr_id = %s, status = %s, closed_at = %s,"
                " phase_entered_at = %s, version = version + 1 WHERE id = %s AND version = %s",
                [
                    cfg.workflow.pk,
                    target.pk,
                    target.cr_id,
                    "closed" if closes else "open",
                    at if closes else None,
                    at,
                    ticket_id,
                    version,
                ],
            )
            if c.rowcount != 1:
                raise RuntimeError("stale ticket")
            # The agenda: closed, its planned next contact is cancelled; open, its next contact is planned.
            if closes:
                c.execute(
                    "UPDATE agenda_appointment SET status = 'cancelled', sequence = sequence + 1, updated_at = %s"
                    " WHERE ticket_id = %s AND source = 'next_contact' AND status = 'planned' RETURNING id, sequence",
                    [at, ticket_id],
                )
                cancelled = c.fetchall()
                if cancelled:
                    c.execute(
                        "INSERT INTO agenda_appointmentchange (appointment_id, kind, changes, reason, sequence, by_id,"
                        " at) VALUES " + ", ".join([f"(%s, 'cancelled', {j}, %s, %s, %s, %s)"] * len(cancelled)),
                        [
                            v
                            for appointment_id, sequence in cancelled
                            for v in (
                                appointment_id,
                                '{"status": ["planned", "cancelled"]}',
                                "O ticket foi encerrado.",
                                sequence,
                                by,
                                at,
                            )
                        ],
                    )
            else:
                c.execute(
                    "SELECT id FROM agenda_appointment WHERE ticket_id = %s AND source = 'next_contact'"
                    " AND status = 'planned'" + (" FOR UPDATE" if self.pg else ""),
                    [ticket_id],
                )
                if c.fetchone() is None:
                    if isinstance(next_at, str):
                        next_at = dt.datetime.fromisoformat(next_at)
                    if timezone.is_naive(next_at):
                        next_at = next_at.replace(tzinfo=dt.UTC)
                    self._add_appointment(c, ticket_id, next_user, next_at, subject, person, channel, by, now)

    # c) ten first answers, every answer type
    def _inputs(self) -> list[tuple[Any, Any, Any, Any]]:
        """(question, what the form sends, the typed value, its JSON) for the ten questions of CR 1."""
        self.calls += 1
        n = self.calls
        q, o = self.cfg.questions, self.cfg.options
        site = [{"option": o["Site"].pk, "label": "Site", "complement": ""}]
        interests = [
            {"option": o["ERP"].pk, "label": "ERP", "complement": ""},
            {"option": o["Outro"].pk, "label": "Outro", "complement": "BI"},
        ]
        return [
            (q["1.01"], f"Maria Souza {n}", f"Maria Souza {n}", f"Maria Souza {n}"),
            (
                q["1.02"],
                "Quer integrar o ERP com a loja virtual",
                "Quer integrar o ERP com a loja virtual",
                "Quer integrar o ERP com a loja virtual",
            ),
            (q["1.03"], "42", Decimal("42"), "42"),
            (q["1.04"], "1.234,50", Decimal("1234.50"), "1234.50"),
            (q["1.05"], "15/03/2027", dt.date(2027, 3, 15), "2027-03-15"),
            (q["1.06"], "14:30", dt.time(14, 30), "14:30"),
            (q["1.07"], [o["Site"].pk], site, site),
            (q["1.08"], [o["ERP"].pk, {"option": o["Outro"].pk, "complement": "BI"}], interests, interests),
            (q["1.09"], "Gerente de TI", "Gerente de TI", "Gerente de TI"),
            (q["1.10"], "3", Decimal("3"), "3"),
        ]

    def engine_answers(self) -> Any:
        from ciclo.tickets.answering import AnswerInput, save_answers

        ticket = self.take("answers", "engine")
        inputs = [AnswerInput(question.pk, raw) for question, raw, _value, _json in self._inputs()]
        return save_answers(ticket, inputs, by=self.cfg.agent)

    def raw_answers(self) -> None:
        from django.db import connection, transaction
        from django.utils import timezone

        from ciclo.insight.summaries import number_bucket

        ticket_id = self.take("answers", "raw")
        items = self._inputs()
        by = self.cfg.agent.pk
        now = timezone.now()
        at = self.ops.adapt_datetimefield_value(now)
        ops = self.ops
        rows: list[Any] = []
        for question, _raw, value, _json in items:
            t = question.answer_type
            text = value if t in ("short_text", "long_text") else ""
            number = ops.adapt_decimalfield_value(value, 18, 4) if t in ("number", "money") else None
            date = ops.adapt_datefield_value(value) if t == "date" else None
            time = ops.adapt_timefield_value(value) if t == "time" else None
            rows += [
                ticket_id,
                question.pk,
                question.cr_id,
                question.code,
                question.text,
                t,
                text,
                number,
                date,
                time,
                False,
                1,
                by,
                at,
            ]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(items))
        j = self._j()
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "SELECT service_type_id, company_id FROM tickets_ticket WHERE id = %s"
                + (" FOR UPDATE" if self.pg else ""),
                [ticket_id],
            )
            st, co = c.fetchone()
            c.execute(
                "INSERT INTO tickets_answer (ticket_id, question_id, cr_id, question_code, question_text, answer_type,"
                " value_text, value_number, value_date, value_time, is_empty, version, answered_by_id, answered_at)"
                f" VALUES {values} ON CONFLICT (ticket_id, question_id) DO UPDATE SET cr_id = excluded.cr_id,"
                " question_code = excluded.question_code, question_text = excluded.question_text,"
                " answer_type = excluded.answer_type, value_text = excluded.value_text,"
                " value_number = excluded.value_number, value_date = excluded.value_date,"
                " value_time = excluded.value_time, is_empty = excluded.is_empty,"
                " version = tickets_answer.version + 1, answered_by_id = excluded.answered_by_id,"
                " answered_at = excluded.answered_at RETURNING id, question_id, version",
                rows,
            )
            saved = {question_id: (answer_id, version) for answer_id, question_id, version in c.fetchall()}
            if any(version != 1 for _id, version in saved.values()):
                raise RuntimeError("the raw SQL saves first answers: there were answers before")
            choices: list[Any] = []
            for question, _raw, value, _json in items:
                if question.answer_type in ("single_choice", "multiple_choice"):
                    for chosen in value:
                        choices += [saved[question.pk][0], chosen["option"], chosen["label"], chosen["complement"]]
            c.execute(
                "INSERT INTO tickets_answerchoice (answer_id, option_id, label, complement) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * (len(choices) // 4)),
                choices,
            )
            revisions: list[Any] = []
            for question, _raw, _value, as_json in items:
                answer_id, version = saved[question.pk]
                revisions += [answer_id, ticket_id, question.pk, version, json.dumps(as_json), by, at]
            c.execute(
                "INSERT INTO tickets_answerrevision (answer_id, ticket_id, question_id, version, old_value, new_value,"
                " by_id, at) VALUES " + ", ".join([f"(%s, %s, %s, %s, NULL, {j}, %s, %s)"] * len(items)),
                revisions,
            )
            # The summaries: each answer given, by its day, question and who answered (a number's bucket and sum,
            # a date's month), and each option chosen with whether it has a complement.
            day = timezone.localdate(now)
            tally: dict[tuple[Any, ...], list[Any]] = {}
            for question, _raw, value, _json in items:
                t, bucket, total = question.answer_type, 0, Decimal(0)
                if t in ("number", "money"):
                    bucket, total = number_bucket(value), value
                elif t == "date":
                    bucket = value.year * 100 + value.month
                tally[(question.pk, day, 0, bucket, st, co, by)] = [1, 0, total]
                if t in ("single_choice", "multiple_choice"):
                    for chosen in value:
                        tally[(question.pk, day, chosen["option"], 0, st, co, by)] = [
                            1,
                            int(bool(chosen["complement"])),
                            0,
                        ]
            self._upsert(
                c,
                "INSERT INTO insight_answertally (question_id, day, option_id, bucket, service_type_id, company_id,"
                " user_id, n, complements, total) VALUES {} ON CONFLICT (question_id, day, option_id, bucket,"
                " service_type_id, company_id, user_id) DO UPDATE SET n = insight_answertally.n + excluded.n,"
                " complements = insight_answertally.complements + excluded.complements,"
                " total = insight_answertally.total + excluded.total",
                tally,
            )


# --- measuring --------------------------------------------------------------------------------------------------


def model_table_counts() -> dict[str, int]:
    """Rows in the table of every model: whatever an action writes, the ticket's tables or beside them."""
    from django.apps import apps
    from django.db import connection

    tables = sorted({m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy})
    with connection.cursor() as cursor:
        cursor.execute(
            " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {connection.ops.quote_name(t)}" for t in tables)
        )
        return dict(cursor.fetchall())


def same_writes(actions: Actions) -> dict[str, Any]:
    """Rows each side adds per call, table by table (every model's): the raw SQL must do the engine's writes."""
    out = {}
    for action in actions.all:
        deltas = {}
        for side, fn in (("engine", action.engine), ("raw", action.raw)):
            before = model_table_counts()
            fn()
            after = model_table_counts()
            deltas[side] = {k.removeprefix("tickets_"): after[k] - before[k] for k in after if after[k] != before[k]}
        out[action.key] = {**deltas, "same": deltas["engine"] == deltas["raw"]}
    return out


def same_summaries() -> dict[str, Any]:
    """Whether the insight's summaries, kept by every call of both sides since they were rebuilt, equal a
    recount from the raw rows (summaries.recount: too slow to run at the full size)."""
    from ciclo.insight.summaries import counted, recount, stored

    kept, expected = stored(), counted(recount())
    differ = {
        name: sum(1 for k in kept[name].keys() | expected[name].keys() if kept[name].get(k) != expected[name].get(k))
        for name in expected
    }
    return {"same": kept == expected, "rows": sum(len(v) for v in kept.values()), "differ": differ}


def breakdown(action: Action, calls: int) -> dict[str, Any]:
    """Where the time of each side goes: inside the database driver (statements and COMMIT), or Python.

    For the engine, also a trace: per statement, the Python time since the previous one
    ended (building this query, and whatever the engine did in between) and its driver time.
    """
    out: dict[str, Any] = {}
    for side, fn in (("engine", action.engine), ("raw", action.raw)):
        totals, in_db, statements = [], [], []
        trace: list[list[Any]] | None = None
        for _ in range(calls):
            with db_time() as spent:
                start = time.perf_counter()
                fn()
                end = time.perf_counter()
            totals.append((end - start) * 1000)
            in_db.append(sum(e - s for _sql, s, e in spent) * 1000)
            statements.append(len(spent))
            steps, previous = [], start
            for sql, s, e in spent:
                steps.append([sql, (s - previous) * 1000, (e - s) * 1000])
                previous = e
            steps.append(["(Python after the last round trip)", (end - previous) * 1000, 0.0])
            if trace is None:
                trace = steps
            elif len(trace) == len(steps):
                for row, step in zip(trace, steps, strict=True):
                    row[1] += step[1]
                    row[2] += step[2]
        out[f"{side}_ms"] = sum(totals) / calls
        out[f"{side}_db_ms"] = sum(in_db) / calls
        out[f"{side}_python_ms"] = out[f"{side}_ms"] - out[f"{side}_db_ms"]
        out[f"{side}_round_trips"] = sum(statements) / calls
        out[f"{side}_trace"] = [[sql, py / calls, db / calls] for sql, py, db in trace or []]
    return out


def run_backend(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """One whole run on one database: build, count at the small size, grow, time, count again."""
    with bench_django(backend, keep=args.keep):
        from django.db import connection

        from ciclo.insight import summaries

        env = environment()
        announce("engine", env, args)
        cfg = make_config(agents=args.agents)
        builder = Builder(cfg)
        actions = Actions(cfg, builder)
        small = min(args.small, args.tickets)

        # At the small size: queries per action, and the proof that both sides write the same rows.
        builds = [build(builder, 1, small, f"{small:,}")]
        actions.fill(per_side=args.warmup + 3)
        summaries.rebuild()  # the data is built set-based: its summaries written once from its rows
        for action in actions.all:
            for _ in range(2):
                action.engine()
                action.raw()
        actions.restart_options()  # queries counted on "Sim" at both sizes; the writes compared on "Não"
        small_queries = {a.key: captured_queries(a.engine) for a in actions.all}
        small_raw_queries = {a.key: captured_queries(a.raw) for a in actions.all}
        writes = same_writes(actions)
        recounted = same_summaries()

        # At the full size.
        if args.tickets > small:
            builds.append(build(builder, small + 1, args.tickets, f"{args.tickets:,}"))
        per_side = args.warmup + args.iterations + 2 + args.breakdown + (args.profile_calls if args.profile else 0)
        actions.fill(per_side=per_side)
        rows = row_counts()
        print("rows: " + ", ".join(f"{k.split('_', 1)[1]} {v:,}" for k, v in rows.items()), flush=True)

        results: dict[str, Any] = {}
        load_before = os.getloadavg()
        for action in actions.all:
            print(f"timing: {action.title} …", flush=True)
            results[action.key] = {
                "title": action.title,
                **alternate(action.engine, action.raw, args.warmup, args.iterations),
            }
        env["load_average"] = load_span(load_before)
        actions.restart_options()
        for action in actions.all:
            r = results[action.key]
            full = captured_queries(action.engine)
            r.update(
                queries_sql=full,
                raw_queries_small=len(small_raw_queries[action.key]),
                sql_queries=len(captured_queries(action.raw)),
                breakdown=breakdown(action, args.breakdown) if args.breakdown else {},
            )
            judge(r, ENGINE_ACTION, backend, (len(small_queries[action.key]), len(full)))
        profiles = {}
        if args.profile:
            for action in actions.all:
                profiles[action.key] = profiled(action.engine, args.profile_calls, args.profile_top, r"ciclo/")
        connection.close()
        return {
            "backend": backend,
            "environment": env,
            "tickets": args.tickets,
            "small": small,
            "iterations": args.iterations,
            "warmup": args.warmup,
            "builds": builds,
            "rows": rows,
            "same_writes": writes,
            "summaries_recounted": recounted,
            "actions": results,
            "profiles": profiles,
        }


# --- reporting --------------------------------------------------------------------------------------------------


def report(result: dict[str, Any], show_sql: bool = False) -> str:
    env = result["environment"]
    a = env["load_average"]
    lines = [
        "",
        f"== {env['database']} · {result['tickets']:,} tickets · {result['iterations']} iterations "
        f"(+{result['warmup']} warm-up) · Python {env['python']} · Django {env['django']} · "
        f"{env['cpus']} CPUs (load {a[0]}/{a[1]}/{a[2]} → {a[3]}/{a[4]}/{a[5]}) · commit {env['commit']} ==",
        "built: "
        + "; ".join(f"{b['tickets']:,} tickets + {b['people']:,} people in {b['seconds']} s" for b in result["builds"]),
        "",
        lines_table("action (engine against its raw SQL)", list(result["actions"].values())),
        f"\nqueries: engine at {result['small']:,} tickets / at {result['tickets']:,} (the raw SQL's statements); "
        "DB: the engine's time in the driver, statements and COMMIT",
        "",
    ]
    rows = [
        [r["title"], ms(r["cpu_p50"]), ms(r["sql_cpu_p50"]), ratio(r["cpu_ratio_p50"])]
        for r in result["actions"].values()
    ]
    lines.append(table(["CPU time of this process", "engine p50 ms", "SQL p50 ms", "ratio"], rows))
    if any(r["breakdown"] for r in result["actions"].values()):
        lines.append("")
        rows = []
        for r in result["actions"].values():
            b = r["breakdown"]
            rows.append(
                [
                    r["title"],
                    ms(b["engine_ms"]),
                    ms(b["engine_db_ms"]),
                    ms(b["engine_python_ms"]),
                    ms(b["raw_ms"]),
                    ms(b["raw_db_ms"]),
                    ms(b["raw_python_ms"]),
                    ms(b["engine_python_ms"] - b["raw_python_ms"]),
                    ms(b["engine_db_ms"] - b["raw_db_ms"]),
                ]
            )
        lines.append(
            table(
                [
                    "mean ms per call",
                    "engine",
                    "in driver",
                    "Python",
                    "SQL",
                    "in driver",
                    "Python",
                    "+Python",
                    "+driver",
                ],
                rows,
            )
        )
    same = result["same_writes"]
    lines.append("")
    lines.append(
        "rows written per call (engine = SQL): "
        + "; ".join(
            f"{key} {'yes' if w['same'] else 'NO'} {w['engine']}" + ("" if w["same"] else f" vs SQL {w['raw']}")
            for key, w in same.items()
        )
    )
    recounted = result.get("summaries_recounted")
    if recounted:
        lines.append(
            f"insight summaries kept by both sides at {result['small']:,} tickets = a recount: "
            + (
                f"yes ({recounted['rows']:,} rows)"
                if recounted["same"]
                else "NO, rows differing: " + ", ".join(f"{k} {n}" for k, n in recounted["differ"].items() if n)
            )
        )
    if show_sql:
        for r in result["actions"].values():
            for side in ("engine", "raw"):
                trace = r["breakdown"].get(f"{side}_trace") or [[sql, math.nan, math.nan] for sql in r["queries_sql"]]
                lines.append(f"\n-- {side} round trips for “{r['title']}”: mean ms of Python before it | in the driver")
                lines += [
                    f"  {i + 1:2}. {ms(py):>6} | {ms(db):>5}  {' '.join(sql.split())[:150]}"
                    for i, (sql, py, db) in enumerate(trace)
                ]
    for key, text in result.get("profiles", {}).items():
        lines.append(f"\n-- cProfile of the engine, {key}:\n{text}")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]]) -> str:
    return summary_table("action", results, groups=["actions"])


def strip(result: dict[str, Any]) -> dict[str, Any]:
    """What the JSON keeps: figures and the query lists, the raw samples rounded."""
    return strip_samples(result, ["actions"])


def passed(results: list[dict[str, Any]]) -> bool:
    return all(r["passed"] for x in results for r in x["actions"].values())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(
        __doc__.split("\n\n")[0],
        tickets=1_000_000,
        iterations_help="timed calls per action and side (default 200)",
        warmup_help="untimed calls first (default 10)",
    )
    parser.add_argument("--small", type=int, default=1_000, help="the size queries are first counted at (1,000)")
    parser.add_argument("--agents", type=int, default=20, help="users tickets are spread over (default 20)")
    parser.add_argument("--breakdown", type=int, default=30, help="calls to split into driver/Python time (30)")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's calls and print the top")
    parser.add_argument("--profile-calls", type=int, default=100)
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument(
        "--trace",
        "--show-sql",
        dest="show_sql",
        action="store_true",
        help="print each round trip of each action with its Python and driver time",
    )
    add_run_options(parser, strict_help="exit 1 when a budget is missed (default: 0)")
    args = parser.parse_args(argv)
    return run(
        args,
        argv,
        script=__file__,
        name="engine",
        run_backend=run_backend,
        strip=strip,
        report=lambda result: report(result, args.show_sql),
        summary=summary,
        passed=passed,
        report_each=True,
        relative_path=True,
    )


if __name__ == "__main__":
    sys.exit(main())

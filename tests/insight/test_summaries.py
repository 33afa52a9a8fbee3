"""The insight's summaries: kept with each change, they equal a recount from the raw rows, and the
measurements read off them give the numbers the raw rows give."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from ciclo.insight import measures, summaries
from ciclo.insight.measures import Period, Slice
from ciclo.insight.models import AnswerTally, OpenTally, PhaseStay, PhaseTally
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Answer
from ciclo.tickets.opening import Opening, open_tickets
from tests.factory import make_company, make_person
from tests.insight.history import at, jump, move_on, open_at

NOW = at(20, 12)  # Friday 20 March 2026, noon
MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 20))


def _answer(ticket, user, when, *pairs):
    """Save answers as a user who has just read them (each at the version it has)."""
    versions = dict(Answer.objects.filter(ticket=ticket).values_list("question_id", "version"))
    with time_machine.travel(when, tick=False):
        save_answers(ticket, [AnswerInput(q.pk, value, versions.get(q.pk, 0)) for q, value in pairs], by=user, at=when)


@pytest.fixture
def history(sales, supervisor, admin_user):
    """A mixed history, every move at a whole hour:

    A  opened Mon 2 Mar · Proposta Wed 4 · "Não" → Negociação Thu 5 · "Não" again (a second stay in
       Negociação) Fri 6 15:00 · "Sim" → Encerrado Mon 9 · reopened to Prospecção Thu 12 (a second stay
       there) · Proposta Fri 13 (still there)
    B, C, D opened together Tue 3 Mar 10:00 (D of another company) · B to Proposta Thu 5 10:00
    E  opened Mon 9 Mar 14:00 · closed by a supervisor Tue 10 11:00
    Answers: A's origin, number and date on the 2nd, changed on the 3rd (origin with a complement);
    B's choices and number on the 4th by the admin, its number cleared on the 5th.
    """
    other = make_company()
    with time_machine.travel(at(1), tick=False):
        a = open_at(sales, supervisor, at(2))
        _answer(a, supervisor, at(2, 10), (sales.q_single, [sales.o_site.pk]), (sales.q_number, "10"))
        _answer(a, supervisor, at(2, 11), (sales.q_date, "10/04/2026"))
        b, c, d = open_tickets(
            [
                Opening(make_person(), sales.company, "Interesse no ERP"),
                Opening(make_person(), sales.company, "Interesse no CRM"),
                Opening(make_person(), other, "Interesse no ERP"),
            ],
            service_type=sales.type,
            by=supervisor,
            at=at(3, 10),
        )
        _answer(
            a,
            supervisor,
            at(3, 16),
            (sales.q_single, [{"option": sales.o_referral.pk, "complement": "João"}]),
            (sales.q_number, "25"),
        )
        _answer(b, admin_user, at(4), (sales.q_multi, [sales.o_erp.pk, sales.o_crm.pk]), (sales.q_number, "40"))
        move_on(a, supervisor, at(4))
        move_on(a, supervisor, at(5), choices={sales.decision.pk: sales.no.pk})
        _answer(b, admin_user, at(5, 9), (sales.q_number, ""))
        move_on(b, supervisor, at(5, 10))
        move_on(a, supervisor, at(6, 15), choices={sales.decision.pk: sales.no.pk})
        move_on(a, admin_user, at(9), choices={sales.decision.pk: sales.yes.pk})
        e = open_at(sales, supervisor, at(9, 14))
        jump(e, supervisor, sales.step_closed, at(10, 11))
        jump(a, supervisor, sales.step_prospect, at(12))
        move_on(a, supervisor, at(13))
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "other": other}


def _recounted():
    return summaries.counted(summaries.recount())


@time_machine.travel(NOW, tick=False)
def test_the_summaries_kept_with_each_change_equal_a_recount(history, sales):
    kept = summaries.stored()
    assert kept == _recounted()
    assert kept["PhaseTally"] and kept["OpenTally"] and kept["AnswerTally"]
    # A's two stays in Negociação: only its latest counts in the times, the first is in its total.
    negotiation = PhaseTally.objects.filter(cr_id=sales.cr_negotiation.pk, kind=PhaseTally.Kind.LATEST)
    assert [(t.day, t.n, t.seconds) for t in negotiation] == [(dt.date(2026, 3, 9), 1, (2 * 24 + 18) * 3600)]
    total = PhaseTally.objects.get(cr_id=sales.cr_negotiation.pk, kind=PhaseTally.Kind.TOTAL)
    assert total.seconds == 4 * 86400  # Thu 5 09:00 → Mon 9 09:00, both stays
    # Reached by day of opening: A reached Prospecção once though it stayed there twice.
    reached = PhaseTally.objects.filter(kind=PhaseTally.Kind.REACHED, cr_id=sales.cr_prospect.pk)
    assert sorted(reached.values_list("day", "company_id", "n")) == [
        (dt.date(2026, 3, 2), sales.company.pk, 1),
        (dt.date(2026, 3, 3), sales.company.pk, 2),  # B and C
        (dt.date(2026, 3, 3), history["other"].pk, 1),  # D
        (dt.date(2026, 3, 9), sales.company.pk, 1),
    ]
    # Open now: A in Proposta, B in Proposta, C and D in Prospecção, E in Encerrado.
    for kind in OpenTally.Kind:  # each open stay by the hour it was entered, and by the hour its time began
        assert sum(OpenTally.objects.filter(kind=kind).values_list("n", flat=True)) == 5
    assert PhaseStay.objects.filter(left_at=None).count() == 5
    # B's cleared number counts no more; A's changed answers count as they are now.
    numbers = AnswerTally.objects.filter(question_id=sales.q_number.pk, n__gt=0)
    assert [(t.day, t.n, t.total) for t in numbers] == [(dt.date(2026, 3, 3), 1, Decimal("25"))]


@time_machine.travel(NOW, tick=False)
def test_rebuild_writes_the_same_summaries_again(history):
    kept = summaries.stored()
    PhaseTally.objects.all().delete()
    AnswerTally.objects.update(n=0)
    call_command("insight", "rebuild", verbosity=0)
    assert summaries.stored() == kept


@time_machine.travel(NOW, tick=False)
def test_the_measurements_read_off_the_summaries_equal_those_of_the_raw_rows(history, sales):
    # Given `at`, a measurement reads the raw rows: the ledger, the moves, the answers.
    for period in (MARCH, Period(dt.date(2026, 3, 9), dt.date(2026, 3, 20))):
        for sliced in (Slice(), Slice(company_id=history["other"].pk), Slice(service_type_id=sales.type.pk)):
            summary = measures.phases(sales.workflow.pk, period=period, slice=sliced)
            raw = measures.phases(sales.workflow.pk, period=period, slice=sliced, at=NOW)
            assert dataclasses.asdict(summary) == dataclasses.asdict(raw)
            summary_f = measures.funnel(sales.workflow.pk, period=period, slice=sliced)
            raw_f = measures.funnel(sales.workflow.pk, period=period, slice=sliced, at=NOW)
            assert dataclasses.asdict(summary_f) == dataclasses.asdict(raw_f)
            summary_a = measures.answers(sales.cycle.pk, period=period, slice=sliced)
            raw_a = measures.answers(sales.cycle.pk, period=period, slice=sliced, at=NOW)
            assert dataclasses.asdict(summary_a) == dataclasses.asdict(raw_a)


@time_machine.travel(NOW, tick=False)
def test_the_phases_of_the_mixed_history(history, sales):
    report = measures.phases(sales.workflow.pk, period=MARCH)
    rows = {p.cr_id: p for p in report.phases}
    assert [rows[cr.pk].now for cr in (sales.cr_prospect, sales.cr_proposal, sales.cr_negotiation)] == [2, 2, 0]
    assert rows[sales.cr_closed.pk].now == 1
    negotiation = rows[sales.cr_negotiation.pk]
    # A's latest stay there: Fri 6 15:00 → Mon 9 09:00, 2.75 days; both its stays: 4 days.
    assert (negotiation.latest_median_days, negotiation.total_median_days) == (2.75, 4.0)
    prospect = rows[sales.cr_prospect.pk]
    # Latest stays in Prospecção: E 21 hours, A 1 day (Thu 12 → Fri 13), B 2 days, C and D open since
    # Tue 3 10:00 (17 days 2 hours). A's total there: 3 days (2 before it was reopened).
    assert (prospect.latest_median_days, prospect.total_median_days) == (2.0, 3.0)
    assert prospect.latest_p90_days == round(17 + 2 / 24, 2)
    assert prospect.aging == [0, 0, 2, 0]
    funnel = measures.funnel(sales.workflow.pk, period=MARCH)
    assert funnel.opened == 5
    assert [s.reached for s in funnel.steps] == [5, 2, 1, 2]
    [decision] = funnel.decisions
    assert [(o.label, o.count) for o in decision.options] == [("Sim", 1), ("Não", 2)]


@time_machine.travel(NOW, tick=False)
def test_the_answers_of_the_mixed_history(history, sales, admin_user):
    report = measures.answers(sales.cycle.pk, period=MARCH)
    q = {x.question_id: x for x in report.questions}
    single = q[sales.q_single.pk]
    assert [(o.label, o.count, o.complements) for o in single.options] == [("Site", 0, 0), ("Indicação", 1, 1)]
    number = q[sales.q_number.pk]
    assert (number.count, number.sum, number.median) == (1, Decimal("25"), 25.0)
    # Tickets in Prospecção at some time of March: all five.
    assert (single.asked, single.answered) == (5, 1)
    multi = measures.answers(sales.cycle.pk, period=MARCH, slice=Slice(user_id=admin_user.pk)).questions
    assert [(o.label, o.count) for o in next(x for x in multi if x.question_id == sales.q_multi.pk).options] == [
        ("ERP", 1),
        ("CRM", 1),
        ("Outro", 0),
    ]


def test_buckets_are_exact_by_the_hour_then_a_sixty_fourth_wide():
    assert [summaries.duration_bucket(h * 3600) for h in (0, 1, 127)] == [0, 1, 127]
    assert summaries.duration_bucket(3599) == 0
    edges = [summaries.duration_bucket(h * 3600) for h in range(128, 4096)]
    assert edges == sorted(edges) and len(set(edges)) == 64 * 5  # 128–255, 256–511, … 2048–4095
    assert summaries.number_bucket(Decimal("-0.5")) < 0 < summaries.number_bucket(Decimal("0"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_moves_and_answers_at_once_add_up_in_the_summaries(sales, supervisor):
    """Six sales tickets moved on and answered at the same moment by six connections: they add to the
    same summary rows (the phases', the answers', the notes' and the sales contacts'), and every
    increment counts."""
    from django.db import connection

    from ciclo.insight.models import NoteTally, SalesTally
    from tests.test_concurrency import run_at_once

    if connection.vendor != "postgresql":
        pytest.skip("concurrent increments are exercised on PostgreSQL")
    sales.type.sales = True
    sales.type.save()
    tickets = [open_at(sales, supervisor, at(2)) for _ in range(6)]

    def job(ticket):
        def work():
            save_answers(ticket, [AnswerInput(sales.q_number.pk, "7")], by=supervisor, at=at(3))
            move_on(ticket, supervisor, at(4))

        return work

    assert run_at_once([job(t) for t in tickets]) == [None] * 6
    assert summaries.stored() == _recounted()
    left = PhaseTally.objects.get(kind=PhaseTally.Kind.LEFT, cr_id=sales.cr_prospect.pk)
    assert left.n == 6
    assert AnswerTally.objects.get(question_id=sales.q_number.pk).n == 6
    # Six opening notes on the 2nd, six notes that moved on on the 4th, all the supervisor's.
    assert sorted(NoteTally.objects.values_list("day", "n")) == [(dt.date(2026, 3, 2), 6), (dt.date(2026, 3, 4), 6)]
    assert SalesTally.objects.get(kind=SalesTally.Kind.PIPELINE).n == 6


@time_machine.travel(NOW, tick=False)
def test_the_backfill_writes_the_ledger_and_its_summaries_from_the_history(history):
    from importlib import import_module

    from django.apps import apps

    fields = ("ticket_id", "cr_id", "entered_at", "left_at", "seconds", "before_seconds")
    stays = list(PhaseStay.objects.order_by("ticket_id", "entered_at").values_list(*fields))
    kept = summaries.stored()
    PhaseStay.objects.all().delete()
    for model in (PhaseTally, OpenTally, AnswerTally):
        model.objects.all().delete()
    import_module("ciclo.insight.migrations.0004_backfill_summaries").backfill(apps, None)  # the ledger
    import_module("ciclo.insight.migrations.0006_backfill_summaries").backfill(apps, None)
    assert list(PhaseStay.objects.order_by("ticket_id", "entered_at").values_list(*fields)) == stays
    assert summaries.stored() == kept


@pytest.fixture
def sales_history(sales, supervisor, agent, admin_user):
    """Sales contacts through every change the summaries follow, in São Paulo time:

    W  opened Mon 2 Mar for the agent · value 1000 at 50 % on the 3rd · won by a note Thu 5 (2500)
       · its value corrected by a supervisor to 3000 on the 6th
    L  opened Mon 2 Mar · value 800 on the 3rd · lost (Preço) by a supervisor's move Wed 4 · reopened
       Mon 9 (back to Prospecção, open again) · its next contact given to the admin Tue 10
    P, Q  opened together Tue 3 Mar 10:00 (Q of another company) · P's value 400 at 20 % on the 4th
    Plus a ticket of a type that is not a sales type, moved on.
    """
    from ciclo.sales.contacts import OutcomeInput, change_outcome, reopen_sales_contact, update_sales_fields
    from ciclo.sales.models import LostReason, Outcome
    from ciclo.tickets.routing import record_note

    sales.type.sales = True
    sales.type.save()
    price = LostReason.objects.create(name="Preço")
    other = make_company()
    with time_machine.travel(at(1), tick=False):
        w = open_at(sales, supervisor, at(2), next_contact_user=agent)
        lost = open_at(sales, supervisor, at(2, 15))
        p, q = open_tickets(
            [Opening(make_person(), sales.company, "Interesse"), Opening(make_person(), other, "Interesse")],
            service_type=sales.type,
            by=supervisor,
            at=at(3, 10),
        )
    with time_machine.travel(at(3, 11), tick=False):
        update_sales_fields(w, by=supervisor, expected_value=Decimal("1000.00"), success=50)
        update_sales_fields(lost, by=supervisor, expected_value=Decimal("800.00"))
    with time_machine.travel(at(4, 11), tick=False):
        update_sales_fields(p, by=supervisor, expected_value=Decimal("400.00"), success=20)
    jump(lost, supervisor, sales.step_closed, at(4), outcome=OutcomeInput(Outcome.LOST, lost_reason=price))
    jump(w, supervisor, sales.step_proposal, at(4, 12))
    with time_machine.travel(at(5), tick=False):
        record_note(
            w,
            by=supervisor,
            text="Fechou",
            move_on=True,
            choices={sales.decision.pk: sales.yes.pk},
            override_reason="Teste",
            outcome=OutcomeInput(Outcome.WON, won_value="2500,00"),
            at=at(5),
        )
    with time_machine.travel(at(6), tick=False):
        change_outcome(w, OutcomeInput(Outcome.WON, won_value="3000,00"), by=supervisor)
    reopen_sales_contact(lost, by=supervisor, reason="Voltou a negociar", at=at(9))
    with time_machine.travel(at(10), tick=False):
        record_note(lost, by=supervisor, text="Passo para o admin", next_contact_user=admin_user, at=at(10))
    plain_type = make_ticket_type(sales)
    move_on(open_at(sales, agent, at(9), service_type=plain_type), supervisor, at(11))
    return {"w": w, "lost": lost, "p": p, "q": q, "other": other, "price": price}


def make_ticket_type(sales):
    """Another analytical type beside the sales one, in a group that is not a sales group."""
    from ciclo.configurator.models import ServiceType

    group = ServiceType.objects.create(code="2", description="Outros", kind=ServiceType.Kind.SYNTHETIC)
    return ServiceType.objects.create(
        code="2.1",
        description="Suporte",
        kind=ServiceType.Kind.ANALYTICAL,
        parent=group,
        workflow=sales.workflow,
        cycle=sales.cycle,
        days_to_next_contact=1,
    )


@time_machine.travel(NOW, tick=False)
def test_the_sales_and_notes_summaries_follow_every_change_and_equal_a_recount(sales_history, sales, agent):
    from ciclo.insight.models import NoteTally, SalesTally

    assert summaries.stored() == _recounted()
    cohort = {
        (t.day, t.company_id, t.outcome, t.reason_id): (t.n, t.value)
        for t in SalesTally.objects.filter(kind=SalesTally.Kind.COHORT, n__gt=0)
    }
    assert cohort == {
        (dt.date(2026, 3, 2), sales.company.pk, "won", 0): (1, Decimal("3000.0000")),  # corrected
        (dt.date(2026, 3, 2), sales.company.pk, "", 0): (1, Decimal("0.0000")),  # L, reopened
        (dt.date(2026, 3, 3), sales.company.pk, "", 0): (1, Decimal("0.0000")),
        (dt.date(2026, 3, 3), sales_history["other"].pk, "", 0): (1, Decimal("0.0000")),
    }
    # W's outcome counts on the day it was last recorded (the correction), by the supervisor; L's loss
    # counts no more.
    outcomes = list(SalesTally.objects.filter(kind=SalesTally.Kind.OUTCOME, n__gt=0).values_list("day", "outcome"))
    assert outcomes == [(dt.date(2026, 3, 6), "won")]
    pipeline = {}
    for t in SalesTally.objects.filter(kind=SalesTally.Kind.PIPELINE, n__gt=0):
        n, value = pipeline.get(t.user_id, (0, 0))
        pipeline[t.user_id] = (n + t.n, value + t.value)
    # L (800 at the default success, Prospecção's: none) is the admin's now; P 400 × 20 and Q the supervisor's.
    lost = sales_history["lost"]
    lost.refresh_from_db()
    assert lost.next_contact_user_id not in (None, agent.pk) and agent.pk not in pipeline
    assert pipeline[lost.next_contact_user_id][0] == 1
    assert sum(n for n, _v in pipeline.values()) == 3
    assert sum(v for _n, v in pipeline.values()) == Decimal(400 * 20) + Decimal(800) * (lost.sales.success or 0)
    # Every note: three openings' and its automatic ones, the notes and moves.
    from ciclo.tickets.models import Note

    assert sum(NoteTally.objects.values_list("n", flat=True)) == Note.objects.count()


@time_machine.travel(NOW, tick=False)
def test_the_funnel_and_people_off_the_summaries_equal_those_of_the_raw_rows(sales_history, sales):
    for period in (MARCH, Period(dt.date(2026, 3, 3), dt.date(2026, 3, 6))):
        for sliced in (
            Slice(),
            Slice(company_id=sales_history["other"].pk),
            Slice(service_type_id=sales.type.pk),
        ):
            summary = measures.funnel(sales.workflow.pk, period=period, slice=sliced)
            raw = measures.funnel(sales.workflow.pk, period=period, slice=sliced, at=NOW)
            assert dataclasses.asdict(summary) == dataclasses.asdict(raw)
            summary_p = measures.people(period=period, slice=sliced)
            raw_p = measures.people(period=period, slice=sliced, at=NOW)
            assert dataclasses.asdict(summary_p) == dataclasses.asdict(raw_p)
    report = measures.funnel(sales.workflow.pk, period=MARCH)
    assert report.sales is not None
    assert (report.sales.won, report.sales.lost, report.sales.open) == (1, 0, 3)
    assert report.sales.won_value == Decimal("3000.00")


@time_machine.travel(NOW, tick=False)
def test_the_backfill_writes_the_notes_and_sales_summaries_from_the_history(sales_history):
    from importlib import import_module

    from django.apps import apps

    from ciclo.insight.models import NoteTally, SalesTally

    kept = summaries.stored()
    assert kept["NoteTally"] and kept["SalesTally"]
    NoteTally.objects.all().delete()
    SalesTally.objects.update(n=0, value=0)
    import_module("ciclo.insight.migrations.0006_backfill_summaries").backfill(apps, None)
    assert summaries.stored() == kept

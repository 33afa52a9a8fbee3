"""Each measurement against a small hand-built history, with time frozen; the numbers worked out here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from ciclo.insight import measures
from ciclo.insight.measures import Period, Slice
from ciclo.sales.contacts import update_sales_fields
from ciclo.sales.models import LostReason, Outcome
from ciclo.sales.phases import OutcomeInput
from ciclo.tickets.answering import AnswerInput, save_answers
from tests.factory import make_company
from tests.insight.history import at, jump, move_on, open_at

NOW = at(20, 12)  # Friday 20 March 2026, noon


@pytest.fixture
def history(sales, supervisor, admin_user):
    """Four tickets of the sales workflow (the phases: Prospecção, Proposta enviada, Negociação, Encerrado):

    A  opened Mon 2 Mar 09:00 · Proposta Thu 5 Mar 09:00 · "Não" → Negociação Mon 9 Mar 09:00
       · back to the decision, "Sim" → Encerrado Wed 11 Mar 09:00 (by the admin)
    B  opened Mon 2 Mar 09:00 · Proposta Fri 6 Mar 09:00 · "Não" → Negociação Tue 10 Mar 09:00 (still there)
    C  opened Mon 9 Mar 09:00 · still in Prospecção
    D  opened Mon 16 Mar 09:00 · Proposta Wed 18 Mar 09:00 (still there)
    """
    with time_machine.travel(at(1), tick=False):
        a = open_at(sales, supervisor, at(2))
        b = open_at(sales, supervisor, at(2))
        c = open_at(sales, supervisor, at(9))
        d = open_at(sales, supervisor, at(16))
        move_on(a, supervisor, at(5))
        move_on(b, supervisor, at(6))
        move_on(a, supervisor, at(9), choices={sales.decision.pk: sales.no.pk})
        move_on(b, supervisor, at(10), choices={sales.decision.pk: sales.no.pk})
        move_on(a, admin_user, at(11), choices={sales.decision.pk: sales.yes.pk})
        move_on(d, supervisor, at(18))
    return {"a": a, "b": b, "c": c, "d": d}


@time_machine.travel(NOW, tick=False)
def test_phases(history, sales):
    sales.cr_prospect.stale_after_days = 5
    sales.cr_prospect.save()
    report = measures.phases(sales.workflow.pk, period=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 20)))
    rows = {p.cr_id: p for p in report.phases}
    assert [p.cr_id for p in report.phases] == [
        sales.cr_prospect.pk,
        sales.cr_proposal.pk,
        sales.cr_negotiation.pk,
        sales.cr_closed.pk,
    ]
    prospect = rows[sales.cr_prospect.pk]
    # Prospecção: A 3 days, B 4 days, C 11 days 3 hours (still there), D 2 days → sorted 2, 3, 4, 11.125
    assert prospect.now == 1
    assert prospect.latest_median_days == 3.5
    assert prospect.latest_p90_days == round(4 + (11.125 - 4) * 0.7, 2)  # rank 2.7
    assert prospect.total_median_days == 3.5
    # C: 11 calendar days in its phase → "8–30"; business days 9 March → 20 March: 9 > 5, stale.
    assert prospect.aging == [0, 0, 1, 0]
    assert prospect.stale == 1
    assert [s.ticket_id for s in report.stale] == [history["c"].pk]
    assert report.stale[0].business_days == 9
    proposal = rows[sales.cr_proposal.pk]
    # Proposta: A 4 days, B 4 days, D 2 days 3 hours (there now, "0–2")
    assert proposal.now == 1 and proposal.aging == [1, 0, 0, 0]
    assert proposal.latest_median_days == 4.0
    negotiation = rows[sales.cr_negotiation.pk]
    # Negociação: A 2 days, B 10 days 3 hours (there now, "8–30")
    assert negotiation.now == 1 and negotiation.aging == [0, 0, 1, 0]
    assert negotiation.latest_median_days == round((2 + 10.125) / 2, 2)
    assert rows[sales.cr_closed.pk].now == 1
    # Weeks of 2, 9 and 16 March: arrivals (stays entered) and exits (stays left)
    assert [(w.week, w.arrivals, w.exits) for w in report.weeks] == [
        (dt.date(2026, 3, 2), 4, 2),  # A, B opened, A and B into Proposta / A, B left Prospecção
        (dt.date(2026, 3, 9), 4, 3),  # C opened, A, B to Negociação, A closed / A, B left Proposta, A Negociação
        (dt.date(2026, 3, 16), 2, 1),  # D opened, D to Proposta / D left Prospecção
    ]


@time_machine.travel(NOW, tick=False)
def test_phases_sliced_by_company(history, sales, supervisor):
    other = make_company()
    with time_machine.travel(at(1), tick=False):
        open_at(sales, supervisor, at(3), company=other)
    report = measures.phases(
        sales.workflow.pk, period=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 20)), slice=Slice(company_id=other.pk)
    )
    assert [p.now for p in report.phases] == [1, 0, 0, 0]


@time_machine.travel(NOW, tick=False)
def test_funnel(history, sales):
    report = measures.funnel(sales.workflow.pk, period=Period(dt.date(2026, 3, 1), dt.date(2026, 3, 15)))
    # Opened 1–15 March: A, B, C. Prospecção 3, Proposta 2 (A, B), Negociação 2, Encerrado 1 (A).
    assert report.opened == 3
    assert [(s.reached, s.conversion, s.drop_off) for s in report.steps] == [
        (3, 66.7, 33.3),
        (2, 100.0, 0.0),
        (2, 50.0, 50.0),
        (1, None, None),
    ]
    [decision] = report.decisions
    # "Fechou negócio?": Não twice (A, B), Sim once (A)
    assert decision.question == "Fechou negócio?"
    assert [(o.label, o.count, o.percent) for o in decision.options] == [("Sim", 1, 33.3), ("Não", 2, 66.7)]
    assert report.sales is None


@time_machine.travel(NOW, tick=False)
def test_funnel_of_sales_contacts(sales, supervisor):
    sales.type.sales = True
    sales.type.save()
    price = LostReason.objects.create(name="Preço")
    with time_machine.travel(at(1), tick=False):
        won = open_at(sales, supervisor, at(2))
        lost = open_at(sales, supervisor, at(2))
        lost2 = open_at(sales, supervisor, at(3))
        open_at(sales, supervisor, at(3))
        update_sales_fields(lost, by=supervisor, expected_value=Decimal("1000.00"))
        update_sales_fields(lost2, by=supervisor, expected_value=Decimal("500.00"))
        jump(won, supervisor, sales.step_closed, at(4), outcome=OutcomeInput(Outcome.WON, won_value="2500,00"))
        for t in (lost, lost2):
            jump(t, supervisor, sales.step_closed, at(5), outcome=OutcomeInput(Outcome.LOST, lost_reason=price))
    report = measures.funnel(sales.workflow.pk, period=Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    s = report.sales
    assert (s.tickets, s.won, s.lost, s.open) == (4, 1, 2, 1)
    assert s.won_value == Decimal("2500.00") and s.lost_value == Decimal("1500.00")
    assert s.win_rate == 33.3
    assert [(r.label, r.count, r.percent) for r in s.loss_reasons] == [("Preço", 2, 100.0)]


@time_machine.travel(NOW, tick=False)
def test_people(sales, supervisor, agent):
    sales.type.sales = True
    sales.type.save()
    with time_machine.travel(at(1), tick=False):
        late = open_at(sales, supervisor, at(2), next_contact_user=agent, next_contact_at=at(19))
        soon = open_at(sales, supervisor, at(3), next_contact_user=agent, next_contact_at=at(25))
        open_at(sales, supervisor, at(4))
        update_sales_fields(late, by=supervisor, expected_value=Decimal("1000.00"), success=50)
        update_sales_fields(soon, by=supervisor, expected_value=Decimal("200.00"), success=10)
    report = measures.people(period=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 6)))
    rows = {p.user_id: p for p in report.people}
    mine = rows[agent.pk]
    assert mine.open == 2 and mine.by_phase == {sales.cr_prospect.pk: 2}
    assert mine.overdue == 1  # due on the 19th, today the 20th
    assert mine.pipeline == Decimal("520.00")  # 1000 × 50 % + 200 × 10 %
    boss = rows[supervisor.pk]
    assert boss.open == 1 and boss.overdue == 1  # its next contact: 6 March
    # The three opening notes, by the supervisor, over five days
    assert boss.notes == 3 and boss.notes_per_day == 0.6
    assert [d.notes for d in report.days] == [1, 1, 1, 0, 0]


@time_machine.travel(NOW, tick=False)
def test_people_counts_notes_by_local_day_to_the_second(sales, supervisor):
    """A note belongs to the day of its moment in São Paulo: the last second of a day and the first of
    the next fall on either side, and the period's first and last seconds are in it."""
    second = dt.timedelta(seconds=1)
    moments = [
        at(2, 0) - second,  # Sunday 23:59:59, before the period
        at(2, 0),
        at(3, 0) - second,
        at(3, 0),
        at(5, 0) - second,  # the period's last second
        at(5, 0),  # after it
    ]
    with time_machine.travel(at(1), tick=False):
        for when in moments:
            open_at(sales, supervisor, when)
    report = measures.people(period=Period(dt.date(2026, 3, 2), dt.date(2026, 3, 4)))
    assert [(d.day, d.notes) for d in report.days] == [
        (dt.date(2026, 3, 2), 2),
        (dt.date(2026, 3, 3), 1),
        (dt.date(2026, 3, 4), 1),
    ]
    boss = next(p for p in report.people if p.user_id == supervisor.pk)
    assert boss.notes == 4


def test_percentile_interpolates_as_percentile_cont():
    assert measures.percentile([1, 2, 3, 4], 50) == 2.5
    assert measures.percentile([1, 2, 3, 4], 90) == pytest.approx(3.7)
    assert measures.percentile([], 50) is None


def _answer(ticket, user, when, *pairs):
    with time_machine.travel(when, tick=False):
        save_answers(ticket, [AnswerInput(q.pk, value) for q, value in pairs], by=user, at=when)


@time_machine.travel(NOW, tick=False)
def test_answers(sales, supervisor, admin_user):
    s = sales
    with time_machine.travel(at(1), tick=False):
        t1, t2, t3, t4 = (open_at(s, supervisor, at(2)) for _ in range(4))
    _answer(
        t1,
        supervisor,
        at(3),
        (s.q_single, [s.o_site.pk]),
        (s.q_number, "10"),
        (s.q_date, "10/04/2026"),
        (s.q_text, "Ana"),
    )
    _answer(
        t2,
        supervisor,
        at(4),
        (s.q_single, [{"option": s.o_referral.pk, "complement": "João"}]),
        (s.q_number, "20"),
        (s.q_date, "20/04/2026"),
        (s.q_multi, [s.o_erp.pk, s.o_crm.pk]),
    )
    _answer(
        t3,
        admin_user,
        at(5),
        (s.q_single, [s.o_site.pk]),
        (s.q_number, "40"),
        (s.q_date, "02/05/2026"),
        (s.q_multi, [s.o_erp.pk]),
    )
    _answer(t4, admin_user, at(2, month=4), (s.q_single, [s.o_referral.pk]))
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    report = measures.answers(s.cycle.pk, period=march)
    q = {x.question_id: x for x in report.questions}
    single = q[s.q_single.pk]
    # Four tickets reached Prospecção; three answered "Origem" in March: Site twice, Indicação once
    assert (single.asked, single.answered, single.response_rate) == (4, 3, 75.0)
    assert [(o.label, o.count, o.percent, o.complements) for o in single.options] == [
        ("Site", 2, 66.7, 0),
        ("Indicação", 1, 33.3, 1),
    ]
    multi = q[s.q_multi.pk]
    assert [(o.label, o.count, o.percent) for o in multi.options] == [
        ("ERP", 2, 100.0),
        ("CRM", 1, 50.0),
        ("Outro", 0, 0.0),
    ]
    number = q[s.q_number.pk]
    # 10, 20, 40: sum 70, mean 23.3333, median 20, quartiles 15 and 30
    assert (number.count, number.sum, number.mean) == (3, Decimal("70"), 23.3333)
    assert (number.median, number.q1, number.q3, number.minimum, number.maximum) == (20, 15, 30, 10, 40)
    # Ten bins of width 3 from 10 to 40: 10 in the first, 20 in the fourth ([19, 22)), 40 in the last
    assert [b.count for b in number.histogram] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 1]
    assert [(b.label, b.count) for b in q[s.q_date.pk].histogram] == [("2026-04", 2), ("2026-05", 1)]
    assert q[s.q_text.pk].response_rate == 25.0
    assert q[s.q_memo.pk].answered == 0 and q[s.q_memo.pk].histogram == []

    by_admin = measures.answers(s.cycle.pk, period=march, slice=Slice(user_id=admin_user.pk))
    assert [(o.label, o.count) for o in by_admin.questions[6].options] == [("Site", 1), ("Indicação", 0)]
    april = measures.answers(s.cycle.pk, period=Period(dt.date(2026, 4, 1), dt.date(2026, 4, 30)))
    assert [(o.label, o.count) for o in april.questions[6].options] == [("Site", 0), ("Indicação", 1)]
    elsewhere = measures.answers(s.cycle.pk, period=march, slice=Slice(company_id=make_company().pk))
    assert all(x.answered == 0 for x in elsewhere.questions)

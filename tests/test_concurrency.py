"""Two people saving the same ticket at once never lose work (PostgreSQL: real row locks)."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connection, connections

from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.errors import AnswerConflict
from ciclo.tickets.models import Answer, AnswerRevision, Ticket
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL (make test runs the suite there too)")


def run_at_once(jobs):
    """Run each job in its own thread and connection, released together; return results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(i, job):
        try:
            barrier.wait()
            results[i] = job()
        except Exception as exc:  # the test inspects what each thread got
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_same_answer_from_the_same_read_exactly_one_wins(sales, agent, supervisor):
    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_text.pk, "original", 0)], by=agent)
    writers = 6

    def job(n):
        return lambda: save_answers(
            Ticket.objects.select_related("service_type", "cr").get(pk=ticket.pk),
            [AnswerInput(sales.q_text.pk, f"versão {n}", 1)],
            by=agent if n % 2 else supervisor,
        )

    results = run_at_once([job(n) for n in range(writers)])
    winners = [r for r in results if not isinstance(r, Exception)]
    conflicts = [r for r in results if isinstance(r, AnswerConflict)]
    assert len(winners) == 1, results
    assert len(conflicts) == writers - 1, results
    answer = Answer.objects.get(ticket=ticket, question=sales.q_text)
    assert answer.version == 2
    assert answer.value_text == winners[0].saved[0].value_text
    # every conflict names the answer and its value at the time
    assert all(c.conflicts[0]["current_value"] == answer.value_text for c in conflicts)
    assert AnswerRevision.objects.filter(answer=answer).count() == 2


def test_different_questions_saved_at_once_all_succeed(sales, agent, supervisor):
    ticket = make_ticket(sales, agent)
    s = sales
    given = [
        (s.q_text, "texto"),
        (s.q_memo, "memorando"),
        (s.q_number, "7"),
        (s.q_money, "99,90"),
        (s.q_date, "01/03/2027"),
        (s.q_time, "09:15"),
        (s.q_single, [s.o_site.pk]),
        (s.q_multi, [s.o_crm.pk]),
    ]

    def job(question, value, n):
        return lambda: save_answers(
            Ticket.objects.select_related("service_type", "cr").get(pk=ticket.pk),
            [AnswerInput(question.pk, value, 0)],
            by=agent if n % 2 else supervisor,
        )

    results = run_at_once([job(q, v, n) for n, (q, v) in enumerate(given)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Answer.objects.filter(ticket=ticket).count() == len(given)
    assert AnswerRevision.objects.filter(ticket=ticket).count() == len(given)


def test_concurrent_notes_never_lose_a_move(sales, agent, supervisor):
    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk], 0)], by=agent)

    def job(n):
        return lambda: record_note(
            Ticket.objects.get(pk=ticket.pk), by=agent, text=f"nota {n}", move_on=True, expected_version=1
        )

    results = run_at_once([job(n) for n in range(4)])
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    ticket.refresh_from_db()
    assert ticket.cr == sales.cr_proposal and ticket.version == 2
    assert ticket.moves.count() == 2 and ticket.notes.count() == 2


def test_history_time_order_is_the_order_writers_got_the_ticket(sales, agent, supervisor):
    """Sixteen notes that each move the ticket on, at once: history sorted by time is history sorted by write."""
    ticket = make_ticket(sales, agent)
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk], 0)], by=agent)
    record_note(ticket, by=agent, text="proposta enviada", move_on=True)
    no = {sales.decision.pk: sales.no.pk}  # Negociação → "Fechou negócio?" Não → Negociação, again and again
    writers = 16

    def job(n):
        return lambda: record_note(
            Ticket.objects.get(pk=ticket.pk),
            by=agent if n % 2 else supervisor,
            text=f"nota {n}",
            move_on=True,
            choices=no,
        )

    results = run_at_once([job(n) for n in range(writers)])
    assert not [r for r in results if isinstance(r, Exception)], results
    ticket.refresh_from_db()
    notes = list(ticket.notes.order_by("id").values_list("created_at", flat=True))
    moves = list(ticket.moves.order_by("id").values_list("at", "from_step_id", "to_step_id"))
    assert len(notes) == writers + 2 and len(moves) == writers + 2
    assert notes == sorted(notes)
    assert [m[0] for m in moves] == sorted(m[0] for m in moves)
    # each move starts where the one before it (in time order) ended
    by_time = sorted(moves)
    assert all(later[1] == earlier[2] for earlier, later in itertools.pairwise(by_time))
    assert ticket.version == writers + 2


def test_answer_revisions_time_order_is_the_order_of_the_writes(sales, agent, supervisor):
    ticket = make_ticket(sales, agent)
    questions = [sales.q_text, sales.q_memo, sales.q_number, sales.q_money, sales.q_date, sales.q_time]
    values = ["texto", "memorando", "7", "99,90", "01/03/2027", "09:15"]

    def job(n):
        return lambda: save_answers(
            Ticket.objects.get(pk=ticket.pk),
            [AnswerInput(questions[n % 6].pk, values[n % 6], 0)],
            by=agent if n % 2 else supervisor,
        )

    run_at_once([job(n) for n in range(12)])
    stamps = list(AnswerRevision.objects.filter(ticket=ticket).order_by("id").values_list("at", flat=True))
    assert stamps and stamps == sorted(stamps)

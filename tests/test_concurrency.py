"""Two people saving the same ticket at once never lose work (PostgreSQL: real row locks)."""

from __future__ import annotations

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

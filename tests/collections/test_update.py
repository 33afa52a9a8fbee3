"""The collections update: what it collects, how it groups, opens, adds, closes and records, in frozen time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from ciclo.accounts.roles import Role
from ciclo.collections.models import CollectionItem, CollectionRun, Receivable
from ciclo.collections.update import update_collections
from ciclo.configurator.models import CrmOptions
from ciclo.tickets.models import Note, PhaseMove, Ticket
from ciclo.tickets.routing import move_to_step
from tests.collections.conftest import CollectionSetup
from tests.factory import make_person, make_user

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SAO_PAULO)  # type: ignore[misc]


# Monday 9 November 2026, 10:00 in São Paulo: with 5 days, due on or before Wednesday 4 November.
MONDAY = at(2026, 11, 9, 10, 0)


def run(**kw: Any) -> CollectionRun:
    kw.setdefault("at", MONDAY)
    with time_machine.travel(kw["at"], tick=False):
        return update_collections(**kw)


def collections_of(person: Any) -> list[Ticket]:
    return list(Ticket.objects.filter(person=person, service_type__code="3.1").order_by("id"))


def open_items(ticket: Ticket) -> set[int]:
    return set(ticket.collection_items.filter(released_at=None).values_list("receivable_id", flat=True))


# ---- what is collected ---------------------------------------------------------------------------


def test_an_overdue_receivable_opens_a_collection_ticket_delegated_with_an_automatic_note(
    collections: CollectionSetup,
) -> None:
    debtor = make_person(name="Ana Devedora")
    receivable = collections.receivable(debtor, due_date=dt.date(2026, 11, 4), amount=Decimal("1234.56"))

    result = run()

    assert result.status == CollectionRun.Status.DONE
    assert result.counts["opened"] == 1 and result.counts["receivables"] == 1
    [ticket] = collections_of(debtor)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.cr == collections.cr_contact  # the type's workflow, first phase
    assert ticket.next_contact_user == collections.collector
    assert ticket.opened_by == collections.robot
    assert ticket.company == collections.company
    assert open_items(ticket) == {receivable.pk}
    automatic = ticket.notes.get(kind=Note.Kind.AUTOMATIC)
    assert automatic.author == collections.robot
    assert receivable.document in automatic.text and "R$ 1,234.56" in automatic.text
    assert PhaseMove.objects.filter(ticket=ticket, kind=PhaseMove.Kind.OPEN).count() == 1
    assert CollectionItem.objects.get().run == result


def test_days_overdue_count_calendar_days_across_a_weekend(collections: CollectionSetup) -> None:
    # Due Wednesday 4 November: 5 days overdue on Monday 9, 4 on Sunday 8.
    debtor = make_person()
    collections.receivable(debtor, due_date=dt.date(2026, 11, 4))

    assert run(at=at(2026, 11, 8, 23, 59)).counts["opened"] == 0
    assert run(at=at(2026, 11, 9, 0, 1)).counts["opened"] == 1


def test_days_overdue_count_across_a_month_end(collections: CollectionSetup) -> None:
    # Due 28 November, 5 days: collected from 3 December (30 days in November).
    debtor = make_person()
    collections.receivable(debtor, due_date=dt.date(2026, 11, 28))

    assert run(at=at(2026, 12, 2, 12, 0)).counts["opened"] == 0
    assert run(at=at(2026, 12, 3, 12, 0)).counts["opened"] == 1


def test_the_days_of_the_options_decide_when_a_receivable_is_overdue_enough(collections: CollectionSetup) -> None:
    collections.options(collection_days_overdue=0)
    debtor = make_person()
    collections.receivable(debtor, due_date=dt.date(2026, 11, 9))
    collections.receivable(make_person(), due_date=dt.date(2026, 11, 10))  # not due yet

    assert run().counts["opened"] == 1
    assert len(collections_of(debtor)) == 1


def test_paid_descontado_not_entering_and_inactive_debtors_receivables_are_not_collected(
    collections: CollectionSetup,
) -> None:
    collections.receivable(make_person(), open_balance=Decimal("0.00"))
    collections.receivable(make_person(), kind=collections.discounted)
    collections.receivable(make_person(), administrative_status=collections.status("1", enters=False))
    collections.receivable(make_person(active=False))
    entering = make_person()
    collections.receivable(entering, administrative_status=collections.status("2", enters=True))

    result = run()

    assert result.counts["opened"] == 1
    assert Ticket.objects.get().person == entering


def test_a_kind_a_company_adds_is_collected_unless_marked_not_collected(collections: CollectionSetup) -> None:
    from ciclo.collections.models import CollectionKind

    cheque = CollectionKind.objects.create(code="cheque", name="Cheque")
    card = CollectionKind.objects.create(code="cartao", name="Cartão", collected=False)
    collections.receivable(make_person(), kind=cheque)
    collections.receivable(make_person(), kind=card)

    assert run().counts["opened"] == 1


# ---- grouping ------------------------------------------------------------------------------------


def test_a_debtors_receivables_of_every_company_make_one_collection_by_default(collections: CollectionSetup) -> None:
    debtor = make_person()
    a = collections.receivable(debtor)
    b = collections.receivable(debtor, company=collections.other_company)
    c = collections.receivable(debtor, instalment="2")

    result = run()

    assert result.counts == {**result.counts, "opened": 1, "receivables": 3}
    [ticket] = collections_of(debtor)
    assert open_items(ticket) == {a.pk, b.pk, c.pk}


def test_grouping_by_debtor_and_company_opens_one_collection_per_company(collections: CollectionSetup) -> None:
    collections.options(collection_grouping=CrmOptions.CollectionGrouping.PERSON_COMPANY)
    debtor = make_person()
    a = collections.receivable(debtor)
    b = collections.receivable(debtor, company=collections.other_company)

    assert run().counts["opened"] == 2
    first, second = collections_of(debtor)
    assert {(first.company_id, *open_items(first)), (second.company_id, *open_items(second))} == {
        (collections.company.pk, a.pk),
        (collections.other_company.pk, b.pk),
    }


def test_a_new_overdue_receivable_joins_the_debtors_open_collection(collections: CollectionSetup) -> None:
    debtor = make_person()
    first = collections.receivable(debtor)
    run()
    later = collections.receivable(debtor, due_date=dt.date(2026, 11, 3), instalment="2")

    result = run(at=at(2026, 11, 10, 10, 0))

    assert result.counts["opened"] == 0 and result.counts["added"] == 1
    [ticket] = collections_of(debtor)
    assert open_items(ticket) == {first.pk, later.pk}
    assert ticket.notes.filter(kind=Note.Kind.AUTOMATIC).count() == 2


# ---- idempotent, dry run, refusals ---------------------------------------------------------------


def test_a_second_run_with_nothing_new_changes_nothing(collections: CollectionSetup) -> None:
    for _ in range(3):
        collections.receivable(make_person())
    run()
    before = (Ticket.objects.count(), Note.objects.count(), CollectionItem.objects.count())

    again = run()

    assert again.status == CollectionRun.Status.DONE
    assert {k: v for k, v in again.counts.items() if v} == {}
    assert (Ticket.objects.count(), Note.objects.count(), CollectionItem.objects.count()) == before
    assert CollectionRun.objects.count() == 2


def test_a_dry_run_counts_what_it_would_do_and_changes_nothing(collections: CollectionSetup) -> None:
    collections.receivable(make_person())
    collections.receivable(make_person())

    dry = run(dry_run=True)

    assert dry.status == CollectionRun.Status.DONE and dry.dry_run
    assert dry.counts["opened"] == 2
    assert not Ticket.objects.exists() and not CollectionItem.objects.exists()
    assert CollectionRun.objects.get(pk=dry.pk).counts["opened"] == 2  # the run's record stays


def test_without_a_collection_type_the_run_is_refused_and_recorded_failed(collections: CollectionSetup) -> None:
    collections.options(collection_analytical_type=None)
    collections.receivable(make_person())

    result = run()

    assert result.status == CollectionRun.Status.FAILED
    assert "analytical collection type" in result.error
    assert not Ticket.objects.exists()


def test_without_a_signer_a_scheduled_run_is_refused_and_a_user_signs_one_by_hand(
    collections: CollectionSetup,
) -> None:
    collections.options(automatic_note_user=None)
    debtor = make_person()
    collections.receivable(debtor)

    refused = run(trigger=CollectionRun.Trigger.SCHEDULE)
    assert refused.status == CollectionRun.Status.FAILED
    assert "signs automatic notes" in refused.error

    boss = make_user("boss_t", Role.SUPERVISOR)
    done = run(by=boss)
    assert done.status == CollectionRun.Status.DONE and done.started_by == boss
    [ticket] = collections_of(debtor)
    assert ticket.notes.get(kind=Note.Kind.AUTOMATIC).author == boss


def test_a_receivable_is_in_at_most_one_open_collection(collections: CollectionSetup) -> None:
    receivable = collections.receivable(make_person())
    run()
    ticket = Ticket.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        CollectionItem.objects.create(ticket=ticket, receivable=receivable)


# ---- closing, releasing, reopening ---------------------------------------------------------------


def test_a_collection_whose_receivables_are_all_paid_closes_itself_with_the_standard_note(
    collections: CollectionSetup,
) -> None:
    debtor = make_person()
    a = collections.receivable(debtor)
    b = collections.receivable(debtor, instalment="2")
    run()
    Receivable.objects.filter(pk=a.pk).update(open_balance=0)

    assert run().counts["closed"] == 0  # one still open
    Receivable.objects.filter(pk=b.pk).update(open_balance=0)
    result = run()

    assert result.counts["closed"] == 1
    [ticket] = collections_of(debtor)
    assert ticket.status == Ticket.Status.CLOSED and ticket.cr == collections.cr_closed
    move = ticket.moves.get(kind=PhaseMove.Kind.JUMP)
    assert move.by == collections.robot and "paid" in move.reason
    assert open_items(ticket) == set()
    assert Ticket.objects.filter(pk=ticket.pk).exists()  # never deleted


def test_a_receivable_paid_then_reopened_by_the_erp_goes_back_to_collection(collections: CollectionSetup) -> None:
    debtor = make_person()
    receivable = collections.receivable(debtor)
    run()
    Receivable.objects.filter(pk=receivable.pk).update(open_balance=0)
    run()  # closes the collection
    Receivable.objects.filter(pk=receivable.pk).update(open_balance=Decimal("50.00"))

    result = run()

    assert result.counts["opened"] == 1
    closed, reopened = collections_of(debtor)
    assert closed.status == Ticket.Status.CLOSED and reopened.status == Ticket.Status.OPEN
    assert open_items(reopened) == {receivable.pk}


def test_a_collection_closed_by_a_supervisor_releases_its_open_receivables_to_a_new_one(
    collections: CollectionSetup,
) -> None:
    debtor = make_person()
    receivable = collections.receivable(debtor)
    run()
    [ticket] = collections_of(debtor)
    move_to_step(ticket, collections.step_closed, by=collections.robot, reason="Acordo fora do Ciclo")

    result = run()

    assert result.counts["released"] == 1 and result.counts["opened"] == 1
    assert open_items(collections_of(debtor)[1]) == {receivable.pk}


def test_a_signer_who_may_not_move_tickets_leaves_paid_collections_open_and_says_so(
    collections: CollectionSetup,
) -> None:
    debtor = make_person()
    receivable = collections.receivable(debtor)
    run()
    collections.options(automatic_note_user=make_user("clerk_t", Role.AGENT))
    Receivable.objects.filter(pk=receivable.pk).update(open_balance=0)

    result = run()

    assert result.counts["closed"] == 0 and result.counts["not_closed"] == 1
    assert collections_of(debtor)[0].status == Ticket.Status.OPEN


def test_an_interrupted_run_is_marked_by_the_next(collections: CollectionSetup) -> None:
    dead = CollectionRun.objects.create(started_at=at(2026, 11, 9, 9, 0))

    run()

    dead.refresh_from_db()
    assert dead.status == CollectionRun.Status.FAILED and "Interrupted" in dead.error


def test_progress_is_reported_per_chunk_of_debtors(collections: CollectionSetup) -> None:
    for _ in range(3):
        collections.receivable(make_person())
    seen: list[tuple[int, int]] = []

    run(progress=lambda done, total: seen.append((done, total)))

    assert seen[0] == (0, 3) and seen[-1] == (3, 3)


def test_many_chunks_and_batches_collect_every_debtor_once_with_the_progress_rising(
    collections: CollectionSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciclo.collections import update

    monkeypatch.setattr(update, "CHUNK", 3)  # 7 debtors: chunks of 3, 3 and 1
    monkeypatch.setattr(update, "OPEN_BATCH", 2)  # opened two at a time
    debtors = [make_person() for _ in range(7)]
    for n, debtor in enumerate(debtors):
        collections.receivable(debtor)
        if n % 2:
            collections.receivable(debtor, instalment="2")
    seen: list[tuple[int, int]] = []

    result = run(progress=lambda done, total: seen.append((done, total)))

    assert result.counts["opened"] == 7 and result.counts["receivables"] == 10
    assert [len(collections_of(d)) for d in debtors] == [1] * 7
    assert all(len(open_items(collections_of(d)[0])) == (2 if n % 2 else 1) for n, d in enumerate(debtors))
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert len(set(dones)) > 3  # told while opening, not only per chunk
    assert run().counts == {k: 0 for k in result.counts}  # and a rerun finds nothing new


def test_a_rerun_with_nothing_new_counts_nothing_and_says_so(collections: CollectionSetup) -> None:
    collections.receivable(make_person())
    run()
    seen: list[tuple[int, int]] = []

    again = run(progress=lambda done, total: seen.append((done, total)))

    assert again.counts["opened"] == again.counts["receivables"] == 0
    assert seen == [(0, 0)]

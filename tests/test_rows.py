"""The engine's plain-SQL rows (ciclo.rows) write and read exactly what the ORM would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from ciclo import rows
from ciclo.tickets.models import (
    Answer,
    AnswerChoice,
    AnswerRevision,
    MoveDecision,
    Note,
    PhaseMove,
    Ticket,
)
from tests.factory import make_ticket

ENGINE_MODELS = [Ticket, Note, PhaseMove, MoveDecision, Answer, AnswerChoice, AnswerRevision]


@pytest.mark.parametrize("model", ENGINE_MODELS, ids=lambda m: m.__name__)
def test_nothing_listens_to_the_saves_the_engine_writes_in_plain_sql(model):
    # rows.insert/update send no model signals; a receiver added to these models would be skipped.
    assert not pre_save.has_listeners(model)
    assert not post_save.has_listeners(model)


def test_insert_sets_keys_and_stores_what_the_orm_reads_back(sales, agent):
    ticket = make_ticket(sales, agent)
    at = dt.datetime(2027, 3, 15, 14, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    answers = [
        Answer(
            ticket=ticket,
            question=sales.q_money,
            cr_id=sales.q_money.cr_id,
            question_code="1.04",
            question_text="Orçamento",
            answer_type="money",
            value_number=Decimal("1234.50"),
            answered_by=agent,
            answered_at=at,
        ),
        Answer(
            ticket=ticket,
            question=sales.q_date,
            cr_id=sales.q_date.cr_id,
            question_code="1.05",
            question_text="Quando",
            answer_type="date",
            value_date=dt.date(2027, 3, 15),
            answered_by=agent,
            answered_at=at,
        ),
    ]
    with transaction.atomic():
        rows.insert(answers)
    assert all(a.pk and not a._state.adding for a in answers)
    money = Answer.objects.get(pk=answers[0].pk)
    assert money.value_number == Decimal("1234.50")
    assert money.answered_at == at  # the same instant, whatever the zone it was given in
    assert money.version == 1 and money.is_empty is False  # the model's defaults
    assert Answer.objects.get(pk=answers[1].pk).value_date == dt.date(2027, 3, 15)

    revision = AnswerRevision(
        answer_id=money.pk,
        ticket_id=ticket.pk,
        question_id=money.question_id,
        version=1,
        old_value=None,
        new_value={"nested": ["ç", 1.5]},
        by_id=agent.pk,
        at=at,
    )
    rows.insert([revision])
    stored = AnswerRevision.objects.get(pk=revision.pk)
    assert stored.old_value is None and stored.new_value == {"nested": ["ç", 1.5]}


def test_update_writes_only_the_named_fields(sales, agent):
    ticket = make_ticket(sales, agent)
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket.subject = "Outro assunto"
    ticket.version = 7
    assert rows.update(ticket, ["version"]) == 1
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.version == 7
    assert fresh.subject == stale.subject  # not named: left alone


def test_select_reads_what_the_orm_reads(sales, agent):
    ticket = make_ticket(sales, agent)
    orm = Ticket.objects.get(pk=ticket.pk)
    # Names in any order: the instance gets each value in its own field.
    [(plain, extra)] = rows.select(
        Ticket, ("version", "next_contact_at", "id", "cr_id", "status"), "id = %s", [ticket.pk], extra="1 + 1"
    )
    assert extra == (2,)
    assert (plain.pk, plain.cr_id, plain.status, plain.version) == (orm.pk, orm.cr_id, orm.status, orm.version)
    assert plain.next_contact_at == orm.next_contact_at and timezone.is_aware(plain.next_contact_at)
    assert rows.select(Ticket, ("id",), "id = %s", [ticket.pk + 1000]) == []


def test_select_refuses_a_name_the_model_does_not_have():
    with pytest.raises(ValueError, match="no columns"):
        rows.select(Ticket, ("id", "nope"), "id = %s", [1])

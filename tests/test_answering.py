from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import ProtectedError

from ciclo.configurator.models import Option, Question
from ciclo.tickets.answering import AnswerInput, cycle_of, save_answers, unlock_phase
from ciclo.tickets.errors import AnswerConflict, InvalidInput, NotAllowed, PhaseLocked
from ciclo.tickets.models import Answer, AnswerRevision, CrUnlock
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def save(ticket, user, *pairs, versions=None):
    versions = versions or {}
    return save_answers(ticket, [AnswerInput(q.pk, value, versions.get(q.pk, 0)) for q, value in pairs], by=user)


def test_all_eight_types_are_stored_and_read_back(sales, agent, ticket):
    s = sales
    result = save(
        ticket,
        agent,
        (s.q_text, "Carlos, gerente"),
        (s.q_memo, "Precisa integrar\ncom o banco"),
        (s.q_number, "12,5"),
        (s.q_money, "1.234,50"),
        (s.q_date, "25/12/2026"),
        (s.q_time, "14:30"),
        (s.q_single, [{"option": s.o_referral.pk, "complement": "Indicado pelo João"}]),
        (s.q_multi, [s.o_erp.pk, {"option": s.o_other.pk, "complement": "BI"}]),
    )
    assert len(result.saved) == 8
    answers = {a.question_id: a for a in Answer.objects.filter(ticket=ticket)}
    assert answers[s.q_text.pk].value() == "Carlos, gerente"
    assert answers[s.q_number.pk].value() == Decimal("12.5")
    assert answers[s.q_money.pk].value() == Decimal("1234.50")
    assert answers[s.q_money.pk].display() == "1234.50"
    assert answers[s.q_date.pk].value() == dt.date(2026, 12, 25)
    assert answers[s.q_time.pk].value() == dt.time(14, 30)
    assert answers[s.q_single.pk].value() == [
        {"option": s.o_referral.pk, "label": "Indicação", "complement": "Indicado pelo João"}
    ]
    assert [c["label"] for c in answers[s.q_multi.pk].value()] == ["ERP", "Outro"]
    assert all(a.version == 1 and a.answered_by == agent for a in answers.values())


@pytest.mark.parametrize(
    ("attr", "value", "fragment"),
    [
        ("q_text", "x" * 101, "100"),
        ("q_money", "10,555", "two decimals"),
        ("q_money", "dez reais", "reais"),
        ("q_number", "-1", "smallest"),
        ("q_number", "abc", "number"),
        ("q_date", "31/02/2026", "dd/mm/yyyy"),
        ("q_time", "24:00", "HH:MM"),
        ("q_time", "9:5", "HH:MM"),
        ("q_single", "two", "option"),
    ],
)
def test_each_type_refuses_a_bad_value_and_saves_nothing(sales, agent, ticket, attr, value, fragment):
    question = getattr(sales, attr)
    with pytest.raises(InvalidInput) as err:
        save(ticket, agent, (sales.q_memo, "válido"), (question, value))
    assert fragment in " ".join(err.value.errors[str(question.pk)])
    assert Answer.objects.count() == 0 and AnswerRevision.objects.count() == 0


def test_choice_rules(sales, agent, ticket):
    s = sales
    cases = [
        (s.q_single, [s.o_site.pk, s.o_referral.pk], "exactly one"),
        (s.q_single, [s.o_erp.pk], "not an option of this question"),
        (s.q_single, [{"option": s.o_site.pk, "complement": "x"}], "no complement"),
        (s.q_multi, [s.o_erp.pk, s.o_erp.pk], "twice"),
    ]
    for question, value, fragment in cases:
        with pytest.raises(InvalidInput) as err:
            save(ticket, agent, (question, value))
        assert fragment in " ".join(err.value.errors[str(question.pk)]), fragment
    assert Answer.objects.count() == 0


def test_an_inactive_option_cannot_be_chosen(sales, agent, ticket):
    Option.objects.filter(pk=sales.o_site.pk).update(active=False)
    with pytest.raises(InvalidInput):
        save(ticket, agent, (sales.q_single, [sales.o_site.pk]))


def test_partial_saves_in_any_order(sales, agent, ticket):
    save(ticket, agent, (sales.q_time, "08:00"))
    save(ticket, agent, (sales.q_text, "primeiro"), (sales.q_date, "2026-01-02"))
    assert Answer.objects.filter(ticket=ticket).count() == 3


def test_a_change_leaves_a_revision_with_old_and_new(sales, agent, supervisor, ticket):
    save(ticket, agent, (sales.q_money, "100"))
    save(ticket, supervisor, (sales.q_money, "150,75"), versions={sales.q_money.pk: 1})
    revisions = list(AnswerRevision.objects.filter(ticket=ticket).order_by("version"))
    assert [(r.version, r.old_value, r.new_value, r.by) for r in revisions] == [
        (1, None, "100.00", agent),
        (2, "100.00", "150.75", supervisor),
    ]


def test_the_same_value_again_changes_nothing(sales, agent, ticket):
    save(ticket, agent, (sales.q_text, "igual"))
    result = save(ticket, agent, (sales.q_text, "igual"), versions={sales.q_text.pk: 1})
    assert result.unchanged == [sales.q_text.pk]
    assert AnswerRevision.objects.count() == 1
    assert Answer.objects.get().version == 1


def test_an_empty_value_clears_and_is_recorded(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    result = save(ticket, agent, (sales.q_single, []), versions={sales.q_single.pk: 1})
    assert result.cleared == [sales.q_single.pk]
    answer = Answer.objects.get()
    assert answer.is_empty and answer.version == 2 and not answer.choices.exists()
    assert AnswerRevision.objects.order_by("-version").first().new_value is None


def test_a_conflicting_save_is_refused_with_the_current_values(sales, agent, supervisor, ticket):
    save(ticket, agent, (sales.q_text, "original"), (sales.q_memo, "memo"))
    # both read version 1; the supervisor saves first
    save(ticket, supervisor, (sales.q_text, "do supervisor"), versions={sales.q_text.pk: 1})
    with pytest.raises(AnswerConflict) as err:
        save(
            ticket,
            agent,
            (sales.q_text, "do agente"),
            (sales.q_memo, "memo novo"),
            versions={sales.q_text.pk: 1, sales.q_memo.pk: 1},
        )
    conflict = err.value.conflicts
    assert len(conflict) == 1
    assert conflict[0]["code"] == "1.01" and conflict[0]["current_value"] == "do supervisor"
    assert conflict[0]["current_version"] == 2 and conflict[0]["changed_by"] == "supervisor_t"
    assert "do supervisor" in err.value.message
    # nothing of the refused save was written
    assert Answer.objects.get(question=sales.q_memo).value_text == "memo"
    assert Answer.objects.get(question=sales.q_text).value_text == "do supervisor"


def test_answering_a_question_someone_else_answered_first_is_a_conflict(sales, agent, supervisor, ticket):
    save(ticket, supervisor, (sales.q_time, "10:00"))
    with pytest.raises(AnswerConflict):
        save(ticket, agent, (sales.q_time, "11:00"))  # read when there was no answer (version 0)


def test_saves_of_other_questions_meanwhile_are_kept(sales, agent, supervisor, ticket):
    save(ticket, agent, (sales.q_text, "agente"))
    save(ticket, supervisor, (sales.q_memo, "supervisor"))
    assert set(Answer.objects.values_list("value_text", flat=True)) == {"agente", "supervisor"}


def test_earlier_phase_is_locked_until_unlocked(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    record_note(ticket, by=agent, text="avançar", move_on=True)
    with pytest.raises(PhaseLocked) as err:
        save(ticket, agent, (sales.q_text, "tarde demais"))
    assert err.value.data["crs"][0]["code"] == "1"
    unlock = unlock_phase(ticket, sales.cr_prospect, by=agent, reason="Cliente corrigiu o contato")
    assert unlock.by == agent and unlock.reason == "Cliente corrigiu o contato"
    save(ticket, agent, (sales.q_text, "corrigido"))
    # unlocking again records nothing new
    assert unlock_phase(ticket, sales.cr_prospect, by=agent) == unlock
    assert CrUnlock.objects.count() == 1


def test_unlock_refusals(sales, agent, ticket):
    with pytest.raises(InvalidInput):
        unlock_phase(ticket, sales.cr_prospect, by=agent)  # the current phase
    with pytest.raises(InvalidInput):
        unlock_phase(ticket, sales.cr_closed, by=agent)  # not reached


def test_questions_of_a_phase_not_reached_are_refused(sales, agent, ticket):
    with pytest.raises(InvalidInput) as err:
        save(ticket, agent, (sales.q_proposal, "100"))
    assert "not reached" in " ".join(err.value.errors[str(sales.q_proposal.pk)])


def test_a_question_of_another_cycle_is_refused(sales, agent, ticket):
    from ciclo.configurator.models import ServiceCycle

    other = ServiceCycle.objects.create(code="outro", description="Outro")
    foreign = Question.objects.create(cycle=other, cr=sales.cr_prospect, code="1", text="?", answer_type="short_text")
    with pytest.raises(InvalidInput):
        save(ticket, agent, (foreign, "x"))


def test_a_closed_ticket_still_takes_answers(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    record_note(ticket, by=agent, text="a", move_on=True)
    record_note(ticket, by=agent, text="b", move_on=True, choices={sales.decision.pk: sales.yes.pk})
    assert ticket.is_closed
    save(ticket, agent, (sales.q_closed, "Excelente"))
    assert Answer.objects.get(question=sales.q_closed).value_text == "Excelente"


def test_an_agent_outside_the_cr_cannot_answer(sales, agent, outsider, ticket):
    sales.cr_prospect.members.add(agent)
    with pytest.raises(NotAllowed):
        save(ticket, outsider, (sales.q_text, "x"))


def test_an_answer_keeps_the_question_as_it_was(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_referral.pk]))
    Question.objects.filter(pk=sales.q_single.pk).update(text="Como nos conheceu?")
    Option.objects.filter(pk=sales.o_referral.pk).update(label="Recomendação")
    answer = Answer.objects.get()
    assert answer.question_text == "Origem"
    assert answer.value()[0]["label"] == "Indicação"


def test_definitions_in_use_cannot_be_deleted(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    with pytest.raises(ProtectedError):
        sales.o_site.delete()
    with pytest.raises(ProtectedError):
        sales.q_single.delete()
    with pytest.raises(ProtectedError):
        sales.cr_prospect.delete()
    with pytest.raises(ProtectedError):
        sales.step_prospect.delete()
    with pytest.raises(ProtectedError):
        sales.type.delete()
    assert Option.objects.filter(pk=sales.o_site.pk).exists()


def test_a_decision_option_taken_cannot_be_deleted(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    record_note(ticket, by=agent, text="a", move_on=True)
    record_note(ticket, by=agent, text="b", move_on=True, choices={sales.decision.pk: sales.no.pk})
    with pytest.raises(ProtectedError):
        sales.no.delete()


def test_cycle_of_groups_questions_per_phase_with_state(sales, agent, ticket):
    save(ticket, agent, (sales.q_single, [sales.o_site.pk]))
    record_note(ticket, by=agent, text="a", move_on=True)
    phases = cycle_of(ticket)
    states = {p.cr.code: p.state for p in phases}
    assert states == {"1": "locked", "2": "current", "9": "ahead"}
    first = next(p for p in phases if p.cr.code == "1")
    assert [q.code for q, _a in first.items][:3] == ["1.01", "1.02", "1.03"]
    answered = {q.code: a for q, a in first.items if a}
    assert set(answered) == {"1.07"}


def test_saving_the_value_someone_else_already_saved_is_no_conflict(sales, agent, supervisor, ticket):
    save(ticket, supervisor, (sales.q_multi, [sales.o_erp.pk]))
    result = save(ticket, agent, (sales.q_multi, [sales.o_erp.pk]))  # read before: version 0
    assert result.unchanged == [sales.q_multi.pk]
    assert Answer.objects.get().version == 1

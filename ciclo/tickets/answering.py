"""Answering a ticket's cycle: partial saves, locks of earlier phases, conflicts, history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.configurator.models import AnswerType, Question, ResponsibilityCenter
from ciclo.insight.summaries import answers_changing
from ciclo.tickets.access import check_can_work
from ciclo.tickets.errors import AnswerConflict, InvalidInput, PhaseLocked, PhaseNotUnlocked
from ciclo.tickets.models import Answer, AnswerChoice, AnswerRevision, CrUnlock, PhaseMove, Ticket
from ciclo.tickets.routing import lock_ticket
from ciclo.tickets.values import Value, check_value, json_of


@dataclass(frozen=True)
class AnswerInput:
    """One answer to save. `version` is the answer's version when it was read (0: there was none)."""

    question_id: int
    value: Any
    version: int = 0


@dataclass
class SaveResult:
    saved: list[Answer] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)  # question ids whose answer was emptied
    unchanged: list[int] = field(default_factory=list)  # question ids given the value they had


def answer_json(answer: Answer | None) -> Any:
    if answer is None or answer.is_empty:
        return None
    return json_of(
        answer.answer_type,
        answer.value_text,
        answer.value_number,
        answer.value_date,
        answer.value_time,
        [(c.option_id, c.label, c.complement) for c in answer.choices.all()]
        if answer.answer_type in AnswerType.choice_types()
        else [],
    )


def visited_crs(ticket: Ticket) -> set[int]:
    return set(PhaseMove.objects.filter(ticket=ticket).values_list("to_cr_id", flat=True))


def unlocked_crs(ticket: Ticket) -> set[int]:
    """The earlier phases unlocked now (and not locked again since)."""
    return set(CrUnlock.objects.filter(ticket=ticket, relocked_at__isnull=True).values_list("cr_id", flat=True))


def open_unlocks(ticket: Ticket) -> dict[int, CrUnlock]:
    """The unlocks open now, by phase, with who unlocked."""
    found = CrUnlock.objects.filter(ticket=ticket, relocked_at__isnull=True).select_related("by").order_by()
    return {u.cr_id: u for u in found}


def phase_state(ticket: Ticket, cr_id: int, visited: set[int], unlocked: set[int]) -> str:
    """ "current", "unlocked", "locked" (an earlier phase) or "ahead" (not reached yet)."""
    if cr_id == ticket.cr_id:
        return "current"
    if cr_id not in visited:
        return "ahead"
    return "unlocked" if cr_id in unlocked else "locked"


def _answers_with_choices() -> Prefetch[Any]:
    return Prefetch("choices", queryset=AnswerChoice.objects.order_by("id"))


# What saving answers reads of the ticket it locks.
_LOCKED_FIELDS = ("id", "cr", "service_type", "company")


def _current_answers(ticket_id: int, question_ids: list[int]) -> dict[int, Answer]:
    """The ticket's answers to these questions, by question."""
    if not question_ids:
        return {}
    # order_by(): the model's default order would join the ticket only to sort by it.
    found = Answer.objects.filter(ticket_id=ticket_id, question_id__in=question_ids).order_by()
    return {a.question_id: a for a in found}


def save_answers(
    ticket: Ticket, inputs: Iterable[AnswerInput], *, by: Any, at: dt.datetime | None = None
) -> SaveResult:
    """Save some answers of the ticket's cycle together, or none of them.

    Every value is checked by its type; answers of an earlier phase need that phase
    unlocked; an answer someone else changed since `version` was read is a conflict
    (unless this save gives it the very value it now has).
    An empty value clears an answer. Each change leaves an AnswerRevision.
    """
    inputs = list(inputs)
    if not inputs:
        return SaveResult()
    by_question: dict[int, AnswerInput] = {}
    errors: dict[str, list[str]] = {}
    for item in inputs:
        if item.question_id in by_question:
            errors[str(item.question_id)] = [_("This question is given twice in one save.")]
        by_question[item.question_id] = item
    if errors:
        raise InvalidInput(errors)

    with transaction.atomic():
        # One writer per ticket at a time: the version checks below cannot race.
        locked = lock_ticket(ticket, by, _LOCKED_FIELDS)
        at = at or timezone.now()  # after the lock, so revisions' time order is the real order
        check_can_work(by, locked)
        found = Question.objects.of_service_type(locked.service_type_id).filter(pk__in=by_question).with_options()
        questions = {q.pk: q for q in found}
        for qid in by_question:
            if qid not in questions:
                errors[str(qid)] = [_("Question %(id)s is not a question of this ticket's cycle.") % {"id": qid}]
        if errors:
            raise InvalidInput(errors)
        _check_phases(locked, questions.values())

        current = _current_answers(locked.pk, list(questions))
        with_choices = [a for a in current.values() if a.answer_type in AnswerType.choice_types()]
        if with_choices:
            prefetch_related_objects(with_choices, _answers_with_choices())
        values: dict[int, Value] = {}
        for qid, item in by_question.items():
            q = questions[qid]
            answer = current.get(qid)
            # Active options, and any deactivated since this answer chose it (it stays choosable here).
            kept = {c.option_id for c in answer.choices.all()} if answer and q.is_choice else set()
            options = {o.pk: o for o in q.options.all() if o.active or o.pk in kept}
            value, messages = check_value(q, item.value, options)
            if messages:
                errors[str(qid)] = messages
            else:
                assert value is not None
                values[qid] = value
        if errors:
            raise InvalidInput(errors)

        # Changed by someone else since it was read, to something other than what this save gives.
        conflicts = []
        for qid, item in by_question.items():
            answer = current.get(qid)
            version = answer.version if answer else 0
            if item.version != version and values[qid].as_json(questions[qid].answer_type) != answer_json(answer):
                conflicts.append(
                    {
                        "question": qid,
                        "code": questions[qid].code,
                        "text": questions[qid].text,
                        "your_version": item.version,
                        "current_version": version,
                        "current_value": answer_json(answer),
                        "current_display": answer.display() if answer and not answer.is_empty else "",
                        "changed_by": answer.answered_by.get_username() if answer else None,
                        "changed_at": answer.answered_at.isoformat() if answer else None,
                    }
                )
        if conflicts:
            raise AnswerConflict(conflicts)
        with answers_changing(locked, list(questions), current):  # the insight's summaries follow
            return _write(ticket, questions, current, values, by=by, at=at)


def _check_phases(ticket: Ticket, questions: Iterable[Question]) -> None:
    """Questions of the current phase are open; of an earlier one, only when unlocked; of later ones, never."""
    questions = list(questions)
    if all(q.cr_id == ticket.cr_id for q in questions):
        return
    visited, unlocked = visited_crs(ticket), unlocked_crs(ticket)
    errors: dict[str, list[str]] = {}
    locked_crs: dict[int, ResponsibilityCenter] = {}
    for q in questions:
        state = phase_state(ticket, q.cr_id, visited, unlocked)
        if state == "locked":
            locked_crs[q.cr_id] = q.cr
        elif state == "ahead":
            errors[str(q.pk)] = [
                _("“%(question)s” is asked in %(cr)s, which this ticket has not reached.")
                % {"question": q.text, "cr": q.cr}
            ]
    if locked_crs:
        names = ", ".join(str(cr) for cr in locked_crs.values())
        raise PhaseLocked(
            _("The answers of %(crs)s are locked: unlock that phase first.") % {"crs": names},
            crs=[{"id": cr.pk, "code": cr.code, "description": cr.description} for cr in locked_crs.values()],
        )
    if errors:
        raise InvalidInput(errors)


def _write(
    ticket: Ticket,
    questions: dict[int, Question],
    current: dict[int, Answer],
    values: dict[int, Value],
    *,
    by: Any,
    at: dt.datetime,
) -> SaveResult:
    result = SaveResult()
    new_answers: list[Answer] = []
    changed: list[Answer] = []
    to_delete: list[Answer] = []
    revisions: list[tuple[Answer, Any, Any]] = []
    for qid, value in values.items():
        q = questions[qid]
        answer = current.get(qid)
        old = answer_json(answer)
        new = value.as_json(q.answer_type)
        if old == new or (answer is None and value.empty):
            result.unchanged.append(qid)
            continue
        if value.empty:
            assert answer is not None
            to_delete.append(answer)
            revisions.append((answer, old, None))
            result.cleared.append(qid)
            continue
        if answer is None:
            answer = Answer(ticket=ticket, question=q, version=0)
            new_answers.append(answer)
        else:
            changed.append(answer)
        answer.cr_id = q.cr_id
        answer.question_code, answer.question_text, answer.answer_type = q.code, q.text, q.answer_type
        answer.value_text, answer.value_number = value.text, value.number
        answer.value_date, answer.value_time = value.date, value.time
        answer.version += 1
        answer.is_empty = False
        answer.answered_by, answer.answered_at = by, at
        answer._new_choices = value.choices  # type: ignore[attr-defined]
        revisions.append((answer, old, new))
        result.saved.append(answer)

    if to_delete:
        # An emptied answer keeps its row (and its history): it becomes blank, version bumped.
        for answer in to_delete:
            answer.value_text, answer.value_number, answer.value_date, answer.value_time = "", None, None, None
            answer.version += 1
            answer.is_empty = True
            answer.answered_by, answer.answered_at = by, at
            answer._new_choices = []  # type: ignore[attr-defined]
        changed.extend(to_delete)
    if new_answers:
        Answer.objects.bulk_create(new_answers)
    if changed:
        Answer.objects.bulk_update(
            changed,
            [
                "cr",
                "question_code",
                "question_text",
                "answer_type",
                "value_text",
                "value_number",
                "value_date",
                "value_time",
                "is_empty",
                "version",
                "answered_by",
                "answered_at",
            ],
        )
        choice_answers = [a.pk for a in changed if a.answer_type in ("single_choice", "multiple_choice")]
        if choice_answers:
            AnswerChoice.objects.filter(answer_id__in=choice_answers).delete()
    new_choices = [
        AnswerChoice(answer_id=a.pk, option_id=c.option.pk, label=c.option.label, complement=c.complement)
        for a in [*new_answers, *changed]
        for c in a._new_choices  # type: ignore[attr-defined]
    ]
    if new_choices:
        AnswerChoice.objects.bulk_create(new_choices)
    if revisions:
        AnswerRevision.objects.bulk_create(
            [
                AnswerRevision(
                    answer_id=a.pk,
                    ticket_id=ticket.pk,
                    question_id=a.question_id,
                    version=a.version,
                    old_value=old,
                    new_value=new,
                    by_id=by.pk,
                    at=at,
                )
                for a, old, new in revisions
            ]
        )
    return result


def unlock_phase(
    ticket: Ticket, cr: ResponsibilityCenter, *, by: Any, reason: str = "", at: dt.datetime | None = None
) -> CrUnlock:
    """Unlock an earlier phase's answers (Desbloquear), saying why.

    While the phase is unlocked, unlocking it again changes nothing and returns that unlock;
    relock_phase() locks it again, and a later unlock is a new record.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = lock_ticket(ticket, by, _LOCKED_FIELDS)
        check_can_work(by, locked)
        if cr.pk == locked.cr_id:
            raise InvalidInput({"cr": [_("The current phase is not locked.")]})
        if cr.pk not in visited_crs(locked):
            raise InvalidInput(
                {"cr": [_("The ticket has not passed %(cr)s: there is nothing to unlock.") % {"cr": cr}]}
            )
        existing = CrUnlock.objects.filter(ticket_id=locked.pk, cr=cr, relocked_at__isnull=True).first()
        if existing is not None:
            return existing
        if not reason:
            raise InvalidInput(
                {"reason": [_("Say why the answers of %(cr)s are unlocked: the reason cannot be empty.") % {"cr": cr}]}
            )
        return CrUnlock.objects.create(ticket_id=locked.pk, cr=cr, by=by, reason=reason, at=at or timezone.now())


def relock_phase(ticket: Ticket, cr: ResponsibilityCenter, *, by: Any, at: dt.datetime | None = None) -> CrUnlock:
    """Lock an unlocked phase's answers again, recording who and when on its unlock.

    A phase already locked again returns its last unlock; one never unlocked is refused (PhaseNotUnlocked).
    """
    with transaction.atomic():
        locked = lock_ticket(ticket, by, _LOCKED_FIELDS)
        check_can_work(by, locked)
        unlock = CrUnlock.objects.filter(ticket_id=locked.pk, cr=cr).order_by("-at", "-id").first()
        if unlock is None:
            raise PhaseNotUnlocked(cr)
        if unlock.relocked_at is not None:
            return unlock
        unlock.relocked_by, unlock.relocked_at = by, at or timezone.now()
        unlock.save(update_fields=["relocked_by", "relocked_at"])
        return unlock


@dataclass
class PhaseQuestions:
    cr: ResponsibilityCenter
    state: str  # current | unlocked | locked | ahead
    items: list[tuple[Question, Answer | None]]
    unlock: CrUnlock | None = None  # who unlocked it, when and why, while it is unlocked


def cycle_of(ticket: Ticket) -> list[PhaseQuestions]:
    """The ticket's cycle, per CR in the order the workflow meets them, with the answers given."""
    cycle_id = ticket.service_type.cycle_id
    if cycle_id is None:
        return []
    # order_by(): the model's default order would join the ticket only to sort by it.
    answers = {
        a.question_id: a
        for a in Answer.objects.filter(ticket=ticket).order_by().prefetch_related(_answers_with_choices())
    }
    # Per CR in the CRs' order, then in the questions' (their classifications).
    questions = Question.objects.filter(cycle_id=cycle_id).with_options().order_by("cr__code_key", "code_key")
    visited, unlocks = visited_crs(ticket), open_unlocks(ticket)
    unlocked = set(unlocks)
    phases: dict[int, PhaseQuestions] = {}
    for q in questions:
        answer = answers.get(q.pk)
        if not q.active and answer is None:
            continue
        if q.cr_id not in phases:
            phases[q.cr_id] = PhaseQuestions(
                cr=q.cr,
                state=phase_state(ticket, q.cr_id, visited, unlocked),
                items=[],
                unlock=unlocks.get(q.cr_id),
            )
        phases[q.cr_id].items.append((q, answer))
    return list(phases.values())


def required_missing(phases: list[PhaseQuestions], cr_id: int) -> list[Question]:
    """routing.unanswered_required() read off a cycle cycle_of() has read: the phase's required, active
    questions without an answer (or whose answer was cleared), in their order; no query."""
    return [
        q
        for phase in phases
        if phase.cr.pk == cr_id
        for q, answer in phase.items
        if q.required and q.active and (answer is None or answer.is_empty)
    ]

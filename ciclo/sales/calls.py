"""Recording a call from the follow-up list: the phase's answers and the note, in one transaction.

A call is a note (ciclo.tickets.routing.record_note): text, channel, next contact, "move on".
With the CRM option "use the service cycle in the contact" on, the current phase's questions
come with it and are saved first (ciclo.tickets.answering.save_answers), inside the same
transaction: the note's move then sees them, so a required question answered in the call no
longer blocks moving on, and a note refused (a stale ticket, a decision to choose, a required
question still blank) leaves none of the answers behind. With the option off the cycle is not
offered in the call: answers sent are refused, and those already given stay as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ciclo.configurator.models import CrmOptions, Question
from ciclo.sales.contacts import OutcomeInput
from ciclo.tickets.answering import AnswerInput, SaveResult, save_answers
from ciclo.tickets.errors import InvalidInput
from ciclo.tickets.models import Channel, Ticket
from ciclo.tickets.routing import NoteResult, record_note


def cycle_in_calls() -> bool:
    """Whether a call offers (and saves) the current phase's questions: the CRM option."""
    return bool(CrmOptions.current().use_cycle_in_followup)


class CallResult:
    def __init__(self, note: NoteResult, answers: SaveResult) -> None:
        self.note = note
        self.answers = answers

    @property
    def ticket(self) -> Ticket:
        return self.note.ticket


def _check_answers(ticket: Ticket, answers: list[AnswerInput]) -> None:
    """Answers in a call are the current phase's only (an earlier phase's are changed on the ticket page)."""
    ids = {a.question_id for a in answers}
    in_phase = set(
        Question.objects.of_service_type(ticket.service_type_id)
        .filter(pk__in=ids, cr_id=ticket.cr_id)
        .values_list("pk", flat=True)
    )
    errors = {
        str(qid): [_("Question %(id)s is not a question of this ticket's current phase.") % {"id": qid}]
        for qid in sorted(ids - in_phase)
    }
    if errors:
        raise InvalidInput(errors)


def record_call(
    ticket: Ticket,
    *,
    by: Any,
    text: str,
    channel: str = Channel.PHONE,
    next_contact_at: dt.datetime | None = None,
    next_contact_user: Any = None,
    move_on: bool = False,
    answers: Iterable[AnswerInput] = (),
    outcome: OutcomeInput | None = None,
    version: int | None = None,
    choices: Mapping[int, int] | None = None,
    override_reason: str = "",
    at: dt.datetime | None = None,
) -> CallResult:
    """Record a call: the current phase's `answers` (when the CRM option is on) and the note, together
    or not at all. `version` is the ticket's version when the user read it (StaleTicket if it changed);
    `outcome` is what a note that closes a sales contact records (won with its value, or lost with a
    reason). Raises the engine's errors (InvalidInput naming the field, NotAllowed, StaleTicket,
    DecisionRequired, RequiredUnanswered, AnswerConflict, PhaseLocked, TicketClosed)."""
    answers = list(answers)
    if answers and not cycle_in_calls():
        raise InvalidInput({"answers": [_("The cycle is not used in the follow-up: answer it on the ticket's page.")]})
    with transaction.atomic():
        saved = SaveResult()
        if answers:
            _check_answers(ticket, answers)
            saved = save_answers(ticket, answers, by=by, at=at)
        note = record_note(
            ticket,
            by=by,
            text=text,
            channel=channel,
            next_contact_at=next_contact_at,
            next_contact_user=next_contact_user,
            move_on=move_on,
            choices=choices,
            override_reason=override_reason,
            expected_version=version,
            outcome=outcome,
            at=at,
        )
    return CallResult(note, saved)

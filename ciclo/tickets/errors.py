"""The engine's refusals. Each carries a message for people and data for programs."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class TicketError(Exception):
    """A rule said no. Nothing was changed."""

    code = "ticket_error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidInput(TicketError):
    """Bad values; `errors` maps each field to its messages."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        text = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        super().__init__(text, errors=errors)


class NotAllowed(TicketError):
    code = "not_allowed"


class TicketClosed(TicketError):
    code = "ticket_closed"

    def __init__(self) -> None:
        super().__init__(_("The ticket is closed: it takes no move."))


class StaleTicket(TicketError):
    code = "stale_ticket"

    def __init__(self, current_version: int) -> None:
        super().__init__(
            _("Someone else changed this ticket since you opened it. Reload it and try again."),
            current_version=current_version,
        )


class DecisionRequired(TicketError):
    """The route meets a decision and no option was chosen for it."""

    code = "decision_required"

    def __init__(self, step_id: int, order: int, question: str, options: list[dict[str, Any]]) -> None:
        self.step_id = step_id
        self.question = question
        self.options = options
        labels = ", ".join(o["label"] for o in options)
        super().__init__(
            _("Choose an option for the decision “%(question)s”: %(options)s.")
            % {"question": question, "options": labels},
            step=step_id,
            order=order,
            question=question,
            options=options,
        )


class InvalidChoice(TicketError):
    code = "invalid_choice"


class RequiredUnanswered(TicketError):
    """Required questions of the current phase have no answer."""

    code = "required_unanswered"

    def __init__(self, questions: list[dict[str, Any]]) -> None:
        self.questions = questions
        names = "; ".join(f"{q['code']} {q['text']}" for q in questions)
        super().__init__(
            _("Answer the required questions of this phase before moving on: %(questions)s.") % {"questions": names},
            questions=questions,
        )


class PhaseLocked(TicketError):
    code = "phase_locked"


class AnswerConflict(TicketError):
    """Answers changed by someone else since they were read; nothing of the save was written."""

    code = "answer_conflict"

    def __init__(self, conflicts: list[dict[str, Any]]) -> None:
        self.conflicts = conflicts
        names = "; ".join(f"{c['code']} {c['text']} = “{c['current_display']}”" for c in conflicts)
        super().__init__(
            _("Someone else changed these answers since you read them: %(answers)s. Nothing was saved.")
            % {"answers": names},
            conflicts=conflicts,
        )


class PhaseNotUnlocked(TicketError):
    """Locking again a phase whose answers were never unlocked."""

    code = "phase_not_unlocked"

    def __init__(self, cr: Any) -> None:
        super().__init__(
            _("%(cr)s was never unlocked: there is nothing to lock again.") % {"cr": cr},
            cr={"id": cr.pk, "code": cr.code, "description": cr.description},
        )

"""The cycle as a web form: rendering answers into inputs and reading inputs back into engine values.

Numbers and money are shown in the user's language ("1.234,56" in pt-BR, "1,234.56" in English)
and read back by the engine's one parser (values.parse_decimal), as the API's are; dates and
times come from the browser's date and time inputs (ISO, HH:MM).

A choice question nobody answered shows its default options pre-selected as a *suggestion*:
the suggestion is saved only when the user changes that question or ticks its "save the
suggestion" box; saving other questions never saves it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import QueryDict
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ciclo.configurator.models import AnswerType, Option, Question
from ciclo.fields import decimal_text
from ciclo.http import parse_id, parse_int
from ciclo.tickets.answering import AnswerInput, PhaseQuestions
from ciclo.tickets.models import Answer
from ciclo.tickets.values import NumberRefused, format_number, parse_decimal


def _number_signature(text: str) -> str:
    """Typed numbers compare by value: "1.234,50" and "1234,5" are the same answer."""
    try:
        return decimal_text(parse_decimal(text)) or ""
    except NumberRefused:
        return text


def _form_state(question: Question, answer: Answer | None) -> dict[str, Any]:
    """What the inputs show for this question: {"value": str} or {"choices": {option_id: complement}}."""
    t = question.answer_type
    if question.is_choice:
        if answer is None:
            return {"choices": {o.pk: "" for o in question.options.all() if o.active and o.checked_by_default}}
        if answer.is_empty:
            return {"choices": {}}
        return {"choices": {c.option_id: c.complement for c in answer.choices.all()}}
    if answer is None or answer.is_empty:
        return {"value": ""}
    if t in (AnswerType.SHORT_TEXT, AnswerType.LONG_TEXT):
        return {"value": answer.value_text}
    if t in (AnswerType.NUMBER, AnswerType.MONEY):
        return {"value": "" if answer.value_number is None else format_number(answer.value_number, t)}
    if t == AnswerType.DATE:
        return {"value": answer.value_date.isoformat() if answer.value_date else ""}
    return {"value": answer.value_time.strftime("%H:%M") if answer.value_time else ""}


def _signature(question: Question, state: dict[str, Any]) -> str:
    """A comparable text of a form state: an untouched question is not sent to the engine."""
    if question.is_choice:
        return json.dumps(sorted((int(k), v.strip()) for k, v in state["choices"].items()))
    value = state["value"].strip()
    if question.answer_type in (AnswerType.NUMBER, AnswerType.MONEY):
        value = _number_signature(value)
    return value


def shown_answer(answer: Answer | None) -> str:
    """A stored answer as the user reads it: R$ 1.234,56, dd/mm/yyyy in pt-BR, HH:MM, option labels."""
    if answer is None or answer.is_empty:
        return ""
    t = answer.answer_type
    if t in AnswerType.choice_types():
        return "; ".join(f"{c.label} ({c.complement})" if c.complement else c.label for c in answer.choices.all())
    if t in (AnswerType.NUMBER, AnswerType.MONEY):
        return "" if answer.value_number is None else format_number(answer.value_number, t, currency=True)
    if t == AnswerType.DATE:
        return formats.date_format(answer.value_date, "SHORT_DATE_FORMAT") if answer.value_date else ""
    if t == AnswerType.TIME:
        return answer.value_time.strftime("%H:%M") if answer.value_time else ""
    return answer.value_text


def person_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return ""
    full_name = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return full_name or user.get_username()


@dataclass
class Conflict:
    """Someone else's answer, saved since the user read the question: shown for the user to settle."""

    value: str
    by: str
    at: str


def conflict_of(answer: Answer | None) -> Conflict:
    if answer is None:
        return Conflict(value="", by="", at="")
    at = formats.date_format(timezone.localtime(answer.answered_at), "SHORT_DATETIME_FORMAT")
    return Conflict(value=shown_answer(answer), by=person_name(answer.answered_by), at=at)


@dataclass
class QuestionRow:
    question: Question
    answer: Answer | None
    state: dict[str, Any]
    version: int
    original: str
    errors: list[str] = field(default_factory=list)
    conflict: Conflict | None = None
    needs_choice: bool = False  # a conflict shown, and the user chose neither theirs nor mine
    saved: bool = False

    @property
    def suggested(self) -> bool:
        """Unanswered, with default options shown pre-selected: a suggestion, not an answer."""
        return self.answer is None and bool(self.suggestion)

    @property
    def suggestion(self) -> set[int]:
        if self.answer is not None or not self.question.is_choice:
            return set()
        return {o.pk for o in self.question.options.all() if o.active and o.checked_by_default}

    @property
    def options(self) -> list[Option]:
        chosen = self.state.get("choices", {})
        return [o for o in self.question.options.all() if o.active or o.pk in chosen]

    @property
    def option_states(self) -> list[dict[str, Any]]:
        chosen = self.state.get("choices", {})
        suggestion = self.suggestion
        return [
            {
                "option": o,
                "checked": o.pk in chosen,
                "complement": chosen.get(o.pk, ""),
                "suggested": o.pk in suggestion,
            }
            for o in self.options
        ]

    @property
    def value(self) -> str:
        return str(self.state.get("value", ""))

    @property
    def label(self) -> str:
        return f"{self.question.code} {self.question.text}"


@dataclass
class PhaseForm:
    phase: PhaseQuestions
    rows: list[QuestionRow]

    @property
    def editable(self) -> bool:
        return self.phase.state in ("current", "unlocked")


def build(phases: list[PhaseQuestions]) -> list[PhaseForm]:
    forms = []
    for phase in phases:
        rows = []
        for question, answer in phase.items:
            state = _form_state(question, answer)
            # A suggestion is what the untouched form shows: sent only when changed or confirmed.
            original = _signature(question, state)
            rows.append(QuestionRow(question, answer, state, answer.version if answer else 0, original))
        forms.append(PhaseForm(phase, rows))
    return forms


def read(forms: list[PhaseForm], data: QueryDict) -> list[AnswerInput]:
    """Put the posted values into the rows and return the inputs for the questions to save.

    A question is saved when its value differs from what the form showed, when its
    suggestion was confirmed, or when the user settled its conflict with "use mine".
    "Keep theirs" leaves it out. A conflict shown and settled neither way marks its row
    `needs_choice`: the caller must then save nothing.
    """
    inputs: list[AnswerInput] = []
    for form in forms:
        if not form.editable:
            continue
        for row in form.rows:
            q = row.question
            key = f"q-{q.pk}"
            if f"shown-{q.pk}" not in data:
                continue
            version = parse_int(data.get(f"v-{q.pk}", ""))
            if version is None:
                version = row.version
            original = data.get(f"o-{q.pk}", row.original)
            if q.is_choice:
                chosen = {}
                for raw in data.getlist(key):
                    option = parse_id(raw)
                    if option is not None:
                        chosen[option] = data.get(f"c-{q.pk}-{raw}", "")
                row.state = {"choices": chosen}
                value: Any = [{"option": pk, "complement": comp} for pk, comp in chosen.items()]
            else:
                value = data.get(key, "")
                row.state = {"value": value}
            row.version = version
            row.original = original
            resolve = data.get(f"resolve-{q.pk}")
            if f"conflict-{q.pk}" in data and resolve not in ("theirs", "mine"):
                row.needs_choice = True
                continue
            if resolve == "theirs":
                continue
            changed = _signature(q, row.state) != original
            confirmed = row.suggested and data.get(f"confirm-{q.pk}") == "1"
            if changed or confirmed or resolve == "mine":
                inputs.append(AnswerInput(q.pk, value, version))
    return inputs


def unsettled(forms: list[PhaseForm]) -> list[QuestionRow]:
    """Rows whose conflict the user has not settled: shown again, with the current answer."""
    rows = [row for form in forms for row in form.rows if row.needs_choice]
    for row in rows:
        row.conflict = conflict_of(row.answer)
        row.version = row.answer.version if row.answer else 0
        row.errors = [_("Choose “Keep theirs” or “Use mine”.")]
    return rows

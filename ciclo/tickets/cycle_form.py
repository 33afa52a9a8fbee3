"""The cycle as a web form: rendering answers into inputs and reading inputs back into engine values.

Numbers and money are typed in the user's locale ("1.234,56" in pt-BR, "1,234.56" in English);
dates and times come from the browser's date and time inputs (ISO, HH:MM).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import QueryDict
from django.utils import formats

from ciclo.configurator.models import AnswerType, Option, Question
from ciclo.tickets.answering import AnswerInput, PhaseQuestions
from ciclo.tickets.models import Answer


def localized_number(value: Decimal | None, decimals: int | None = None) -> str:
    if value is None:
        return ""
    if decimals is None:
        text = f"{value.normalize():f}"
        decimals = len(text.split(".")[1]) if "." in text else 0
    return formats.number_format(value, decimals, use_l10n=True, force_grouping=decimals == 2)


def delocalize_number(text: str) -> str:
    """The user's "1.234,56" (pt-BR) or "1,234.56" (en) as "1234.56"; other text is left for the engine to refuse."""
    text = text.strip().replace("R$", "").replace("\xa0", "").replace(" ", "")
    decimal_sep = str(formats.get_format("DECIMAL_SEPARATOR"))
    thousand_sep = str(formats.get_format("THOUSAND_SEPARATOR"))
    if thousand_sep and thousand_sep != decimal_sep:
        text = text.replace(thousand_sep, "")
    return text.replace(decimal_sep, ".")


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
    if t == AnswerType.MONEY:
        return {"value": localized_number(answer.value_number, 2)}
    if t == AnswerType.NUMBER:
        return {"value": localized_number(answer.value_number)}
    if t == AnswerType.DATE:
        return {"value": answer.value_date.isoformat() if answer.value_date else ""}
    return {"value": answer.value_time.strftime("%H:%M") if answer.value_time else ""}


def _signature(question: Question, state: dict[str, Any]) -> str:
    """A comparable text of a form state: an untouched question is not sent to the engine."""
    if question.is_choice:
        return json.dumps(sorted((int(k), v.strip()) for k, v in state["choices"].items()))
    value = state["value"].strip()
    if question.answer_type in (AnswerType.NUMBER, AnswerType.MONEY):
        value = delocalize_number(value)
    return value


@dataclass
class QuestionRow:
    question: Question
    answer: Answer | None
    state: dict[str, Any]
    version: int
    original: str
    errors: list[str] = field(default_factory=list)
    conflict: dict[str, Any] | None = None
    saved: bool = False

    @property
    def options(self) -> list[Option]:
        chosen = self.state.get("choices", {})
        return [o for o in self.question.options.all() if o.active or o.pk in chosen]

    @property
    def option_states(self) -> list[dict[str, Any]]:
        chosen = self.state.get("choices", {})
        return [{"option": o, "checked": o.pk in chosen, "complement": chosen.get(o.pk, "")} for o in self.options]

    @property
    def value(self) -> str:
        return str(self.state.get("value", ""))


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
            original = _signature(question, _form_state(question, answer) if answer else _blank(question))
            rows.append(QuestionRow(question, answer, state, answer.version if answer else 0, original))
        forms.append(PhaseForm(phase, rows))
    return forms


def _blank(question: Question) -> dict[str, Any]:
    return {"choices": {}} if question.is_choice else {"value": ""}


def read(forms: list[PhaseForm], data: QueryDict) -> list[AnswerInput]:
    """Put the posted values into the rows and return the inputs for the questions that were changed.

    A row whose conflict the user settled with "keep theirs" is not sent.
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
            try:
                version = int(data.get(f"v-{q.pk}", row.version))
                original = data.get(f"o-{q.pk}", row.original)
            except ValueError:
                version, original = row.version, row.original
            if q.is_choice:
                chosen = {}
                for raw in data.getlist(key):
                    if raw.isdigit():
                        chosen[int(raw)] = data.get(f"c-{q.pk}-{raw}", "")
                row.state = {"choices": chosen}
                value: Any = [{"option": pk, "complement": comp} for pk, comp in chosen.items()]
            else:
                text = data.get(key, "")
                row.state = {"value": text}
                value = delocalize_number(text) if q.answer_type in (AnswerType.NUMBER, AnswerType.MONEY) else text
            row.version = version
            row.original = original
            if data.get(f"resolve-{q.pk}") == "theirs":
                continue
            if _signature(q, row.state) == original and data.get(f"resolve-{q.pk}") != "mine":
                continue
            inputs.append(AnswerInput(q.pk, value, version))
    return inputs

"""Answer values: each of the 8 answer types parsed and checked by its rule."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from ciclo.configurator.models import AnswerType, Option, Question

SHORT_TEXT_MAX = 100
LONG_TEXT_MAX = 20000
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NUMBER_LIMIT = Decimal("100000000000000")  # 14 integer digits: what the column holds


@dataclass
class Choice:
    option: Option
    complement: str = ""


@dataclass
class Value:
    """A checked value, ready to store; `empty` means the answer is cleared."""

    text: str = ""
    number: Decimal | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    choices: list[Choice] = field(default_factory=list)
    empty: bool = False

    def as_json(self, answer_type: str) -> Any:
        if self.empty:
            return None
        return json_of(
            answer_type,
            self.text,
            self.number,
            self.date,
            self.time,
            [(c.option.pk, c.option.label, c.complement) for c in self.choices],
        )


def json_of(
    answer_type: str,
    text: str,
    number: Decimal | None,
    date: dt.date | None,
    time: dt.time | None,
    choices: list[tuple[int, str, str]],
) -> Any:
    """The value as JSON: what history rows and the API carry."""
    if answer_type in (AnswerType.SHORT_TEXT, AnswerType.LONG_TEXT):
        return text
    if answer_type == AnswerType.MONEY:
        return None if number is None else f"{number:.2f}"
    if answer_type == AnswerType.NUMBER:
        return None if number is None else _plain(number)
    if answer_type == AnswerType.DATE:
        return None if date is None else date.isoformat()
    if answer_type == AnswerType.TIME:
        return None if time is None else time.strftime("%H:%M")
    return [{"option": pk, "label": label, "complement": comp} for pk, label, comp in choices]


def _plain(number: Decimal) -> str:
    text = f"{number.normalize():f}"
    return text


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, (list, tuple)) and not raw)


def parse_decimal(raw: Any) -> Decimal:
    """A number given as int, Decimal or text: "1234.5", "1234,5" or pt-BR "1.234,50"."""
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, (int, Decimal, float)):
        value = Decimal(str(raw)) if isinstance(raw, float) else Decimal(raw)
        if not value.is_finite():
            raise ValueError
        return value
    if not isinstance(raw, str):
        raise ValueError
    text = raw.strip().replace(" ", "").removeprefix("R$")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError from exc
    if not value.is_finite():
        raise ValueError
    return value


def parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if not isinstance(raw, str):
        raise ValueError
    text = raw.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError


def check_value(question: Question, raw: Any, options: dict[int, Option]) -> tuple[Value | None, list[str]]:
    """Parse `raw` for `question`; (value, []) when it keeps the rule, (None, messages) when not.

    `options` are the question's options by id. Choice values are a list of option
    ids or of {"option": id, "complement": text}; one id is taken for single choice.
    """
    t = question.answer_type
    if _is_blank(raw):
        return Value(empty=True), []
    if t in (AnswerType.SHORT_TEXT, AnswerType.LONG_TEXT):
        if not isinstance(raw, (str, int, Decimal)) or isinstance(raw, bool):
            return None, [_("Give a text.")]
        text = str(raw).strip()
        limit = SHORT_TEXT_MAX if t == AnswerType.SHORT_TEXT else LONG_TEXT_MAX
        if len(text) > limit:
            return None, [
                _("Use at most %(limit)s characters (this has %(count)s).") % {"limit": limit, "count": len(text)}
            ]
        return Value(text=text), []
    if t in (AnswerType.NUMBER, AnswerType.MONEY):
        try:
            number = parse_decimal(raw)
        except ValueError:
            if t == AnswerType.MONEY:
                return None, [_("Give an amount in reais, such as 1.234,56.")]
            return None, [_("Give a number, such as 12 or 3,5.")]
        if abs(number) >= _NUMBER_LIMIT:
            return None, [_("The number is too large.")]
        exponent = number.normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if t == AnswerType.MONEY and decimals > 2:
            return None, [_("An amount of money has at most two decimals.")]
        if t == AnswerType.NUMBER and decimals > 4:
            return None, [_("A number has at most four decimals.")]
        errors = []
        if question.min_value is not None and number < question.min_value:
            errors.append(_("The smallest value allowed is %(min)s.") % {"min": _plain(question.min_value)})
        if question.max_value is not None and number > question.max_value:
            errors.append(_("The largest value allowed is %(max)s.") % {"max": _plain(question.max_value)})
        if errors:
            return None, errors
        if t == AnswerType.MONEY:
            number = number.quantize(Decimal("0.01"))
        return Value(number=number), []
    if t == AnswerType.DATE:
        try:
            return Value(date=parse_date(raw)), []
        except (ValueError, OverflowError):
            return None, [_("Give a date as dd/mm/yyyy.")]
    if t == AnswerType.TIME:
        if isinstance(raw, dt.time):
            return Value(time=raw.replace(second=0, microsecond=0)), []
        match = _TIME.match(raw.strip()) if isinstance(raw, str) else None
        if not match:
            return None, [_("Give a time as HH:MM, from 00:00 to 23:59.")]
        return Value(time=dt.time(int(match[1]), int(match[2]))), []
    return _check_choices(question, raw, options)


def _check_choices(question: Question, raw: Any, options: dict[int, Option]) -> tuple[Value | None, list[str]]:
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    choices: list[Choice] = []
    errors: list[str] = []
    seen: set[int] = set()
    for item in items:
        if isinstance(item, dict):
            option_id, complement = item.get("option"), item.get("complement") or ""
        else:
            option_id, complement = item, ""
        try:
            pk = int(option_id)  # type: ignore[arg-type]
            if isinstance(option_id, bool):
                raise TypeError
        except (TypeError, ValueError):
            errors.append(_("“%(value)s” is not an option.") % {"value": option_id})
            continue
        option = options.get(pk)
        if option is None:
            errors.append(_("Option %(option)s is not an option of this question.") % {"option": pk})
            continue
        if pk in seen:
            errors.append(_("“%(label)s” is chosen twice.") % {"label": option.label})
            continue
        seen.add(pk)
        if not isinstance(complement, str):
            errors.append(_("The complement of “%(label)s” must be a text.") % {"label": option.label})
            continue
        complement = complement.strip()
        if complement and not option.asks_complement:
            errors.append(_("“%(label)s” takes no complement.") % {"label": option.label})
            continue
        if len(complement) > SHORT_TEXT_MAX * 10:
            errors.append(_("The complement of “%(label)s” is too long.") % {"label": option.label})
            continue
        choices.append(Choice(option=option, complement=complement))
    if errors:
        return None, errors
    if question.answer_type == AnswerType.SINGLE_CHOICE and len(choices) != 1:
        return None, [_("Choose exactly one option.")]
    return Value(choices=choices), []

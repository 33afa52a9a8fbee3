"""Answer values: each of the 8 answer types parsed and checked by its rule."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import TextChoices
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from ciclo.configurator.models import AnswerType, Option, Question
from ciclo.fields import decimal_text

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
    return decimal_text(number) or "0"


def _is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, (list, tuple)) and not raw)


class NumberRule(TextChoices):
    """Why a typed number was refused."""

    FORMAT = "format", _l("not a number")
    EXPONENT = "exponent", _l("an exponent")
    NOT_FINITE = "not_finite", _l("not a finite number")
    GROUPING = "grouping", _l("thousands separators out of place")
    AMBIGUOUS = "ambiguous", _l("could be read two ways")


class NumberRefused(ValueError):
    """A number that `parse_decimal` refuses, with the rule it broke and the text given."""

    def __init__(self, rule: NumberRule, text: str = "", parts: tuple[str, str] = ("", "")) -> None:
        super().__init__(rule.value)
        self.rule = rule
        self.text = text
        self.parts = parts  # (signed whole part, fraction) of an ambiguous number


_MARKS = re.compile(r"[0-9.,]+")
_EXPONENT = re.compile(r"[0-9.,]e[+-]?[0-9]", re.IGNORECASE)
_NOT_FINITE = {"nan", "snan", "inf", "infinity"}
_GROUPED = {mark: re.compile(r"[0-9]{1,3}(?:" + re.escape(mark) + r"[0-9]{3})*") for mark in ".,"}
# One dot between 1-3 digits and exactly three: 1234 to a Brazilian, 1.234 to a machine or an English reader.
_DOT_THOUSANDS_OR_DECIMAL = re.compile(r"[1-9][0-9]{0,2}\.[0-9]{3}")


def parse_decimal(raw: Any) -> Decimal:
    """A number as Ciclo reads it everywhere (web forms in any language, the API, imports).

    JSON numbers (int, float) and Decimals are taken as they are. Text:
    - an ``R$`` prefix, spaces around it and a leading sign are allowed;
    - where both ``.`` and ``,`` appear, the last is the decimal mark and the other
      groups thousands: ``1.234,56`` and ``1,234.56`` are both 1234.56;
    - a mark that appears once alone is the decimal mark: ``1234,56``, ``1234.56``,
      ``1,5``, ``12.5``; a mark that appears more than once groups thousands:
      ``1.234.567`` is 1234567;
    - thousands groups are well formed: 1 to 3 digits, then groups of exactly three;
    - a single dot with 1 to 3 digits before it and exactly three after (``1.234``)
      could be 1234 or 1.234: refused (type ``1234`` or ``1,234``);
    - nothing else: no exponent (``1e5``), NaN, infinity, letters or spaces inside.
    Raises NumberRefused naming the rule broken.
    """
    if isinstance(raw, bool):
        raise NumberRefused(NumberRule.FORMAT, str(raw))
    if isinstance(raw, (int, float, Decimal)):
        if isinstance(raw, float):
            if not math.isfinite(raw):
                raise NumberRefused(NumberRule.NOT_FINITE, repr(raw))
            return Decimal(repr(raw))
        value = Decimal(raw)
        if not value.is_finite():
            raise NumberRefused(NumberRule.NOT_FINITE, str(raw))
        return value
    if not isinstance(raw, str):
        raise NumberRefused(NumberRule.FORMAT)
    text = raw.replace("\xa0", " ").strip()
    sign = ""
    if text[:1] in ("-", "+"):
        sign, text = text[0], text[1:].lstrip()
    if text[:2].upper() == "R$":
        text = text[2:].lstrip()
        if not sign and text[:1] in ("-", "+"):
            sign, text = text[0], text[1:]
    if not _MARKS.fullmatch(text):
        if text.lower() in _NOT_FINITE:
            raise NumberRefused(NumberRule.NOT_FINITE, raw)
        if _EXPONENT.search(text):
            raise NumberRefused(NumberRule.EXPONENT, raw)
        raise NumberRefused(NumberRule.FORMAT, raw)
    whole, fraction, group = text, "", ""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        mark = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if mark == "." else "."
        if text.count(mark) > 1:
            raise NumberRefused(NumberRule.GROUPING, raw)
        whole, fraction = text.split(mark)
    elif dots == 1 or commas == 1:
        mark = "." if dots else ","
        whole, fraction = text.split(mark)
        if mark == "." and _DOT_THOUSANDS_OR_DECIMAL.fullmatch(text):
            raise NumberRefused(NumberRule.AMBIGUOUS, raw, (sign.replace("+", "") + whole, fraction))
        if not fraction:
            raise NumberRefused(NumberRule.FORMAT, raw)
    elif dots or commas:
        group = "." if dots else ","
    if group and not _GROUPED[group].fullmatch(whole):
        raise NumberRefused(NumberRule.GROUPING, raw)
    digits = whole.replace(group, "") if group else whole
    if not digits and not fraction:
        raise NumberRefused(NumberRule.FORMAT, raw)
    return Decimal(f"{sign}{digits or '0'}.{fraction}" if fraction else f"{sign}{digits}")


def separators() -> tuple[str, str]:
    """The active language's decimal mark and thousands separator."""
    return str(formats.get_format("DECIMAL_SEPARATOR")), str(formats.get_format("THOUSAND_SEPARATOR"))


def format_number(value: Decimal, answer_type: str = AnswerType.NUMBER, *, currency: bool = False) -> str:
    """A stored number as the user reads it, in the active language; `parse_decimal` reads it back.

    Money has two decimals and groups thousands (1.234,56 in pt-BR, 1,234.56 in English),
    with "R$ " before it when `currency`; other numbers keep their decimals and do not group.
    """
    decimal_mark, group = separators()
    if answer_type == AnswerType.MONEY:
        quantized = value.quantize(Decimal("0.01"))
        whole, _dot, cents = f"{abs(quantized):f}".partition(".")
        grouped = f"{int(whole):,}".replace(",", group)
        text = f"{'-' if quantized < 0 else ''}{grouped}{decimal_mark}{cents}"
        return f"R$ {text}" if currency else text
    text = f"{value.normalize():f}"
    if "." in text:
        whole, fraction = text.split(".")
        if decimal_mark == "." and _DOT_THOUSANDS_OR_DECIMAL.fullmatch(f"{whole.lstrip('-')}.{fraction}"):
            fraction += "0"  # "1.2340": not to be read as one thousand two hundred thirty-four
        text = f"{whole}{decimal_mark}{fraction}"
    return text


def number_examples(answer_type: str) -> dict[str, str]:
    """What to type, in the active language: {"plain": "1234,56", "grouped": "1.234,56"}."""
    decimal_mark, group = separators()
    cents = "56" if answer_type == AnswerType.MONEY else "5"
    return {"plain": f"1234{decimal_mark}{cents}", "grouped": f"1{group}234{decimal_mark}{cents}"}


def number_message(refused: NumberRefused, answer_type: str) -> str:
    """The refusal in the user's language, showing what to type."""
    examples = number_examples(answer_type)
    if refused.rule == NumberRule.AMBIGUOUS:
        whole, fraction = refused.parts
        decimal_mark, _group = separators()
        return _(
            "“%(text)s” can be read two ways: type %(whole)s for the whole number, or %(fraction)s for the decimal one."
        ) % {
            "text": refused.text.strip(),
            "whole": whole + fraction,
            "fraction": f"{whole}{decimal_mark}{fraction}{'0' if decimal_mark == '.' else ''}",
        }
    if refused.rule == NumberRule.EXPONENT:
        message = _("Write the number in full, without an exponent: type %(plain)s or %(grouped)s.")
    elif refused.rule == NumberRule.NOT_FINITE:
        message = _("Give a real number: type %(plain)s or %(grouped)s.")
    elif refused.rule == NumberRule.GROUPING:
        message = _(
            "The thousands separators are out of place (groups of three digits): type %(plain)s or %(grouped)s."
        )
    elif answer_type == AnswerType.MONEY:
        message = _("Give an amount in reais: type %(plain)s or %(grouped)s.")
    else:
        message = _("Give a number: type %(plain)s or %(grouped)s.")
    return message % examples


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
        except NumberRefused as refused:
            return None, [number_message(refused, t)]
        if abs(number) >= _NUMBER_LIMIT:
            return None, [_("The number is too large: at most 14 digits before the decimal mark.")]
        exponent = number.normalize().as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if t == AnswerType.MONEY and decimals > 2:
            return None, [
                _("An amount of money has at most two decimals: type %(plain)s or %(grouped)s.") % number_examples(t)
            ]
        if t == AnswerType.NUMBER and decimals > 4:
            return None, [_("A number has at most four decimals.")]
        errors = []
        if question.min_value is not None and number < question.min_value:
            errors.append(_("The smallest value allowed is %(min)s.") % {"min": format_number(question.min_value, t)})
        if question.max_value is not None and number > question.max_value:
            errors.append(_("The largest value allowed is %(max)s.") % {"max": format_number(question.max_value, t)})
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

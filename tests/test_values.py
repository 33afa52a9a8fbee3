"""The one number parser (values.parse_decimal) and the display it reads back, in both languages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from ciclo.configurator.models import AnswerType
from ciclo.tickets.values import NumberRefused, NumberRule, format_number, parse_decimal

ACCEPTED = [
    ("1.234,56", "1234.56"),
    ("1234,56", "1234.56"),
    ("1234.56", "1234.56"),
    ("1,234.56", "1234.56"),
    ("1.5", "1.5"),
    ("12.5", "12.5"),
    ("1,5", "1.5"),
    ("0.123", "0.123"),  # no thousands reading: a group never follows a lone 0
    ("1234.567", "1234.567"),  # four digits before the dot: not a thousands group
    ("1.234.567,89", "1234567.89"),
    ("1,234,567.89", "1234567.89"),
    ("1.234.567", "1234567"),
    ("1,234", "1.234"),  # a comma alone is the decimal comma
    ("R$ 1.234,56", "1234.56"),
    ("R$1234,5", "1234.5"),
    ("  -R$ 10,00 ", "-10.00"),
    ("R$ -10,00", "-10.00"),
    ("-1.234,5", "-1234.5"),
    ("+7", "7"),
    (",5", "0.5"),
    ("0", "0"),
    ("R$\xa01.234,00", "1234.00"),  # as a browser may paste it
]

REFUSED = [
    ("1.234", NumberRule.AMBIGUOUS),
    ("-1.234", NumberRule.AMBIGUOUS),
    ("R$ 999.000", NumberRule.AMBIGUOUS),
    ("1.23,4", NumberRule.GROUPING),
    ("12.34.56", NumberRule.GROUPING),
    ("1.2.3", NumberRule.GROUPING),
    ("R$ 1,2,3", NumberRule.GROUPING),
    ("1,23.4", NumberRule.GROUPING),
    ("1.234,5,6", NumberRule.GROUPING),
    ("1e5", NumberRule.EXPONENT),
    ("1E-3", NumberRule.EXPONENT),
    ("2,5e3", NumberRule.EXPONENT),
    ("NaN", NumberRule.NOT_FINITE),
    ("-Infinity", NumberRule.NOT_FINITE),
    ("inf", NumberRule.NOT_FINITE),
    ("12a", NumberRule.FORMAT),
    ("1 234,56", NumberRule.FORMAT),
    ("dez reais", NumberRule.FORMAT),
    ("1234,", NumberRule.FORMAT),
    ("--5", NumberRule.FORMAT),
    ("R$", NumberRule.FORMAT),
    (",", NumberRule.FORMAT),
    ("0x10", NumberRule.FORMAT),
    ("١٢٣", NumberRule.FORMAT),  # digits of another script
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
@pytest.mark.parametrize("language", ["pt-br", "en"])
def test_it_reads_the_same_value_in_either_language(text, expected, language):
    with translation.override(language):
        assert parse_decimal(text) == Decimal(expected)
        assert str(parse_decimal(text)) == expected


@pytest.mark.parametrize(("text", "rule"), REFUSED)
@pytest.mark.parametrize("language", ["pt-br", "en"])
def test_it_refuses_what_could_be_misread(text, rule, language):
    with translation.override(language), pytest.raises(NumberRefused) as refused:
        parse_decimal(text)
    assert refused.value.rule == rule


def test_json_numbers_are_taken_as_they_are():
    assert parse_decimal(1234) == Decimal(1234)
    assert parse_decimal(1234.56) == Decimal("1234.56")
    assert parse_decimal(1e5) == Decimal("100000.0")  # a JSON number, not text: no exponent to misread
    assert parse_decimal(Decimal("1.234")) == Decimal("1.234")
    for bad in (float("nan"), float("inf"), Decimal("NaN"), True, None, [1]):
        with pytest.raises(NumberRefused):
            parse_decimal(bad)


VALUES = ["0", "1", "0.5", "1.234", "12.5", "1234.5", "1234.567", "999999.1234", "-1.234", "-1234.5", "1000000"]


@pytest.mark.parametrize("language", ["pt-br", "en"])
@pytest.mark.parametrize("value", VALUES)
def test_every_number_shown_is_read_back_as_itself(language, value):
    with translation.override(language):
        for answer_type in (AnswerType.NUMBER, AnswerType.MONEY):
            number = Decimal(value) if answer_type == AnswerType.NUMBER else Decimal(value).quantize(Decimal("0.01"))
            for currency in (False, True):
                shown = format_number(number, answer_type, currency=currency)
                assert parse_decimal(shown) == number, (answer_type, shown)


def test_money_is_shown_as_a_brazilian_and_an_english_reader_read_it():
    with translation.override("pt-br"):
        assert format_number(Decimal("1234.56"), AnswerType.MONEY, currency=True) == "R$ 1.234,56"
        assert format_number(Decimal("1234567"), AnswerType.MONEY) == "1.234.567,00"
        assert format_number(Decimal("1234.5"), AnswerType.NUMBER) == "1234,5"
        assert format_number(Decimal("1.234"), AnswerType.NUMBER) == "1,234"
    with translation.override("en"):
        assert format_number(Decimal("1234.56"), AnswerType.MONEY, currency=True) == "R$ 1,234.56"
        assert format_number(Decimal("-0.5"), AnswerType.MONEY) == "-0.50"
        assert format_number(Decimal("1.234"), AnswerType.NUMBER) == "1.2340"  # "1.234" would be refused

"""CPF and CNPJ: Brazil's tax ids, validated by their check digits.

A CPF is 11 digits. A CNPJ is 14 characters: since July 2026 the first twelve may be
letters as well as digits (`12.ABC.345/01DE-35`); the last two are always check digits,
computed with each character counting as its ASCII code minus 48 (so "0"–"9" count as
0–9 and "A" as 17). Numeric CNPJs are the special case with no letters and stay valid.

Both are stored normalized: upper-case, without the mask (`normalize_document`).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# What a typed CPF/CNPJ may carry around its characters: the mask, and spaces.
MASK_CHARACTERS = ".-/ "
_CPF = re.compile(r"[0-9]{11}")
_CNPJ = re.compile(r"[0-9A-Z]{12}[0-9]{2}")


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch in "0123456789")


def normalize_document(value: str) -> str:
    """A CPF/CNPJ as stored: without the mask, upper-case (other characters are kept for the validator)."""
    return "".join(ch for ch in value.strip() if ch not in MASK_CHARACTERS).upper()


def _value(ch: str) -> int:
    return ord(ch) - 48


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    remainder = sum(n * w for n, w in zip(numbers, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_cpf_shaped(value: str) -> bool:
    return _CPF.fullmatch(normalize_document(value)) is not None


def is_cnpj_shaped(value: str) -> bool:
    return _CNPJ.fullmatch(normalize_document(value)) is not None


def is_valid_cpf(value: str) -> bool:
    number = normalize_document(value)
    if not _CPF.fullmatch(number) or number == number[0] * 11:
        return False
    return cpf_check_digits(number[:9]) == number


_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, *_CNPJ_W1]


def is_valid_cnpj(value: str) -> bool:
    number = normalize_document(value)
    if not _CNPJ.fullmatch(number) or number == number[0] * 14:
        return False
    return cnpj_check_digits(number[:12]) == number


def cpf_check_digits(base9: str) -> str:
    nums = [int(d) for d in base9]
    first = _check_digit(nums, list(range(10, 1, -1)))
    second = _check_digit([*nums, first], list(range(11, 1, -1)))
    return f"{base9}{first}{second}"


def cnpj_check_digits(base12: str) -> str:
    """The 14-character CNPJ of its first twelve (digits or letters, either case)."""
    base12 = base12.upper()
    nums = [_value(ch) for ch in base12]
    first = _check_digit(nums, _CNPJ_W1)
    second = _check_digit([*nums, first], _CNPJ_W2)
    return f"{base12}{first}{second}"


def format_document(value: str) -> str:
    """With its mask: 529.982.247-25, 11.222.333/0001-81, 12.ABC.345/01DE-35; anything else as it is."""
    number = normalize_document(value)
    if _CPF.fullmatch(number):
        return f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}"
    if _CNPJ.fullmatch(number):
        return f"{number[:2]}.{number[2:5]}.{number[5:8]}/{number[8:12]}-{number[12:]}"
    return value


def validate_cpf(value: str) -> None:
    if not is_cpf_shaped(value):
        raise ValidationError(
            _("“%(value)s” is not a CPF: a CPF has 11 digits."), code="invalid_cpf", params={"value": value}
        )
    if not is_valid_cpf(value):
        raise ValidationError(
            _("The CPF check digits are wrong (“%(value)s”)."), code="invalid_cpf", params={"value": value}
        )


def validate_cnpj(value: str) -> None:
    if not is_cnpj_shaped(value):
        raise ValidationError(
            _("“%(value)s” is not a CNPJ: a CNPJ has 12 letters or digits and 2 check digits."),
            code="invalid_cnpj",
            params={"value": value},
        )
    if not is_valid_cnpj(value):
        raise ValidationError(
            _("The CNPJ check digits are wrong (“%(value)s”)."), code="invalid_cnpj", params={"value": value}
        )


def validate_document(value: str) -> None:
    """A CPF (11 digits) or a CNPJ (12 letters or digits and 2 check digits), mask allowed."""
    number = normalize_document(value)
    if len(number) == 11 and number.isascii() and number.isdigit():
        validate_cpf(value)
    elif len(number) == 14:
        validate_cnpj(value)
    else:
        raise ValidationError(
            _(
                "“%(value)s” is neither a CPF (11 digits) nor a CNPJ "
                "(14 characters: 12 letters or digits and 2 check digits)."
            ),
            code="invalid_document",
            params={"value": value},
        )


def document_kind_matches(document: str, legal: bool) -> bool:
    """A legal entity carries a CNPJ (14 characters), an individual a CPF (11)."""
    return len(normalize_document(document)) == (14 if legal else 11)

"""CPF and CNPJ: Brazil's tax ids, validated by their check digits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def digits(value: str) -> str:
    return "".join(ch for ch in value if ch in "0123456789")


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    remainder = sum(n * w for n, w in zip(numbers, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def is_valid_cpf(value: str) -> bool:
    number = digits(value)
    if len(number) != 11 or number == number[0] * 11:
        return False
    nums = [int(d) for d in number]
    first = _check_digit(nums[:9], list(range(10, 1, -1)))
    second = _check_digit(nums[:10], list(range(11, 1, -1)))
    return nums[9] == first and nums[10] == second


_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, *_CNPJ_W1]


def is_valid_cnpj(value: str) -> bool:
    number = digits(value)
    if len(number) != 14 or number == number[0] * 14:
        return False
    nums = [int(d) for d in number]
    first = _check_digit(nums[:12], _CNPJ_W1)
    second = _check_digit(nums[:13], _CNPJ_W2)
    return nums[12] == first and nums[13] == second


def cpf_check_digits(base9: str) -> str:
    nums = [int(d) for d in base9]
    first = _check_digit(nums, list(range(10, 1, -1)))
    second = _check_digit([*nums, first], list(range(11, 1, -1)))
    return f"{base9}{first}{second}"


def cnpj_check_digits(base12: str) -> str:
    nums = [int(d) for d in base12]
    first = _check_digit(nums, _CNPJ_W1)
    second = _check_digit([*nums, first], _CNPJ_W2)
    return f"{base12}{first}{second}"


def format_document(value: str) -> str:
    number = digits(value)
    if len(number) == 11:
        return f"{number[:3]}.{number[3:6]}.{number[6:9]}-{number[9:]}"
    if len(number) == 14:
        return f"{number[:2]}.{number[2:5]}.{number[5:8]}/{number[8:12]}-{number[12:]}"
    return value


def validate_cpf(value: str) -> None:
    if not is_valid_cpf(value):
        raise ValidationError(
            _("“%(value)s” is not a valid CPF: it must have 11 digits with correct check digits."),
            code="invalid_cpf",
            params={"value": value},
        )


def validate_cnpj(value: str) -> None:
    if not is_valid_cnpj(value):
        raise ValidationError(
            _("“%(value)s” is not a valid CNPJ: it must have 14 digits with correct check digits."),
            code="invalid_cnpj",
            params={"value": value},
        )


def validate_document(value: str) -> None:
    """A CPF (11 digits) or a CNPJ (14 digits), punctuation allowed."""
    number = digits(value)
    if len(number) == 11:
        validate_cpf(value)
    elif len(number) == 14:
        validate_cnpj(value)
    else:
        raise ValidationError(
            _("“%(value)s” is neither a CPF (11 digits) nor a CNPJ (14 digits)."),
            code="invalid_document",
            params={"value": value},
        )

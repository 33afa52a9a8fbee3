"""Classification codes ("1", "1.1", "1.01", "2.10"): validated and ordered as numbers per level."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_CODE = re.compile(r"^\d{1,6}(\.\d{1,6}){0,7}$")


def validate_code(value: str) -> None:
    if not _CODE.match(value or ""):
        raise ValidationError(
            _("“%(value)s” is not a classification: use numbers separated by dots, such as 1, 1.2 or 1.02."),
            code="invalid_classification",
            params={"value": value},
        )


def sort_key(code: str) -> str:
    """A text that sorts like the code read level by level as numbers: 1.2 < 1.10 < 2."""
    try:
        return ".".join(f"{int(part):06d}" for part in code.split("."))
    except ValueError:
        return code


def is_under(parent: str, child: str) -> bool:
    """child sits under parent: parent's levels prefix child's, and child is deeper."""
    p, c = parent.split("."), child.split(".")
    try:
        return len(c) > len(p) and [int(x) for x in c[: len(p)]] == [int(x) for x in p]
    except ValueError:  # not a classification: nothing sits under it
        return False

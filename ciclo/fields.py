"""The bounded value types of request bodies and definitions bundles (pydantic).

Input types are bounded so that no value can reach the database in a shape it cannot
hold (ids within 64 bits, texts without NUL characters, dates within years 1900 to
9000): what does not fit is refused, never a server error. A boolean is `true` or
`false` (not 0 or 1) and a number is a number (not text), except a decimal limit,
which may be text so that no digit is lost to a float.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from django.db import models
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict, WithJsonSchema
from pydantic.json_schema import JsonDict

MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL
MAX_SMALL = 32767  # PositiveSmallIntegerField on PostgreSQL


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("the text is not valid Unicode") from exc
    return value


_ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_ISO_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def _iso_day(value: Any) -> Any:
    """A date is text as YYYY-MM-DD, never a number of seconds."""
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DAY.match(value)):
        return value
    raise ValueError("give the date as YYYY-MM-DD, such as 2026-12-31")


def _iso_datetime(value: Any) -> Any:
    """A date and time is ISO 8601 text with its offset, never a number of seconds."""
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _ISO_TIME.match(value)):
        return value
    raise ValueError("give the date and time as ISO 8601, such as 2026-12-31T14:30:00-03:00")


def _a_json_number(value: Any) -> Any:
    """An integer field takes a JSON number (1, or 1.0 as JSON Schema counts it), never "1" or true."""
    if isinstance(value, (str, bool)):
        raise ValueError("give a number, not text or true/false")
    return value


def _sane_datetime(value: dt.datetime) -> dt.datetime:
    if not 1900 <= value.year <= 9000:
        raise ValueError("use a year from 1900 to 9000")
    return value


def _sane_date(value: dt.date) -> dt.date:
    if not 1900 <= value.year <= 9000:
        raise ValueError("use a year from 1900 to 9000")
    return value


# Path and query parameters arrive as text: these read "12" as 12.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Int = Annotated[int, Field(ge=0, le=MAX_INT)]
# In a JSON body, a number is a JSON number and a flag a JSON boolean.
BodyId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_a_json_number)]
BodyInt = Annotated[int, Field(ge=0, le=MAX_INT), BeforeValidator(_a_json_number)]
BodySmallInt = Annotated[int, Field(ge=0, le=MAX_SMALL), BeforeValidator(_a_json_number)]
Flag = Annotated[bool, Strict()]
# What the schema says of every text: no NUL character (no column holds one).
NO_NUL: JsonDict = {"pattern": r"^[^\u0000]*$"}
Text = Annotated[str, Field(json_schema_extra=NO_NUL), AfterValidator(_clean_text)]
# Years 1900 to 9000, as the schema says too.
YEAR = "(19[0-9]{2}|[2-8][0-9]{3}|9000)"
When = Annotated[
    AwareDatetime,
    Field(json_schema_extra={"pattern": f"^{YEAR}-"}),
    BeforeValidator(_iso_datetime),
    AfterValidator(_sane_datetime),
]
Day = Annotated[
    dt.date,
    Field(json_schema_extra={"pattern": f"^{YEAR}-[0-9]{{2}}-[0-9]{{2}}$"}),
    BeforeValidator(_iso_day),
    AfterValidator(_sane_date),
]


def bounded(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length, json_schema_extra=NO_NUL), AfterValidator(_clean_text)
    ]


Code = Annotated[str, Field(min_length=1, max_length=40, json_schema_extra=NO_NUL), AfterValidator(_clean_text)]

Username = Annotated[
    str,
    Field(min_length=1, max_length=150, description="A username.", json_schema_extra=NO_NUL),
    AfterValidator(_clean_text),
]
StepOrder = Annotated[
    int,
    Field(ge=0, le=MAX_INT, description="A step's order number within its workflow."),
    BeforeValidator(_a_json_number),
]


def _named(name: str, choices: type[models.TextChoices], doc: str) -> type[StrEnum]:
    """The model's choices under a name of the API's own: Django calls several of them `Kind`,
    and one OpenAPI schema needs one name per enumeration."""
    enum = StrEnum(name, [(member.name, member.value) for member in choices], module=__name__)  # type: ignore[misc]
    enum.__doc__ = doc
    return enum


_LIMIT = re.compile(r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$")


def _limit(value: Any) -> Any:
    """A limit is an integer, or a decimal as text: what the schema below says, and what the column holds."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError('give a number such as 10 or a decimal as text such as "10.5"')
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError('give a decimal as text, such as "10.5"')
        value = int(value)
    if isinstance(value, int) and abs(value) >= 10**14:
        raise ValueError("use at most 14 digits")
    if isinstance(value, str) and not _LIMIT.match(value):
        raise ValueError('give a decimal such as "10.5": at most 14 digits and 4 decimals')
    return value


Limit = Annotated[
    Decimal,
    BeforeValidator(_limit),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": -(10**14) + 1, "maximum": 10**14 - 1},
                {"type": "string", "pattern": _LIMIT.pattern},
            ],
            "description": "An integer, or a decimal as text (at most 14 digits and 4 decimals).",
        }
    ),
]


Priority = Annotated[int, Field(ge=1, le=5, description="1 (highest) to 5."), BeforeValidator(_a_json_number)]
Percent = Annotated[int, Field(ge=0, le=100, description="A percentage, 0 to 100."), BeforeValidator(_a_json_number)]


def decimal_text(value: Decimal | None) -> str | None:
    """A decimal as text, the one way Ciclo writes one (API, export, history): "10.5", "1200", "-0.25"."""
    if value is None:
        return None
    text = f"{value.normalize():f}"
    return "0" if text in {"-0", ""} else text

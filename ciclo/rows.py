"""Writing new rows the way Django writes them: one row is saved as any model instance is (its
post_save signal sent), many are written with bulk_create a thousand a statement (no signals, as
Django's bulk_create). The engine's openings, their ledger stays, sales contacts, appointments and
history rows are written through here, so one opening writes exactly as it always did."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import models

BATCH = 1000

M = TypeVar("M", bound=models.Model)


def insert(objs: Sequence[M]) -> list[M]:
    """Insert `objs` (new instances of one model); returns them with their primary keys."""
    if not objs:
        return []
    if len(objs) == 1:
        objs[0].save(force_insert=True)
        return list(objs)
    return type(objs[0]).objects.bulk_create(objs, batch_size=BATCH)  # type: ignore[attr-defined, no-any-return]

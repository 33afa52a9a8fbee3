"""Helpers the resource routers share: checking a model, finding users, writing history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from ciclo.api.errors import invalid
from ciclo.history.models import Change, record_change, snapshot


def clean_model(obj: models.Model, *, exclude: list[str] | None = None) -> None:
    """full_clean, with each constraint's error put under the field it is about (not "__all__").

    A unique constraint on (workflow, order) is about `order`: the foreign keys are the scope.
    """
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    for model_class, constraints in obj.get_constraints():
        for constraint in constraints:
            try:
                # BaseConstraint.validate exists since Django 4.1; django-stubs 5.2.9 lacks it.
                constraint.validate(  # type: ignore[attr-defined]
                    model_class, obj, exclude=set(errors) | set(exclude or [])
                )
            except ValidationError as exc:
                errors.setdefault(_constraint_field(obj, constraint), []).extend(str(m) for m in exc.messages)
    if errors:
        raise invalid(errors)


def nullable(model: type[models.Model], name: str) -> bool:
    """Whether the column of field `name` takes null (a relation seen from the other side does not)."""
    field = model._meta.get_field(name)
    return isinstance(field, models.Field) and field.null


def set_fields(obj: models.Model, data: dict[str, Any]) -> None:
    """Set the given fields (a PATCH body); null where the column takes none is a 422 naming the field."""
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if value is None and not nullable(type(obj), name):
            errors[name] = [_("This field cannot be empty.")]
        else:
            setattr(obj, name, value)
    if errors:
        raise invalid(errors)


def _constraint_field(obj: models.Model, constraint: Any) -> str:
    names = list(getattr(constraint, "fields", ()) or ())
    plain = [n for n in names if not obj._meta.get_field(n).is_relation]
    if len(plain) == 1:
        return plain[0]
    if len(names) == 1:
        return names[0]
    return NON_FIELD_ERRORS


def find_user(username: str, field: str) -> Any:
    """A user by username (how every request names users); 422 naming `field` when there is none."""
    user = get_user_model().objects.filter(username=username).first()
    value = username
    if user is None:
        raise invalid({field: [_("There is no user “%(user)s”.") % {"user": value}]})
    return user


def record_created(obj: models.Model, by: Any, extra: dict[str, Any] | None = None) -> None:
    change = record_change(obj, by=by, action=Change.Action.CREATED)
    if change is not None and extra:
        change.changes.update({k: [None, v] for k, v in extra.items()})
        change.save(update_fields=["changes"])


def record_changed(
    obj: models.Model,
    by: Any,
    before: dict[str, Any],
    extra_before: dict[str, Any] | None = None,
    extra_after: dict[str, Any] | None = None,
) -> None:
    """A CHANGED row (DEACTIVATED when `active` went from true to false); `extra_*` add what
    a snapshot does not hold, such as many-to-many members."""
    after = snapshot(obj)
    action = Change.Action.CHANGED
    if before.get("active") is True and after.get("active") is False:
        action = Change.Action.DEACTIVATED
    change = record_change(obj, by=by, action=action, before=before)
    extra = {
        k: [(extra_before or {}).get(k), v] for k, v in (extra_after or {}).items() if (extra_before or {}).get(k) != v
    }
    if not extra:
        return
    if change is None:
        change = record_change(obj, by=by, action=Change.Action.CHANGED)
        if change is None:  # pragma: no cover - CHANGED without `before` always writes
            return
        change.changes = {}
    change.changes.update(extra)
    change.save(update_fields=["changes"])


def record_deleted(obj: models.Model, by: Any) -> None:
    """Write the DELETED row, keeping what the object was; call it before deleting, in the same transaction."""
    change = record_change(obj, by=by, action=Change.Action.DELETED)
    if change is not None:
        change.changes = {k: [v, None] for k, v in snapshot(obj).items()}
        change.save(update_fields=["changes"])

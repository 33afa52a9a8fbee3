"""Helpers the resource routers share: checking a model, setting a PATCH's fields, finding users."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from ciclo.api.errors import invalid


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

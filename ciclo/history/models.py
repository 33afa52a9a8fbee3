from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class Change(models.Model):
    """One change to a definition or a record: who, when, what it was, what it became."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        DEACTIVATED = "deactivated", _("Deactivated")
        DELETED = "deleted", _("Deleted")

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, verbose_name=_("kind of object"))
    object_id = models.CharField(_("object id"), max_length=40)
    object_repr = models.CharField(_("object"), max_length=300)
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    changes = models.JSONField(_("changes"), default=dict, help_text=_("Field: [old value, new value]."))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        indexes = [models.Index(fields=["content_type", "object_id", "-at"], name="change_object_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


def secret_fields(model: type[models.Model] | None) -> frozenset[str]:
    """Fields whose values the history never keeps nor shows: a model lists them in `history_secret_fields`.

    Whoever may read the history (supervisors) must not learn a secret from it, not even
    its hash (an API token's `key_hash`).
    """
    return frozenset(getattr(model, "history_secret_fields", ()))


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The concrete field values of obj, as JSON-able text, without its secret fields."""
    hidden = secret_fields(type(obj))
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in hidden:
            continue
        value = field.value_from_object(obj)
        data[field.name] = value if isinstance(value, (bool, int, type(None))) else str(value)
    return data


def record_change(
    obj: models.Model,
    *,
    by: Any,
    action: str,
    before: dict[str, Any] | None = None,
    extra: dict[str, list[Any]] | None = None,
) -> Change | None:
    """Write the history row for obj; `before` is snapshot(obj) taken before the change.

    A change that turns `active` off is recorded as DEACTIVATED, whoever makes it. `extra`
    adds what a snapshot does not hold (many-to-many members, a step's options), as
    field: [before, after]. A CHANGED row that changes nothing is not written.
    """
    after = snapshot(obj)
    if before is None:
        diff = {k: [None, v] for k, v in after.items()} if action == Change.Action.CREATED else {}
    else:
        diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    diff.update({k: v for k, v in (extra or {}).items() if v[0] != v[1]})
    if action == Change.Action.CHANGED:
        if not diff:
            return None
        if before is not None and before.get("active") is True and after.get("active") is False:
            action = Change.Action.DEACTIVATED
    row = _row(obj, action, diff, by)
    row.save(force_insert=True)
    return row


def _row(obj: models.Model, action: str, changes: dict[str, Any], by: Any) -> Change:
    """The history row (unsaved) of `obj`'s change."""
    return Change(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        action=action,
        changes=changes,
        by=by if getattr(by, "is_authenticated", False) else None,
    )


def record_creations(objs: Sequence[models.Model], *, by: Any) -> None:
    """The CREATED history rows of objects created together (bulk_create): each as record_change writes it."""
    from ciclo.rows import insert

    insert([_row(obj, Change.Action.CREATED, {k: [None, v] for k, v in snapshot(obj).items()}, by) for obj in objs])


def record_deletion(obj: models.Model, *, by: Any, before: dict[str, Any] | None = None) -> Change:
    """Call before deleting: the row keeps every value the object had (`before`, or its fields now)."""
    row = _row(obj, Change.Action.DELETED, {k: [v, None] for k, v in (before or snapshot(obj)).items()}, by)
    row.save(force_insert=True)
    return row


def protected_uses(obj: models.Model) -> list[str]:
    """What keeps obj from being deleted (tickets, answers…), as "kind (count)"; empty when free."""
    from collections import Counter

    from django.contrib.admin.utils import NestedObjects
    from django.db import router

    collector = NestedObjects(using=router.db_for_write(type(obj)))
    collector.collect([obj])
    counts = Counter(str(p._meta.verbose_name_plural) for p in collector.protected)
    return [f"{name} ({count})" for name, count in sorted(counts.items())]


def set_active(obj: models.Model, active: bool, *, by: Any) -> bool:
    """Turn obj's `active` flag on or off, with its history row; False when it already was."""
    if obj.active is active:  # type: ignore[attr-defined]
        return False
    before = snapshot(obj)
    obj.active = active  # type: ignore[attr-defined]
    obj.save(update_fields=["active"])
    record_change(obj, by=by, action=Change.Action.CHANGED, before=before)
    return True

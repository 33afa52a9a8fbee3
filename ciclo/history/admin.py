"""The history of changes, and the mixin the admins write it with (the Configurator's go through
`configurator.changes`, which writes its own)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.forms import BaseForm, BaseModelFormSet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ciclo.history.models import (
    Change,
    protected_uses,
    record_change,
    record_deletion,
    secret_fields,
    set_active,
    snapshot,
)

logger = logging.getLogger(__name__)


def _m2m_snapshot(obj: models.Model) -> dict[str, list[str]]:
    if obj.pk is None:
        return {f.name: [] for f in obj._meta.many_to_many}
    return {f.name: sorted(str(o) for o in getattr(obj, f.name).all()) for f in obj._meta.many_to_many}


def _form_extras(form: BaseForm) -> dict[str, list[Any]]:
    """Changes of form fields that are not model fields (such as a step's options text)."""
    model_fields: set[str] = set()
    if hasattr(form, "_meta"):
        opts = form._meta.model._meta
        model_fields = {f.name for f in opts.concrete_fields} | {f.name for f in opts.many_to_many}
    extras: dict[str, list[Any]] = {}
    for name in form.changed_data:
        if name in model_fields or name == "DELETE" or name not in form.cleaned_data:
            continue
        old, new = form.initial.get(name), form.cleaned_data[name]
        old = "" if old is None else str(old)
        new = "" if new is None else str(new)
        if old.strip() != new.strip():
            extras[name] = [old, new]
    return extras


class ProtectedInlineFormSet(BaseInlineFormSet):
    """An inline formset that refuses, with a message a user can act on, to delete a row in use."""

    def deleting(self, form: BaseForm) -> bool:
        return bool(self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]

    def deleted_forms_in_use(self) -> list[str]:
        errors: list[str] = []
        if not self.can_delete:
            return errors
        for form in self.forms:
            if self.deleting(form) and form.instance.pk is not None:
                uses = protected_uses(form.instance)
                if uses:
                    errors.append(self.in_use_message(form, uses))
        return errors

    def in_use_message(self, form: BaseForm, uses: list[str]) -> str:
        obj = form.instance  # type: ignore[attr-defined]
        name = type(obj)._default_manager.filter(pk=obj.pk).first() or obj
        if _has_active(type(obj)):
            text = gettext("“%(object)s” is in use and cannot be deleted (%(uses)s): deactivate it instead.")
        else:
            text = gettext("“%(object)s” is in use and cannot be deleted (%(uses)s).")
        return text % {"object": name, "uses": ", ".join(uses)}

    def clean(self) -> None:
        # Before the model formset's own checks: they would refuse the deletion too,
        # with a message about "protected related objects" a user cannot act on.
        in_use = self.deleted_forms_in_use()
        if in_use:
            raise ValidationError(in_use)
        super().clean()


def _has_active(model: type[models.Model]) -> bool:
    return any(f.name == "active" for f in model._meta.concrete_fields)


@admin.action(description=_("Deactivate selected %(verbose_name_plural)s"), permissions=["change"])
def deactivate_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: models.QuerySet) -> None:
    count = _change_active(modeladmin, request, queryset, False)
    modeladmin.message_user(
        request,
        ngettext("%(count)d item deactivated.", "%(count)d items deactivated.", count) % {"count": count},
        messages.SUCCESS,
    )


@admin.action(description=_("Activate selected %(verbose_name_plural)s"), permissions=["change"])
def activate_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: models.QuerySet) -> None:
    count = _change_active(modeladmin, request, queryset, True)
    modeladmin.message_user(
        request,
        ngettext("%(count)d item activated.", "%(count)d items activated.", count) % {"count": count},
        messages.SUCCESS,
    )


def _change_active(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: models.QuerySet, active: bool) -> int:
    assert isinstance(modeladmin, HistoryMixin)
    with transaction.atomic():
        return sum(modeladmin.change_active(request, obj, active) for obj in queryset.exclude(active=active))


class HistoryMixin(admin.ModelAdmin):
    """Records a history Change for every save and delete made in the admin, inline objects included.

    Also refuses, with a message instead of an error page, a save or delete that
    the database protects (an object in use), and offers "deactivate" on models
    with an `active` flag: anything in use is deactivated, not deleted.
    """

    # False for users: their snapshot would hold the password hash.
    history_records_object = True

    # Saving

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        old = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk is not None else None
        before = snapshot(old) if old is not None else None
        m2m_before = _m2m_snapshot(old) if old is not None else _m2m_snapshot(obj)
        super().save_model(request, obj, form, change)
        entry = None
        if self.history_records_object:
            action = Change.Action.CHANGED if change else Change.Action.CREATED
            entry = record_change(obj, by=request.user, action=action, before=before)
        form._ciclo_history = (entry, m2m_before, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        stash = getattr(form, "_ciclo_history", None)
        if stash is None or not self.history_records_object:
            return
        entry, m2m_before, was_change = stash
        obj = form.instance
        m2m_after = _m2m_snapshot(obj)
        extra: dict[str, Any] = {k: [m2m_before.get(k), v] for k, v in m2m_after.items() if m2m_before.get(k) != v}
        extra.update(_form_extras(form))
        if not extra:
            return
        if entry is None:
            action = Change.Action.CHANGED if was_change else Change.Action.CREATED
            record_change(obj, by=request.user, action=action, extra=extra)
        else:
            entry.changes = {**entry.changes, **extra}
            entry.save(update_fields=["changes"])

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseModelFormSet, change: bool) -> None:
        model = formset.model
        assert model is not None
        pks = [f.instance.pk for f in formset.initial_forms if f.instance.pk is not None]
        before = {o.pk: snapshot(o) for o in model._default_manager.filter(pk__in=pks)}
        if formset.can_delete:
            for f in formset.initial_forms:
                if formset._should_delete_form(f) and f.instance.pk is not None:  # type: ignore[attr-defined]
                    record_deletion(f.instance, by=request.user, before=before.get(f.instance.pk))
        forms_by_obj = {id(f.instance): f for f in formset.forms}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            row = forms_by_obj.get(id(obj))
            record_change(obj, by=request.user, action=Change.Action.CREATED, extra=_form_extras(row) if row else None)
        for obj, _fields in formset.changed_objects:
            row = forms_by_obj.get(id(obj))
            record_change(
                obj,
                by=request.user,
                action=Change.Action.CHANGED,
                before=before.get(obj.pk),
                extra=_form_extras(row) if row else None,
            )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # No "delete the related object" button beside a select: deleting belongs on that object's page.
        if field is not None and hasattr(field.widget, "can_delete_related"):
            field.widget.can_delete_related = False
        return field

    # Deleting

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            if self.history_records_object:
                record_deletion(obj, by=request.user)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        with transaction.atomic():
            if self.history_records_object:
                for obj in queryset:
                    record_deletion(obj, by=request.user)
            super().delete_queryset(request, queryset)

    # Deactivating instead

    def change_active(self, request: HttpRequest, obj: Any, active: bool) -> bool:
        """Turn obj's `active` flag on or off with its history row; False when it already was."""
        return set_active(obj, active, by=request.user)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if _has_active(self.model) and self.has_change_permission(request):
            for func in (deactivate_selected, activate_selected):
                actions[func.__name__] = (func, func.__name__, func.short_description)  # type: ignore[attr-defined,assignment]
        return actions

    # In use: refuse with a message, never an error page

    def _refuse(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, ProtectedError | RestrictedError):
            used_by = sorted({str(o._meta.verbose_name_plural) for o in exc.args[1]})
            message = _("This cannot be deleted because it is in use (%(uses)s). Deactivate it instead.") % {
                "uses": ", ".join(used_by)
            }
        else:
            logger.warning("admin save refused by the database: %s", exc)
            message = _("The change could not be saved because it conflicts with other data: %(error)s") % {
                "error": exc
            }
        self.message_user(request, message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except (ProtectedError, RestrictedError, IntegrityError) as exc:
            return self._refuse(request, exc)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().delete_view(request, *args, **kwargs)
        except (ProtectedError, RestrictedError) as exc:
            return self._refuse(request, exc)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changelist_view(request, *args, **kwargs)
        except (ProtectedError, RestrictedError) as exc:
            return self._refuse(request, exc)


class BoundedDatesChangeList(ChangeList):
    """A changelist whose date hierarchy refuses a year beyond the calendar as a bad address (?e=1).

    Django reads ?at__year= with int() and datetime() and catches only some of what they
    raise: a year past 9999 or past a C long (OverflowError) would be a server error.
    """

    def get_filters(self, request: HttpRequest) -> Any:
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class ReadOnlyAdminMixin:
    """Shown, never added, changed or deleted here."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedDatesChangeList

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "action", "object_repr", "content_type", "by", "changed_fields")
    list_filter = ("action", "content_type", "by")
    list_select_related = ("content_type", "by")
    search_fields = ("object_repr", "object_id")
    search_help_text = _("The object's name or id.")
    date_hierarchy = "at"
    fields = ("at", "by", "action", "content_type", "object_id", "object_repr", "changes_table")
    readonly_fields = fields

    @admin.display(description=_("fields"))
    def changed_fields(self, obj: Change) -> str:
        names = list(_visible(obj))
        text = ", ".join(names[:6])
        return f"{text}, …" if len(names) > 6 else text

    @admin.display(description=_("changes"))
    def changes_table(self, obj: Change) -> str:
        changes = _visible(obj)
        if not changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, _value(values, 0), _value(values, 1)) for name, values in changes.items()),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("field"),
            _("before"),
            _("after"),
            rows,
        )


def _visible(change: Change) -> dict[str, Any]:
    """The row's changes but its model's secret fields (rows may predate a field's being declared secret)."""
    hidden = secret_fields(change.content_type.model_class())
    changes = change.changes if isinstance(change.changes, dict) else {}
    return {name: values for name, values in changes.items() if name not in hidden}


def _value(values: Any, index: int) -> str:
    try:
        value = values[index]
    except (TypeError, IndexError, KeyError):
        return ""
    return "—" if value is None or value == "" else str(value)

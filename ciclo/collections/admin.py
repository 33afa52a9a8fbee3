"""The collections in the admin: kinds and people's preferences are edited here; receivables come from
the ERP (ciclo.collections.receivables) and runs from the update, so an administrator reads them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from pydantic import ValidationError as PydanticValidationError

from ciclo.collections.models import (
    AdministrativeStatus,
    CollectionItem,
    CollectionKind,
    CollectionPreference,
    CollectionRun,
    Payment,
    Receivable,
)
from ciclo.collections.preferences import set_collection_emails
from ciclo.configurator.changes import (
    ConfigurationInvalid,
    check_administrative_status,
    delete,
    save_administrative_status,
)
from ciclo.configurator.items import AdministrativeStatusItem


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CollectionKind)
class CollectionKindAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "collected", "active"]
    list_filter = ["collected", "active"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A kind in use stays: receivables keep it. Deactivate it instead.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.receivables.exists())


@admin.register(CollectionPreference)
class CollectionPreferenceAdmin(admin.ModelAdmin):
    """Saved by set_collection_emails (the person's history row), as the API saves it."""

    list_display = ["person", "no_collection_emails"]
    list_filter = ["no_collection_emails"]
    autocomplete_fields = ["person"]
    search_fields = ["person__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["person"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = set_collection_emails(obj.person, refused=obj.no_collection_emails, by=request.user)
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would drop the person's wish without a history row: set it off instead.
        return False


class AdministrativeStatusForm(forms.ModelForm):
    """Checked and saved by the configuration's one home (configurator.changes), like every definition."""

    class Meta:
        model = AdministrativeStatus
        fields = ["code", "description", "kind", "enters_collection", "active"]

    def item(self) -> AdministrativeStatusItem:
        data = self.cleaned_data
        return AdministrativeStatusItem(
            code=data["code"],
            description=data["description"],
            kind=data["kind"],
            enters_collection=data["enters_collection"],
            active=data["active"],
        )

    def _post_clean(self) -> None:  # the model's own validation is the changes' (below)
        pass

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            item = self.item()
        except PydanticValidationError as err:
            for e in err.errors():
                field = str(e["loc"][0]) if e["loc"] else None
                self.add_error(field if field in self.fields else None, e["msg"])
            return data
        for problem in check_administrative_status(item, self.instance if self.instance.pk else None):
            self.add_error(problem.path if problem.path in self.fields else None, problem.message)
        return data


@admin.register(AdministrativeStatus)
class AdministrativeStatusAdmin(admin.ModelAdmin):
    form = AdministrativeStatusForm
    list_display = ["code", "description", "kind", "enters_collection", "active"]
    list_filter = ["kind", "enters_collection", "active"]
    search_fields = ["code", "description"]
    readonly_fields = ["parent"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = AdministrativeStatus.objects.get(pk=obj.pk) if change else None
        try:
            status = save_administrative_status(form.item(), request.user, saved)
        except ConfigurationInvalid as err:  # changed meanwhile: the message says why
            raise ValidationError(str(err)) from err
        obj.pk = status.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        delete(obj, request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A status receivables carry stays: deactivate it instead (configurator.changes.delete says so too).
        return super().has_delete_permission(request, obj) and (
            obj is None or not (obj.receivables.exists() or obj.children.exists())
        )


class PaymentInline(ReadOnly, admin.TabularInline):
    model = Payment
    fields = readonly_fields = ("paid_on", "amount", "source", "created_at")
    extra = 0


class ItemInline(ReadOnly, admin.TabularInline):
    model = CollectionItem
    fields = readonly_fields = ("ticket", "added_at", "released_at", "run")
    extra = 0


@admin.register(Receivable)
class ReceivableAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["document", "instalment", "company", "person", "due_date", "amount", "open_balance", "kind"]
    list_filter = ["company", "kind", "administrative_status"]
    search_fields = ["document", "person__name"]
    date_hierarchy = "due_date"
    list_select_related = ["company", "person", "kind"]
    inlines = [PaymentInline, ItemInline]


@admin.register(CollectionRun)
class CollectionRunAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "trigger", "started_by", "dry_run", "status", "counts"]
    list_filter = ["status", "trigger", "dry_run"]
    date_hierarchy = "started_at"

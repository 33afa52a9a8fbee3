"""The collections in the admin: kinds and people's preferences are edited here; receivables come from
the ERP (ciclo.collections.receivables) and runs from the update, so an administrator reads them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ciclo.collections.models import (
    AdministrativeStatus,
    CollectionItem,
    CollectionKind,
    CollectionPreference,
    CollectionRun,
    Payment,
    Receivable,
)


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
    list_display = ["person", "no_collection_emails"]
    list_filter = ["no_collection_emails"]
    autocomplete_fields = ["person"]
    search_fields = ["person__name"]


@admin.register(AdministrativeStatus)
class AdministrativeStatusAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["code", "description", "kind", "enters_collection", "active"]
    list_filter = ["kind", "enters_collection", "active"]
    search_fields = ["code", "description"]


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

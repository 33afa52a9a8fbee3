"""Appointments in the admin: shown with their history, never changed here.

Appointments change only through ciclo.agenda.appointments, which checks who may and keeps a
ticket's next contact in step; the admin is a window onto what happened.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ciclo.agenda.appointments import visible_users
from ciclo.agenda.models import Appointment, AppointmentChange
from ciclo.history.admin import ReadOnlyAdminMixin


class AppointmentChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AppointmentChange
    extra = 0
    can_delete = False
    fields = ("at", "kind", "by", "sequence", "changes", "reason")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("by")


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("start", "end", "title", "user", "person", "ticket", "status", "source", "sequence")
    list_select_related = ("user", "person", "ticket")
    list_filter = ("status", "source", "channel")
    search_fields = ("title", "person__name", "place")
    date_hierarchy = "start"
    inlines = [AppointmentChangeInline]
    fieldsets = (
        (None, {"fields": ("title", "user", "start", "end", "status", "source")}),
        (None, {"fields": ("person", "ticket", "channel", "place", "notes")}),
        (None, {"fields": ("uid", "sequence", "created_by", "created_at", "updated_at")}),
    )
    readonly_fields = ("uid", "created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return super().get_queryset(request).filter(user__in=visible_users(request.user))

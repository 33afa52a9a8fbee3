"""Read-only views of the reminders' ledger and of the users' calendar settings, for an administrator.

The ledger is written by the sweeps and their tasks only; a user changes their own settings on
their profile (the feed's token is never shown here: it is their secret).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ciclo.reminders.models import CalendarSettings, Sent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


SENT_COLUMNS = ("kind", "user", "appointment", "sequence", "day", "status", "reason", "queued_at", "finished_at")


@admin.register(Sent)
class SentAdmin(ReadOnlyAdmin):
    list_display = list(SENT_COLUMNS)
    list_filter = ["kind", "status", "reason"]
    list_select_related = ["user", "appointment"]
    date_hierarchy = "queued_at"
    search_fields = ["user__username", "appointment__title"]
    fields = [*SENT_COLUMNS, "message", "dismissed_at"]


@admin.register(CalendarSettings)
class CalendarSettingsAdmin(ReadOnlyAdmin):
    list_display = ["user", "lead_minutes", "feed_on", "feed_token_created_at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "lead_minutes", "feed_on", "feed_token_created_at"]

    @admin.display(description=_("feed on"), boolean=True)
    def feed_on(self, found: CalendarSettings) -> bool:
        return found.feed_token is not None

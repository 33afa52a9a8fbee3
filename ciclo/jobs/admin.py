"""Read-only views of the scheduled runs and the heartbeats, for an administrator."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ciclo.jobs.models import Heartbeat, ScheduledRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the worker and the scheduler only: an administrator reads."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "period_start", "scheduled_at", "started_at", "finished_at", "duration", "outcome", "result"]
    list_filter = ["job", "outcome"]
    date_hierarchy = "period_start"
    search_fields = ["result"]

    @admin.display(description=_("duration"))
    def duration(self, run: ScheduledRun) -> str:
        took = run.duration
        return "" if took is None else f"{took.total_seconds():.3f} s"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "backend",
        "started_at",
        "beat_at",
        "stopped_at",
        "tasks_succeeded",
        "tasks_failed",
        "current_task",
    ]
    list_filter = ["kind", ("stopped_at", admin.EmptyFieldListFilter)]

"""The sales lists a company configures: environments, lost reasons, days off.

Each save and delete leaves its history row (HistoryMixin); an entry in use cannot be deleted
(the sales contacts protect it): it is deactivated instead, and is then no longer offered.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ciclo.history.admin import HistoryMixin
from ciclo.sales.models import DayOff, Environment, LostReason


class ListEntryAdmin(HistoryMixin):
    list_display = ("name", "position", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    fields = ("name", "position", "active")


@admin.register(Environment)
class EnvironmentAdmin(ListEntryAdmin):
    pass


@admin.register(LostReason)
class LostReasonAdmin(ListEntryAdmin):
    pass


@admin.register(DayOff)
class DayOffAdmin(HistoryMixin):
    list_display = ("date", "description", "company_name")
    list_filter = ("company",)
    date_hierarchy = "date"
    search_fields = ("description",)
    fields = ("date", "description", "company")

    @admin.display(description=_("company"), ordering="company__code")
    def company_name(self, obj: DayOff) -> str:
        return str(obj.company) if obj.company_id else str(_("every company"))

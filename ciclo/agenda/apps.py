from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgendaConfig(AppConfig):
    name = "ciclo.agenda"
    label = "agenda"
    verbose_name = _("Appointments")

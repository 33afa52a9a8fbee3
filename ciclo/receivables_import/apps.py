from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReceivablesImportConfig(AppConfig):
    name = "ciclo.receivables_import"
    label = "receivables_import"
    verbose_name = _("Receivables import")
    default_auto_field = "django.db.models.BigAutoField"

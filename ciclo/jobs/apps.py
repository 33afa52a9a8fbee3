from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "ciclo.jobs"
    label = "jobs"
    verbose_name = _("Background work")

    def ready(self) -> None:
        from ciclo.jobs import checks, worker  # noqa: F401  (system checks; the per-task log line)

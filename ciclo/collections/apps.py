from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    name = "ciclo.collections"
    label = "collections"
    verbose_name = _("Collections")

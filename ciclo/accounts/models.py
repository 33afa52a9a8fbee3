from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserCompany(models.Model):
    """Which companies a user may work, when the CRM option "access control user × company" is on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_access", verbose_name=_("user")
    )
    company = models.ForeignKey(
        "people.Company", on_delete=models.CASCADE, related_name="user_access", verbose_name=_("company")
    )

    class Meta:
        verbose_name = _("user × company access")
        verbose_name_plural = _("user × company access")
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="user_company_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.company}"

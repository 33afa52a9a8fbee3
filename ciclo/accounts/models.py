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


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at=None)


class ApiToken(models.Model):
    """A user's key to the REST API (`Authorization: Bearer <token>`).

    Only the SHA-256 of the token is kept: the token itself is shown once, when it
    is created (see ciclo.accounts.tokens). The prefix tells tokens apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("What the token is for."))
    prefix = models.CharField(
        _("prefix"), max_length=20, unique=True, editable=False, help_text=_("The token's first characters.")
    )
    key_hash = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()
    # The history (ciclo.history) keeps who had which token, never its hash.
    history_secret_fields = ("key_hash",)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})" if self.name else f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Profile(models.Model):
    """What a user chose for themselves: the language Ciclo writes to them in (ciclo.mail)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The language of the e-mails Ciclo sends this user. Blank: the site's language."),
    )

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return str(self.user)

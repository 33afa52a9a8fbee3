from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ciclo.accounts.roles import role_of


class LoginForm(AuthenticationForm):
    """Django's login, refusing users without a Ciclo role (they would see nothing)."""

    def confirm_login_allowed(self, user):  # type: ignore[no-untyped-def]
        super().confirm_login_allowed(user)
        if role_of(user) is None:
            raise ValidationError(
                _("This account has no role in Ciclo yet; ask an administrator to give it one."), code="no_role"
            )

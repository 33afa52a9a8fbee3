from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "ciclo.accounts"
    label = "accounts"
    verbose_name = _("Users and access")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from ciclo.accounts.roles import ensure_role_groups
        from ciclo.security import session_started

        # After every app's migrations: permissions of apps migrated after this one exist only then.
        post_migrate.connect(ensure_role_groups, dispatch_uid="ciclo-role-groups")
        user_logged_in.connect(session_started, dispatch_uid="ciclo-session-started")

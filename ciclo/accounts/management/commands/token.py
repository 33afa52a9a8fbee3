"""`ciclo token create|revoke|list`: the REST API's tokens from the console."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.accounts.models import ApiToken
from ciclo.accounts.tokens import create_token, find_token, revoke_token


class Command(BaseCommand):
    help = _("Create, revoke and list the REST API's tokens.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke,list}")
        create = actions.add_parser("create", help=_("Create a token for a user and print it (shown only once)."))
        create.add_argument("username", metavar="USERNAME")
        create.add_argument("--name", default="", help=_("What the token is for."))
        revoke = actions.add_parser("revoke", help=_("Revoke a token by its prefix or id."))
        revoke.add_argument("token", metavar="PREFIX_OR_ID")
        listing = actions.add_parser("list", help=_("List the tokens, of every user or of one."))
        listing.add_argument("username", metavar="USERNAME", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options["username"], options["name"])
        elif action == "revoke":
            self._revoke(options["token"])
        else:
            self._list(options["username"])

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("USERNAME: there is no user “%(username)s”.") % {"username": username})
        return user

    def _create(self, username: str, name: str) -> None:
        user = self._user(username)
        if not user.is_active:
            raise CommandError(_("USERNAME: the user “%(username)s” is inactive.") % {"username": username})
        if len(name.strip()) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
            raise CommandError(_("--name: use at most 100 characters."))
        token, raw = create_token(user, name=name)
        self.stdout.write(raw)
        self.stderr.write(
            _("Token %(prefix)s created for %(username)s. Keep it now: it will not be shown again.")
            % {"prefix": token.prefix, "username": username}
        )

    def _revoke(self, identifier: str) -> None:
        token = find_token(identifier)
        if token is None:
            raise CommandError(_("PREFIX_OR_ID: there is no token “%(token)s”.") % {"token": identifier})
        if revoke_token(token):
            self.stdout.write(_("Token %(prefix)s revoked.") % {"prefix": token.prefix})
        else:
            self.stdout.write(_("Token %(prefix)s was already revoked.") % {"prefix": token.prefix})

    def _list(self, username: str | None) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "created_at", "id")
        if username:
            tokens = tokens.filter(user=self._user(username))
        for t in tokens:
            last = timezone.localtime(t.last_used_at).strftime("%Y-%m-%d %H:%M") if t.last_used_at else "—"
            state = _("revoked") if t.revoked_at else _("active")
            created = timezone.localtime(t.created_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{t.pk}\t{t.prefix}\t{t.user.get_username()}\t{t.name or '—'}\t{created}\t{last}\t{state}"
            )

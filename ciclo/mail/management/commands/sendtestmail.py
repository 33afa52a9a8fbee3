"""`ciclo sendtestmail ADDRESS|USERNAME…`: a test e-mail through the queue and a worker, as every message goes."""

from __future__ import annotations

import socket
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.mail.models import Message
from ciclo.mail.sending import send

_POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = _(
        "Send a test e-mail the way Ciclo sends every message: queued, then sent by a worker "
        "(ciclo worker) with its mail settings. Waits for the outcome and says it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "recipients",
            nargs="+",
            metavar="ADDRESS_OR_USERNAME",
            help=_("An e-mail address, or a user's username (their address and language)."),
        )
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            help=_("The message's language. Default: a user's own, else the site's (LANGUAGE_CODE)."),
        )
        parser.add_argument(
            "--wait",
            type=float,
            default=30,
            metavar="SECONDS",
            help=_("How long to wait for a worker to send it (default 30; 0: only queue it)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["wait"] < 0:
            raise CommandError(_("--wait: use a number of seconds of at least 0."))
        to = [self._recipient(value) for value in options["recipients"]]
        queued = send(
            "test_email",
            to,
            {"queued_at": timezone.now(), "host": socket.gethostname()},
            language=options["language"],
        )
        if options["wait"] == 0:
            for message in queued:
                self.stdout.write(
                    _("Test e-mail to %(address)s queued: a worker (ciclo worker) sends it.")
                    % {"address": message.address}
                )
            return
        self._report(self._wait([m.pk for m in queued], options["wait"]), options["wait"])

    def _recipient(self, value: str) -> Any:
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                raise CommandError(
                    _("ADDRESS_OR_USERNAME: “%(value)s” is not an e-mail address.") % {"value": value}
                ) from None
            return value
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise CommandError(_("ADDRESS_OR_USERNAME: there is no user “%(value)s”.") % {"value": value})
        if not user.email:
            raise CommandError(_("ADDRESS_OR_USERNAME: the user “%(value)s” has no e-mail address.") % {"value": value})
        return user

    def _wait(self, ids: list[int], seconds: float) -> list[Message]:
        deadline = time.monotonic() + seconds
        while True:
            messages = list(Message.objects.filter(pk__in=ids).order_by("pk"))
            pending = [m for m in messages if m.status in (Message.Status.QUEUED, Message.Status.SENDING)]
            if not pending or time.monotonic() >= deadline:
                return messages
            time.sleep(_POLL_SECONDS)

    def _report(self, messages: list[Message], seconds: float) -> None:
        failed = 0
        for m in messages:
            if m.status == Message.Status.SENT:
                self.stdout.write(_("Test e-mail sent to %(address)s.") % {"address": m.address})
                continue
            failed += 1
            if m.status == Message.Status.FAILED:
                text = _("Test e-mail to %(address)s failed: %(error)s") % {"address": m.address, "error": m.error}
            else:
                text = _(
                    "Test e-mail to %(address)s still %(status)s after %(seconds)g s: "
                    "is a worker (ciclo worker) running?"
                ) % {"address": m.address, "status": m.get_status_display(), "seconds": seconds}
            self.stderr.write(text)
        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d test e-mails not sent.") % {"failed": failed, "total": len(messages)}
            )

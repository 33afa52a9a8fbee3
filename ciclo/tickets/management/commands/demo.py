"""`ciclo demo`: load a realistic Brazilian demo (definitions, people, tickets), once."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from ciclo.demo_data import DemoError, demo_logins, load_demo
from ciclo.tickets.models import Ticket

T = TypeVar("T")


class Command(BaseCommand):
    help = _(
        "Load a demo company in Portuguese: users, responsibility centers, workflows, cycles, service types, "
        "about 200 people and 500 tickets. Its configuration is a definitions file imported as any other: running "
        "it again completes what is missing and puts back a demo definition that was edited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Load even when DEBUG is off: the demo accounts have a published password."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                _(
                    "DEBUG is off: this looks like a production site, and the demo creates a superuser with a "
                    "published password. Use --force to load it anyway."
                )
            )
        verbosity = options["verbosity"]
        bars = verbosity > 0 and sys.stderr.isatty()

        def progress(items: Iterable[T], label: str, total: int) -> Iterable[T]:
            if bars:
                return tqdm(items, desc=label, total=total, file=sys.stderr, leave=False)
            if verbosity > 0:
                self.stdout.write(_("%(phase)s…") % {"phase": label})
            return items

        started = time.monotonic()
        try:
            report = load_demo(progress=progress)
        except DemoError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.monotonic() - started

        if not report.changed:
            self.stdout.write(_("The demo is already loaded: nothing changed."))
        else:
            if report.created:
                created = ", ".join(
                    f"{count} {model._meta.verbose_name_plural}" for model, count in report.created.items()
                )
                self.stdout.write(_("Created: %(objects)s.") % {"objects": created})
            restored = report.definitions_restored
            if restored:
                self.stdout.write(
                    ngettext(
                        "%(count)d demo definition put back as the demo's file has it.",
                        "%(count)d demo definitions put back as the demo's file has them.",
                        restored,
                    )
                    % {"count": restored}
                )
            if report.tickets:
                open_, closed = report.tickets[Ticket.Status.OPEN], report.tickets[Ticket.Status.CLOSED]
                self.stdout.write(
                    _("Loaded %(tickets)d tickets: %(open)d open, %(closed)d closed.")
                    % {"tickets": open_ + closed, "open": open_, "closed": closed}
                )
            self.stdout.write(self.style.SUCCESS(_("Demo loaded in %(seconds).1f s.") % {"seconds": seconds}))
        self.stdout.write(_("Demo logins (for a demo only):"))
        for username, password, role in demo_logins():
            self.stdout.write(f"  {username} / {password}  ({role})")

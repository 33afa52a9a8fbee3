"""`ciclo insight rebuild`: write the phase ledger again from the tickets' moves."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ciclo.insight.ledger import rebuild


class Command(BaseCommand):
    help = _("Rebuild the phase ledger (the stays of tickets in phases) and its summaries from the history.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild"], help=_("rebuild: write the ledger again from the moves"))

    def handle(self, *args: Any, **options: Any) -> None:
        width = 30

        def progress(done: int, total: int) -> None:
            filled = width * done // total if total else width
            percent = 100 * done // total if total else 100
            self.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total} moves", ending=""
            )
            self.stderr.flush()

        written = rebuild(progress=progress if options["verbosity"] > 0 else None)
        if options["verbosity"] > 0:
            self.stderr.write("")
        self.stdout.write(ngettext("%(count)d stay written.", "%(count)d stays written.", written) % {"count": written})

"""`ciclo collections update [--dry-run]`: run the collections update here, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from ciclo.collections.models import CollectionRun
from ciclo.collections.tasks import summary
from ciclo.collections.update import update_collections


class Command(BaseCommand):
    help = _("Update collections: overdue receivables become collection tickets, paid collections close.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["update"], help=_("update: run the collections update now"))
        parser.add_argument("--dry-run", action="store_true", help=_("Say what the update would do; change nothing."))

    def handle(self, *args: Any, **options: Any) -> None:
        bar: tqdm[Any] | None = None
        show = options["verbosity"] > 0

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit=" debtors", file=self.stderr._out, disable=not show)  # type: ignore[attr-defined]
            bar.update(done - bar.n)

        try:
            run = update_collections(
                trigger=CollectionRun.Trigger.COMMAND, dry_run=options["dry_run"], progress=progress
            )
        finally:
            if bar is not None:
                bar.close()
        if run.status == CollectionRun.Status.FAILED:
            raise CommandError(summary(run))
        line = _("%(summary)s (run %(run)s)") % {"summary": summary(run), "run": run.pk}
        self.stdout.write(_("(dry run) %(line)s") % {"line": line} if run.dry_run else line)

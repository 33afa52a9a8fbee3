"""`ciclo receivables import FILE`: load the ERP's receivables from a CSV or XLSX file (see collections.files).

Applies every valid row and lists the refused ones (line, field, reason); with --all-or-nothing,
applies none when any is refused; with --dry-run, only says what it would do. The exit status is
1 when a row was refused (a CommandError), so a script notices.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from tqdm import tqdm

from ciclo.collections.files import FileRefused, guess_format, read_sheet
from ciclo.collections.receivables import ImportReport, upsert_receivables


class Command(BaseCommand):
    help = _("Load receivables from a CSV or XLSX file.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        load = actions.add_parser("import", help=_("Create or change the receivables a CSV or XLSX file lists."))
        load.add_argument("file", metavar="FILE")
        load.add_argument("--dry-run", action="store_true", help=_("Say what it would do; change nothing."))
        load.add_argument("--all-or-nothing", action="store_true", help=_("Apply no row when any row is refused."))
        load.add_argument("--format", choices=("csv", "xlsx"), help=_("csv or xlsx (default: from the file's name)."))
        load.add_argument(
            "--user", metavar="USERNAME", help=_("Who the changes are recorded as (default: the first superuser).")
        )
        load.add_argument("--no-progress", action="store_true", help=_("Show no progress bar."))

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        fmt = options["format"] or guess_format(path.name)
        if fmt is None:
            raise CommandError(_("FILE: name a .csv or .xlsx file, or give --format."))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CommandError(_("FILE: there is no file “%(path)s”.") % {"path": path}) from None
        except OSError as exc:
            raise CommandError(
                _("FILE: cannot read “%(path)s”: %(reason)s") % {"path": path, "reason": exc.strerror or exc}
            ) from None
        user = self._user(options["user"])
        try:
            sheet = read_sheet(data, fmt)
        except FileRefused as exc:
            raise CommandError(f"{path}: {exc}") from None
        bar = tqdm(
            total=sheet.lines,
            unit=_("rows"),
            file=sys.stderr,
            disable=options["no_progress"] or options.get("verbosity", 1) == 0,
        )

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            report = upsert_receivables(
                sheet.rows,
                by=user,
                source="import",
                all_or_nothing=options["all_or_nothing"],
                dry_run=options["dry_run"],
                progress=progress,
                refused=sheet.refused,
            )
        finally:
            bar.close()
        self._print(report, path, options["all_or_nothing"])
        if report.refused:
            count = report.refused_rows
            raise CommandError(
                ngettext("%(count)s row was refused.", "%(count)s rows were refused.", count) % {"count": count}
            )

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            user = users.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(_("--user: there is no active user “%(username)s”.") % {"username": username})
            return user
        user = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError(_("--user: there is no superuser to record the import as; name a user with --user."))
        return user

    def _print(self, report: ImportReport, path: Path, all_or_nothing: bool) -> None:
        for refusal in report.refused:
            self.stderr.write(
                _("line %(row)s, %(field)s: %(message)s")
                % {"row": refusal.row, "field": refusal.field, "message": refusal.message}
            )
        self.stdout.write(
            _("%(created)s created, %(changed)s changed, %(unchanged)s unchanged, %(refused)s refused.")
            % {
                "created": report.created,
                "changed": report.changed,
                "unchanged": report.unchanged,
                "refused": report.refused_rows,
            }
        )
        if report.dry_run:
            self.stdout.write(_("Dry run: nothing was changed."))
        elif not report.applied:
            self.stdout.write(_("Rows were refused and --all-or-nothing was given: nothing was changed."))
        else:
            self.stdout.write(_("Imported %(path)s.") % {"path": path.name})

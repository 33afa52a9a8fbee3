"""`ciclo definitions export|import`: the whole configuration as one file (see configurator.definitions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ciclo.configurator.definitions import (
    FORMATS,
    BundleSyntaxError,
    DefinitionsInvalid,
    Plan,
    Status,
    apply_import,
    dump,
    export_bundle,
    guess_format,
    parse,
    plan_import,
)


class Command(BaseCommand):
    help = _("Export the configuration (CRs, workflows, cycles, service types) to a file, or import one.")

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export,import}")
        export = actions.add_parser("export", help=_("Write the whole configuration as JSON or YAML."))
        export.add_argument(
            "--format", choices=FORMATS, help=_("json or yaml (default: from the --output name, else yaml).")
        )
        export.add_argument("--output", metavar="FILE", help=_("Write to this file instead of the standard output."))
        load = actions.add_parser(
            "import", help=_("Check a definitions file, print what it would do, and apply it unless --dry-run.")
        )
        load.add_argument("file", metavar="FILE")
        load.add_argument("--dry-run", action="store_true", help=_("Print the plan only; change nothing."))
        load.add_argument("--format", choices=FORMATS, help=_("json or yaml (default: from the file's name)."))
        load.add_argument(
            "--user", metavar="USERNAME", help=_("Who the changes are recorded as (default: the first superuser).")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options["format"], options["output"])
        else:
            self._import(options["file"], options["format"], options["dry_run"], options["user"])

    def _export(self, fmt: str | None, output: str | None) -> None:
        fmt = fmt or (guess_format(output) if output else None) or "yaml"
        text = dump(export_bundle(), fmt)
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                _("--output: cannot write “%(path)s”: %(reason)s") % {"path": output, "reason": exc.strerror or exc}
            ) from None
        self.stderr.write(_("Definitions written to %(path)s.") % {"path": output})

    def _read(self, name: str, fmt: str | None) -> Any:
        path = Path(name)
        if not path.exists():
            raise CommandError(_("FILE: there is no file “%(path)s”.") % {"path": name})
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CommandError(_("FILE: “%(path)s” is not UTF-8 text.") % {"path": name}) from None
        except OSError as exc:
            raise CommandError(
                _("FILE: cannot read “%(path)s”: %(reason)s") % {"path": name, "reason": exc.strerror or exc}
            ) from None
        try:
            return parse(text, fmt or guess_format(name))
        except BundleSyntaxError as exc:
            raise CommandError(_("FILE: “%(path)s” is %(problem)s") % {"path": name, "problem": exc}) from None

    def _user(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            user = users.filter(username=username).first()
            if user is None:
                raise CommandError(_("--user: there is no user “%(username)s”.") % {"username": username})
            return user
        user = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError(_("--user: there is no superuser to record the import as; name a user with --user."))
        return user

    def _import(self, name: str, fmt: str | None, dry_run: bool, username: str | None) -> None:
        data = self._read(name, fmt)
        if dry_run:
            plan = plan_import(data)
        else:
            user = self._user(username)
            try:
                plan = apply_import(data, by=user)
            except DefinitionsInvalid as exc:
                plan = exc.plan
        if not plan.is_valid:
            for problem in plan.errors:
                self.stderr.write(f"{problem.path}: {problem.message}" if problem.path else problem.message)
            count = len(plan.errors)
            raise CommandError(
                ngettext(
                    "%(path)s has %(count)s error; nothing was changed.",
                    "%(path)s has %(count)s errors; nothing was changed.",
                    count,
                )
                % {"path": name, "count": count}
            )
        self._print(plan)
        counts = plan.counts()
        summary = _(
            "%(created)s created, %(changed)s changed, %(unchanged)s unchanged, %(kept)s not in file (kept)."
        ) % {
            "created": counts[Status.CREATED],
            "changed": counts[Status.CHANGED],
            "unchanged": counts[Status.UNCHANGED],
            "kept": counts[Status.KEPT],
        }
        self.stdout.write(summary)
        if dry_run:
            self.stdout.write(_("Dry run: nothing was changed."))
        else:
            self.stdout.write(_("Imported."))

    def _print(self, plan: Plan) -> None:
        width = max(len(str(label)) for label in Status.labels)
        for item in plan.items:
            status = str(Status(item.status).label)
            self.stdout.write(f"{status:<{width}}  {'  ' * item.depth}{item.label}")
            for field, (old, new) in item.changes.items():
                if item.status == Status.CHANGED:
                    self.stdout.write(f"{'':<{width}}  {'  ' * (item.depth + 1)}{field}: {_show(old)} → {_show(new)}")


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)

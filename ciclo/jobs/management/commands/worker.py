from __future__ import annotations

import logging
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from ciclo.jobs import worker


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(raw: str) -> int | float:
        try:
            value = kind(raw)
        except ValueError:
            value = 0
        if not value > 0:
            raise ArgumentTypeError(_("must be a number greater than 0, got “%(value)s”") % {"value": raw})
        return value

    return parse


class Command(BaseCommand):
    help = _(
        "Run queued tasks until stopped (SIGTERM or Ctrl-C: the task in hand is finished first), on the task "
        "backend CICLO_TASKS_BACKEND names. Logs one line per task. Run as many as needed, on any machine."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name",
            dest="queues",
            default="",
            help=_("Comma-separated queues to work on (default: all of CICLO_TASK_QUEUES)."),
        )
        parser.add_argument("--batch", action="store_true", help=_("Run the tasks waiting now, then exit."))
        parser.add_argument("--max-tasks", type=_positive(int), default=None, help=_("Exit after this many tasks."))
        parser.add_argument(
            "--interval",
            type=_positive(float),
            default=1.0,
            help=_("Seconds between looks at an empty queue (database backend; default 1)."),
        )
        parser.add_argument("--name", default=None, help=_("This process's name (default: kind@host:pid:random)."))

    def handle(
        self, *args: Any, queues: str, batch: bool, max_tasks: int | None, interval: float, **options: Any
    ) -> None:
        level = logging.WARNING if options["verbosity"] == 0 else logging.INFO
        for name in ("ciclo.tasks", "ciclo.jobs", "ciclo.mail"):  # one line per task, and per message sent
            logging.getLogger(name).setLevel(level)
        worker.run(
            queues=[q.strip() for q in queues.split(",") if q.strip()] or None,
            batch=batch,
            max_tasks=max_tasks,
            interval=interval,
            name=options["name"],
        )

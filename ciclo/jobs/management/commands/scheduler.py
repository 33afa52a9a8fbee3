from __future__ import annotations

import logging
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from ciclo.jobs.scheduler import Scheduler


class Command(BaseCommand):
    help = _(
        "Queue each periodic job (ciclo/jobs/schedules.py, times in CICLO_SCHEDULES) once per period, until "
        "stopped. Two schedulers never run a period twice; after downtime a job runs once, for its latest period."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help=_("Queue what is due now, then exit."))
        parser.add_argument("--name", default=None, help=_("This process's name (default: kind@host:pid:random)."))

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        logging.getLogger("ciclo.jobs").setLevel(logging.WARNING if options["verbosity"] == 0 else logging.INFO)
        Scheduler(options["name"]).run(once=once)

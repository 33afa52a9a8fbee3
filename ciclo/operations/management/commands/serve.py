"""`ciclo serve [--bind HOST:PORT]`: Ciclo under gunicorn, the production web server."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.translation import gettext as _

from ciclo.operations import static, web

GUNICORN_CONFIG = "ciclo.operations.gunicorn_conf"


class Command(BaseCommand):
    help = _(
        "Serve Ciclo with gunicorn: WEB_CONCURRENCY worker processes of WEB_THREADS threads each, "
        "static files included, one log line per request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            metavar="HOST:PORT",
            help=_("The address to listen on, HOST:PORT or unix:PATH (default: WEB_BIND, else 127.0.0.1:8000)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bind"] is not None:
            if web.parse_bind(options["bind"]) is None:
                raise CommandError(
                    _("--bind must be HOST:PORT (such as 127.0.0.1:8000) or unix:PATH, got “%(value)s”.")
                    % {"value": options["bind"]}
                )
            os.environ["WEB_BIND"] = options["bind"]
        # Read by the settings of gunicorn's workers, which start afresh from this environment.
        os.environ.setdefault("CONN_MAX_AGE", str(web.SERVE_CONN_MAX_AGE))
        try:
            server = web.from_environment()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        missing = static.uncollected()
        if missing:
            raise CommandError(
                _(
                    "The static files are not collected: %(count)d of them (such as %(example)s) are missing "
                    "from STATIC_ROOT. Run `ciclo collectstatic --noinput` on each release, before `ciclo serve`."
                )
                % {"count": len(missing), "example": missing[0]}
            )
        if server.control_socket and web.socket_answers(server.control_socket):
            raise CommandError(
                _(
                    "WEB_CONTROL_SOCKET: another server listens on %(path)s; "
                    "give each `ciclo serve` a path of its own, or none."
                )
                % {"path": server.control_socket}
            )
        # On stderr with gunicorn's own messages: stdout is the access log, a line per request.
        sys.stderr.write(
            _(
                "Ciclo on %(bind)s: %(workers)d workers × %(threads)d threads, "
                "at most %(connections)d database connections."
            )
            % {
                "bind": server.bind,
                "workers": server.workers,
                "threads": server.threads,
                "connections": server.max_connections,
            }
            + "\n"
        )
        sys.stdout.flush()
        sys.stderr.flush()
        connections.close_all()
        # gunicorn takes this process's place (same pid), so a supervisor's signals reach its
        # master directly: TERM stops it gracefully, HUP restarts the workers on new code.
        command = [sys.executable, "-m", "gunicorn", "--config", f"python:{GUNICORN_CONFIG}", *server.gunicorn_args()]
        os.execv(sys.executable, command)

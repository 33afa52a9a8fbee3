"""The web server `ciclo serve` runs: gunicorn's settings, read from the environment.

Read by `ciclo serve` with the settings' own helpers, so a bad value stops it before gunicorn
starts, naming the variable, as the settings do; gunicorn gets them on its command line.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from ciclo.settings import env_number

DEFAULT_BIND = "127.0.0.1:8000"
# CONN_MAX_AGE under `ciclo serve` unless the environment sets one: gunicorn's threads live as
# long as their worker, so each keeps one connection and reuses it for the next request.
SERVE_CONN_MAX_AGE = 60
# The longest path of a Unix socket Linux accepts (sun_path is 108 bytes with its final NUL).
_UNIX_PATH_MAX = 107

_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")


@dataclass(frozen=True)
class WebServer:
    bind: str
    workers: int
    threads: int
    graceful_timeout: int
    control_socket: str  # "" when it has none

    @property
    def max_connections(self) -> int:
        """The most database connections the server opens: one per thread of each worker."""
        return self.workers * self.threads

    def gunicorn_args(self) -> list[str]:
        """gunicorn's command-line options for these settings (the rest is in ciclo.operations.gunicorn_conf)."""
        args = ["--bind", self.bind, "--workers", str(self.workers), "--threads", str(self.threads)]
        args += ["--graceful-timeout", str(self.graceful_timeout)]
        # gunicorn's default control socket is one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn):
        # a second server on the machine would take it over from the first. One of its own, or none.
        if self.control_socket:
            return [*args, "--control-socket", self.control_socket]
        return [*args, "--no-control-socket"]


def parse_bind(value: str) -> str | None:
    """`value` as gunicorn's bind (HOST:PORT, [IPv6]:PORT or unix:PATH), or None when it is none of them."""
    value = value.strip()
    if value.startswith("unix:"):
        return value if len(value) > len("unix:") else None
    match = _HOST_PORT.fullmatch(value)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        return None
    return value


def from_environment() -> WebServer:
    raw_bind = os.environ.get("WEB_BIND", "").strip() or DEFAULT_BIND
    bind = parse_bind(raw_bind)
    if bind is None:
        raise ImproperlyConfigured(
            f"WEB_BIND must be HOST:PORT (such as 127.0.0.1:8000) or unix:PATH, got {raw_bind!r}"
        )
    control_socket = os.environ.get("WEB_CONTROL_SOCKET", "").strip()
    if control_socket and (not os.path.isabs(control_socket) or len(os.fsencode(control_socket)) > _UNIX_PATH_MAX):
        raise ImproperlyConfigured(
            f"WEB_CONTROL_SOCKET must be an absolute path of at most {_UNIX_PATH_MAX} bytes, got {control_socket!r}"
        )
    return WebServer(
        bind=bind,
        workers=int(env_number("WEB_CONCURRENCY", 2, minimum=1, integer=True)),
        threads=int(env_number("WEB_THREADS", 4, minimum=1, integer=True)),
        graceful_timeout=int(env_number("WEB_GRACEFUL_TIMEOUT", 30, minimum=1, integer=True)),
        control_socket=control_socket,
    )


def socket_answers(path: str) -> bool:
    """Whether a running server listens on the Unix socket at `path` (a leftover file does not)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True

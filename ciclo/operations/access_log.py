"""gunicorn's access log for `ciclo serve`: one structured line per request.

    time=2026-12-02T10:15:04.120-03:00 event=request method=GET path=/tickets/ status=200 duration_ms=12.4
    bytes=5120 user=7 client=203.0.113.9  (on one line)

Fields in logfmt (key=value, a value with spaces or quotes in double quotes, escaped as in JSON), so
that a log collector parses them and a person still reads them. The query string is never written:
searches carry people's names and documents, and links may carry tokens. `user` (the id of the
logged-in user) and `client` (the address behind the trusted proxy) are noted on the request by
ciclo.operations.middleware.AccessLogMiddleware; a request answered before it (a static file) has
no `user`, and its `client` is the connection's address.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

# Keys of the WSGI environ (request.META) the middleware writes and the log line reads.
USER_KEY = "ciclo.user"
CLIENT_KEY = "ciclo.client"

_BARE = re.compile(r"[^\s\"=\\\x00-\x1f\x7f]+")


def logfmt(fields: Mapping[str, object]) -> str:
    """`fields` as one logfmt line; a field whose value is None is left out."""
    parts = []
    for key, value in fields.items():
        if value is None:
            continue
        text = str(value)
        parts.append(f"{key}={text}" if _BARE.fullmatch(text) else f"{key}={json.dumps(text, ensure_ascii=False)}")
    return " ".join(parts)


def request_fields(
    environ: Mapping[str, Any], status: int | None, sent: int | None, seconds: float
) -> dict[str, object]:
    """What the access line says of one request."""
    raw = environ.get("RAW_URI") or environ.get("PATH_INFO") or ""
    return {
        "time": dt.datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "event": "request",
        "method": environ.get("REQUEST_METHOD"),
        # As the client sent it (percent-encoded), without the query string.
        "path": urlsplit(raw).path or raw.split("?", 1)[0],
        "status": status,
        "duration_ms": f"{seconds * 1000:.1f}",
        "bytes": sent,
        "user": environ.get(USER_KEY),
        "client": environ.get(CLIENT_KEY) or environ.get("REMOTE_ADDR"),
    }


class AccessLog(Logger):  # type: ignore[misc]
    """gunicorn's logger, with its access line in logfmt (see the module's docstring)."""

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: dt.timedelta) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        try:
            code = int(status)
        except (TypeError, ValueError):
            code = None
        sent = getattr(resp, "sent", None)
        length = getattr(resp, "response_length", None)
        # gunicorn counts none of the bytes it hands to sendfile() (a static file's body).
        if not sent and length and environ.get("REQUEST_METHOD") != "HEAD" and code not in {204, 304}:
            sent = length
        try:
            self.access_log.info(logfmt(request_fields(environ, code, sent, request_time.total_seconds())))
        except Exception:
            self.exception("Could not write the access log line")

"""Logging helpers that settings.LOGGING names."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keep a 4xx response's log record (one warning line: status and path) but drop its traceback.

    Django logs a refused request (403 PermissionDenied, 404 Http404, 400 SuspiciousOperation)
    with the exception attached, so each one printed a traceback as if the server had failed.
    A 5xx keeps its traceback: that is a bug to read.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True

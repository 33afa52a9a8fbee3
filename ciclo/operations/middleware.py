"""Notes on each request what its access log line tells beyond gunicorn's own knowledge."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from ciclo.operations.access_log import CLIENT_KEY, USER_KEY
from ciclo.security import client_ip


class AccessLogMiddleware:
    """Writes the user's id and the client's address into the request's WSGI environ.

    request.META is the environ gunicorn hands its logger once the response is sent
    (ciclo.operations.access_log), so the line carries them without a second logger.
    A user that the request never loaded is not loaded only to be logged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = request.__dict__.get("user")
        if user is not None and getattr(user, "_wrapped", None) is not empty and user.is_authenticated:
            request.META[USER_KEY] = str(user.pk)
        request.META[CLIENT_KEY] = client_ip(request)
        return response

"""Each request reads the configuration's version once (see ciclo.configurator.cache)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from ciclo.configurator.cache import request_scope


class ConfigScopeMiddleware:
    """Opens the request's configuration scope, and always closes it when the request ends.

    First in MIDDLEWARE, so that everything the request does (the session's user, the view,
    the templates) is inside it. A streamed response's content is produced after the scope is
    closed: it reads the version as code outside a request does.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with request_scope():
            return self.get_response(request)

"""Typed requests for views that read what the middleware adds."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request through django_htmx's middleware (every request of the site is)."""

    htmx: HtmxDetails

"""The load bench's URLs (bench/_load_site.py): Ciclo's, and /bench/bare, the throughput every page is
compared with."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def bare(request: HttpRequest) -> HttpResponse:
    """Django's least work: no database, no template; the middleware runs as for any page."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), path("", include("ciclo.urls"))]

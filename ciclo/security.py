"""What every request goes through for safety: the Content-Security-Policy, the session's
idle timeout, and the client's address behind the proxy that terminates TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# No inline script or style anywhere: behaviour lives in static files bound by data-attributes
# (ciclo/static/ciclo/*.js), styles in static style sheets. Bootstrap's style sheet draws its
# icons from data: URLs. The Django admin and the API's docs (served from django-ninja's
# assets by ciclo.api.api.LocalSwagger) work under the same policy.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds CONTENT_SECURITY_POLICY to every response that has no policy of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Django's debug pages (DEBUG on, never in production) are styled and scripted inline.
        if settings.DEBUG and response.status_code in {404, 500}:
            return response
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


_SEEN = "_ciclo_seen"  # when the session's expiry was last pushed on (seconds since the epoch)


class SessionIdleMiddleware:
    """A logged-in session expires SESSION_COOKIE_AGE after its last request, not after the login.

    The expiry moves only when the session is saved; saving it on every request would make
    every page a write. It is saved when a hundredth of the idle time has passed since it last
    was (about 5 minutes of 8 hours), so a session ends between 99 % and 100 % of the idle time
    after its last request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # No session cookie (the API with a token, a first visit): nothing to read or push.
        if session is None or session.session_key is None or session.get(SESSION_KEY) is None:
            return response
        now = _now()
        seen = session.get(_SEEN)
        if not isinstance(seen, int) or now - seen >= settings.SESSION_COOKIE_AGE / 100:
            session[_SEEN] = now  # marks the session modified: SessionMiddleware saves it
        return response


def _now() -> int:
    return int(timezone.now().timestamp())


def session_started(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """On login (a user_logged_in receiver): the session is saved now, so its expiry is fresh."""
    session = getattr(request, "session", None)
    if session is not None:
        session[_SEEN] = _now()


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: from the trusted proxy's header when one is configured, else the connection's.

    With CICLO_TRUSTED_PROXY_HEADER set, Ciclo must be reachable only through that proxy:
    the header is believed. A list (X-Forwarded-For) is read from its end, where each of the
    CICLO_TRUSTED_PROXY_COUNT proxies appended the address it saw; what a client wrote at its
    start is never used. A missing or malformed header falls back to the connection's address.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.CICLO_TRUSTED_PROXY_HEADER
    if not header:
        return remote
    hops = [hop.strip() for hop in str(request.META.get(header, "")).split(",")]
    count = settings.CICLO_TRUSTED_PROXY_COUNT
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote

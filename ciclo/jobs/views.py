from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ciclo.jobs import health


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The site's health as JSON, without a login or a session: 200 when healthy, 503 when not.

    Plain /healthz is for the load balancer in front of the web servers: it fails only when the
    database does not answer, since a web server is of no use without it but serves every page
    while the workers are down. ?worker=1 also fails when no worker has beaten within
    CICLO_HEALTH_WORKER_MAX_AGE (or the Redis broker does not answer), ?scheduler=1 when the
    scheduler has not ticked within CICLO_HEALTH_SCHEDULER_MAX_AGE: for monitoring.
    """
    state = health.report()
    ok = health.healthy(state, worker=request.GET.get("worker") == "1", scheduler=request.GET.get("scheduler") == "1")
    return JsonResponse(state, status=200 if ok else 503)

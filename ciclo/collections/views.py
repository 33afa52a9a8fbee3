"""The web's collections update: the last runs, the button that starts the update, and its progress and result.

Administrators and supervisors only. The button calls ciclo.collections.tasks.start_update (what
`POST /api/v1/collections/update` calls): it queues the update as a task, or, while one is queued or
running, follows that one. The update's page polls its state (htmx) until it is done.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ciclo.accounts.decorators import role_required
from ciclo.accounts.roles import Role
from ciclo.collections.models import CollectionRun
from ciclo.collections.tasks import (
    UpdateState,
    current_update,
    elapsed,
    find_update,
    start_update,
    update_state,
)
from ciclo.configurator.models import CrmOptions

RUNS_SHOWN = 20
updaters = role_required(Role.ADMIN, Role.SUPERVISOR)


def _state_context(state: UpdateState) -> dict[str, Any]:
    return {
        "state": state,
        "run": state.run,
        "percent": state.run.percent if state.run is not None else None,
        "elapsed": elapsed(state.result),
        "collection_type_id": CrmOptions.objects.filter(pk=1)
        .values_list("collection_analytical_type", flat=True)
        .first(),
    }


def _state(task_id: str) -> UpdateState:
    result = find_update(task_id) if len(task_id) <= 64 else None
    if result is None:
        raise Http404(_("No such collections update."))
    return update_state(result)


@updaters
@require_GET
def updates(request: HttpRequest) -> HttpResponse:
    """The last runs (whoever or whatever started them) and the button; the update in progress, if any."""
    runs = CollectionRun.objects.select_related("started_by")[:RUNS_SHOWN]
    current = current_update()
    context: dict[str, Any] = {"runs": runs, "nav": "collections", "state": None}
    if current is not None:
        context.update(_state_context(update_state(current)))
    return render(request, "collections/updates.html", context)


@updaters
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    started = start_update(
        by=request.user, trigger=CollectionRun.Trigger.MANUAL, dry_run=request.POST.get("dry_run") == "on"
    )
    if not started.new:
        messages.info(request, _("An update is already queued or running: here it is. It was not started again."))
    return redirect("collections_update", task_id=str(started.result.id))


@updaters
@require_GET
def update(request: HttpRequest, task_id: str) -> HttpResponse:
    return render(request, "collections/update.html", {**_state_context(_state(task_id)), "nav": "collections"})


@updaters
@require_GET
def update_state_fragment(request: HttpRequest, task_id: str) -> HttpResponse:
    """The update's state as its page shows it: what htmx polls while it is queued or running."""
    return render(request, "collections/_update.html", _state_context(_state(task_id)))

"""The collections' tasks: the daily update (ciclo/jobs/schedules.py) and the update started from the web or the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from django_tasks import task

from ciclo.collections.models import CollectionRun
from ciclo.collections.update import update_collections
from ciclo.configurator.models import CrmOptions


def summary(run: CollectionRun) -> str:
    """What a run did, in one line."""
    if run.status == CollectionRun.Status.FAILED:
        return gettext("Collections update failed: %(error)s") % {"error": run.error}
    c = run.counts
    return gettext(
        "Collections update: %(opened)d opened, %(added)d added to, %(closed)d closed; "
        "%(receivables)d receivables collected, %(emailed)d e-mails."
    ) % {k: int(c.get(k, 0)) for k in ("opened", "added", "closed", "receivables", "emailed")}


@task()
def update_collections_daily() -> str:
    """The scheduled run (daily): signed by the CRM options' automatic note user. A site that does not
    collect (no collection type in the CRM options) runs nothing."""
    if not CrmOptions.objects.filter(pk=1, collection_analytical_type__isnull=False).exists():
        return gettext("No collection type in the CRM options: no collections to update.")
    run = update_collections(trigger=CollectionRun.Trigger.SCHEDULE)
    if run.status == CollectionRun.Status.FAILED:
        raise RuntimeError(summary(run))
    return summary(run)


@task()
def update_collections_task(params: dict[str, Any]) -> int:
    """An update started by hand or through the API: `params` holds `by` (a user id or None), `trigger` and
    `dry_run`. Returns the run's id (CollectionRun: its status, counts and error)."""
    user_id = params.get("by")
    by = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    run = update_collections(
        by=by,
        trigger=params.get("trigger", CollectionRun.Trigger.MANUAL),
        dry_run=bool(params.get("dry_run", False)),
    )
    return run.pk

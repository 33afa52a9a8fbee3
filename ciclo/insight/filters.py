"""The filters of the measurements, read from a query string: the one reader the pages, the exports and the
API share. Bad input comes back as errors by field, in the user's language; nothing is measured then."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.configurator.models import ResponsibilityCenter, ServiceCycle, ServiceType, Workflow
from ciclo.http import parse_id
from ciclo.insight.measures import Period, Slice
from ciclo.people.models import Company

DEFAULT_WEEKS = 12
LONGEST_PERIOD_DAYS = 3 * 366


@dataclass
class Filters:
    workflow: Workflow | None
    cycle: ServiceCycle | None
    period: Period
    compare: Period | None
    slice: Slice

    def as_params(self) -> dict[str, str]:
        """The query string that gives these filters again (for the export links)."""
        params = {
            "workflow": str(self.workflow.pk) if self.workflow else "",
            "cycle": str(self.cycle.pk) if self.cycle else "",
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "compare_start": self.compare.start.isoformat() if self.compare else "",
            "compare_end": self.compare.end.isoformat() if self.compare else "",
            "service_type": str(self.slice.service_type_id or ""),
            "cr": str(self.slice.cr_id or ""),
            "user": str(self.slice.user_id or ""),
            "company": str(self.slice.company_id or ""),
        }
        return {k: v for k, v in params.items() if v}


def _date(raw: str) -> dt.date:
    raw = raw.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def _one(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list | tuple):
        value = value[-1] if value else ""
    return str(value or "").strip()


def parse_filters(data: Mapping[str, Any], *, today: dt.date | None = None) -> tuple[Filters, dict[str, list[str]]]:
    """Read the filters; unknown ids and bad dates are errors on their field. Without a period, the last
    twelve weeks; without a workflow or cycle, the first active one."""
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}

    def pick(name: str, model: Any, label: str) -> Any:
        raw = _one(data, name)
        if not raw:
            return None
        pk = parse_id(raw)  # the one reading of an id: ASCII digits, 1 to 2^63-1
        if pk is None or (found := model._default_manager.filter(pk=pk).first()) is None:
            errors[name] = [_("“%(value)s” is not a %(what)s.") % {"value": raw[:40], "what": label}]
            return None
        return found

    workflow = pick("workflow", Workflow, _("workflow"))
    if workflow is None and "workflow" not in errors:
        workflow = Workflow.objects.filter(active=True).order_by("code").first()
    cycle = pick("cycle", ServiceCycle, _("service cycle"))
    if cycle is None and "cycle" not in errors:
        cycle = ServiceCycle.objects.filter(active=True).order_by("code").first()
    service_type = pick("service_type", ServiceType, _("service type"))
    cr = pick("cr", ResponsibilityCenter, _("phase"))
    user = pick("user", get_user_model(), _("user"))
    company = pick("company", Company, _("company"))

    def dates(start_name: str, end_name: str, default: Period | None) -> Period | None:
        raw_start, raw_end = _one(data, start_name), _one(data, end_name)
        if not raw_start and not raw_end:
            return default
        bounds: dict[str, dt.date] = {}
        for name, raw in ((start_name, raw_start), (end_name, raw_end)):
            if not raw:
                errors[name] = [_("Give both dates of the period.")]
                continue
            try:
                bounds[name] = _date(raw)
            except ValueError:
                errors[name] = [_("“%(value)s” is not a date (dd/mm/yyyy).") % {"value": raw[:40]}]
        if len(bounds) < 2:
            return default
        start, end = bounds[start_name], bounds[end_name]
        if end < start:
            errors[end_name] = [_("The period ends before it starts.")]
            return default
        if (end - start).days > LONGEST_PERIOD_DAYS:
            errors[end_name] = [_("A period is at most three years long.")]
            return default
        return Period(start, end)

    period = dates("start", "end", Period.last_weeks(DEFAULT_WEEKS, today))
    assert period is not None
    compare = dates("compare_start", "compare_end", None)
    sliced = Slice(
        service_type_id=service_type.pk if service_type else None,
        cr_id=cr.pk if cr else None,
        user_id=user.pk if user else None,
        company_id=company.pk if company else None,
    )
    return Filters(workflow, cycle, period, compare, sliced), errors

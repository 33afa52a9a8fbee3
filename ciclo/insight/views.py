"""The insight dashboards (phases, funnel, people, answers) and the exports of their numbers.

Supervisors and administrators only. Every number comes from ciclo.insight.measures, the filters from
ciclo.insight.filters; the charts' geometry from ciclo.insight.charts. A filter change answered to htmx
renders only the results.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ciclo.accounts.decorators import role_required
from ciclo.accounts.roles import Role, users_with_role
from ciclo.configurator.models import AnswerType, ResponsibilityCenter, ServiceCycle, ServiceType, Workflow
from ciclo.insight import charts, measures
from ciclo.insight.filters import Filters, parse_filters
from ciclo.insight.measures import Table
from ciclo.people.models import Company

supervisors = role_required(Role.ADMIN, Role.SUPERVISOR)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _shown(table: Table) -> Table:
    """The table as the page shows it: dates short, in the user's format (the exports keep the values)."""
    rows = [[_cell(v) for v in row] for row in table.rows]
    return Table(table.key, table.title, table.columns, rows, table.text_columns)


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return value


def _label(value: Any) -> str:
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


# ---- what each dashboard measures and draws ----------------------------------------------------------


def _phases(f: Filters) -> tuple[Any, dict[str, Any]]:
    if f.workflow is None:
        return None, {}
    report = measures.phases(f.workflow.pk, period=f.period, slice=f.slice)
    return report, {
        "now_chart": charts.bars(_("Tickets there now"), [(p.name, p.now) for p in report.phases]),
        "time_chart": charts.grouped_bars(
            _("Median days in the phase"),
            [(p.name, [p.latest_median_days, p.total_median_days]) for p in report.phases],
            [_("Latest stay"), _("All stays")],
        ),
        "p90_chart": charts.grouped_bars(
            _("90th percentile of days in the phase"),
            [(p.name, [p.latest_p90_days, p.total_p90_days]) for p in report.phases],
            [_("Latest stay"), _("All stays")],
        ),
        "aging_chart": charts.heat_strip(
            _("Open tickets by days in their phase"),
            [_("%(days)s days") % {"days": label} for label in report.aging_labels],
            [(p.name, p.aging) for p in report.phases if not p.closes],
        ),
        "weeks_chart": charts.lines(
            _("Arrivals and exits per week"),
            [_label(w.week) for w in report.weeks],
            [(_("Arrivals"), [w.arrivals for w in report.weeks]), (_("Exits"), [w.exits for w in report.weeks])],
        ),
    }


def _funnel(f: Filters) -> tuple[Any, dict[str, Any]]:
    if f.workflow is None:
        return None, {}
    report = measures.funnel(f.workflow.pk, period=f.period, slice=f.slice)
    extra: dict[str, Any] = {
        "funnel_chart": charts.bars(_("Tickets that reached each phase"), [(s.name, s.reached) for s in report.steps]),
        "decision_charts": [
            charts.bars(d.question, [(o.label, o.percent) for o in d.options], suffix=" %") for d in report.decisions
        ],
    }
    if report.sales is not None:
        s = report.sales
        extra["outcome_chart"] = charts.bars(
            _("Outcomes"), [(_("Won"), s.won), (_("Lost"), s.lost), (_("Open"), s.open)]
        )
        extra["reasons_chart"] = charts.bars(_("Reasons of losses"), [(r.label, r.count) for r in s.loss_reasons])
    return report, extra


def _people(f: Filters) -> tuple[Any, dict[str, Any]]:
    report = measures.people(period=f.period, slice=f.slice)
    shown = [p for p in report.people if p.open or p.notes or p.won or p.lost]
    return report, {
        "shown": shown,
        "open_chart": charts.bars(_("Open tickets"), [(p.name, p.open) for p in shown]),
        "overdue_chart": charts.bars(_("Overdue next contacts"), [(p.name, p.overdue) for p in shown]),
        "pipeline_chart": charts.bars(_("Weighted pipeline (R$)"), [(p.name, float(p.pipeline)) for p in shown]),
        "won_chart": charts.grouped_bars(
            _("Won and lost"), [(p.name, [p.won, p.lost]) for p in shown], [_("Won"), _("Lost")]
        ),
        "notes_chart": charts.lines(
            _("Notes per day"), [_label(d.day) for d in report.days], [(_("Notes"), [d.notes for d in report.days])]
        ),
    }


def _answers(f: Filters) -> tuple[Any, dict[str, Any]]:
    if f.cycle is None:
        return None, {}
    report = measures.answers(f.cycle.pk, period=f.period, slice=f.slice)
    other = measures.answers(f.cycle.pk, period=f.compare, slice=f.slice) if f.compare else None
    before = {q.question_id: q for q in other.questions} if other else {}
    names = [
        _("%(start)s to %(end)s") % {"start": _label(p.start), "end": _label(p.end)} for p in (f.period, f.compare) if p
    ]
    tables = {t.key: _shown(t) for t in report.tables()}
    items = []
    for q in report.questions:
        then = before.get(q.question_id)
        if q.options:
            chart = charts.grouped_bars(
                q.text,
                [(o.label, [o.percent, *([then.options[i].percent] if then else [])]) for i, o in enumerate(q.options)],
                names,
                suffix=" %",
            )
        elif q.histogram:
            chart = charts.bars(q.text, [(b.label, b.count) for b in q.histogram])
        else:
            chart = None
        items.append(
            {
                "q": q,
                "then": then,
                "chart": chart,
                "table": tables.get(f"q{q.question_id}"),
                "is_number": q.answer_type in (AnswerType.NUMBER, AnswerType.MONEY),
            }
        )
    return report, {"items": items, "compare_report": other, "period_names": names}


MEASURES: dict[str, Callable[[Filters], tuple[Any, dict[str, Any]]]] = {
    "phases": _phases,
    "funnel": _funnel,
    "people": _people,
    "answers": _answers,
}
TITLES = {
    "phases": _("Phases"),
    "funnel": _("Funnel"),
    "people": _("People"),
    "answers": _("Answers"),
}


def _choices() -> dict[str, Any]:
    return {
        "workflows": list(Workflow.objects.order_by("code").values_list("pk", "code", "description")),
        "cycles": list(ServiceCycle.objects.order_by("code").values_list("pk", "code", "description")),
        "types": list(ServiceType.objects.order_by("code").values_list("pk", "code", "description")),
        "crs": list(ResponsibilityCenter.objects.order_by("code").values_list("pk", "code", "description")),
        "users": [
            (u.pk, u.get_full_name() or u.get_username())
            for u in users_with_role().order_by("first_name", "last_name", "username")
        ],
        "companies": list(Company.objects.order_by("code").values_list("pk", "code", "name")),
    }


def _dashboard(request: HttpRequest, measure: str) -> HttpResponse:
    f, errors = parse_filters(request.GET)
    report, extra = (None, {}) if errors else MEASURES[measure](f)
    query = urlencode(f.as_params())
    context = {
        "nav": "insight",
        "measure": measure,
        "title": TITLES[measure],
        "titles": TITLES,
        "filters": f,
        "errors": errors,
        "report": report,
        "tables": {t.key: _shown(t) for t in report.tables()} if report is not None else {},
        "query": query,
        **extra,
    }
    if getattr(request, "htmx", False) and request.headers.get("HX-Target") == "insight-results":
        return render(request, f"insight/_{measure}.html", context)
    context.update(_choices())
    return render(request, "insight/dashboard.html", context)


@require_GET
@supervisors
def phases_page(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "phases")


@require_GET
@supervisors
def funnel_page(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "funnel")


@require_GET
@supervisors
def people_page(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "people")


@require_GET
@supervisors
def answers_page(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, "answers")


# ---- exports: every table of a dashboard, CSV one after another, XLSX a sheet each -------------------


def _report_tables(request: HttpRequest, measure: str) -> tuple[list[Table] | None, dict[str, list[str]]]:
    if measure not in MEASURES:
        raise Http404
    f, errors = parse_filters(request.GET)
    if errors:
        return None, errors
    report, _extra = MEASURES[measure](f)
    return (report.tables() if report is not None else []), {}


def _filename(measure: str, extension: str) -> str:
    return f"ciclo-insight-{measure}-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _csv_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float | Decimal):
        return str(value).replace(".", ",")
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_chunks(tables: list[Table]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff"
    for i, table in enumerate(tables):
        if i:
            yield writer.writerow([])
        yield writer.writerow([table.title])
        yield writer.writerow(table.columns)
        for row in table.rows:
            yield writer.writerow([_csv_value(v) for v in row])


def _refused(request: HttpRequest, measure: str, errors: dict[str, list[str]]) -> HttpResponse:
    f, _e = parse_filters({})
    context = {"nav": "insight", "measure": measure, "title": TITLES[measure], "titles": TITLES, "filters": f}
    context.update(errors=errors, report=None, tables={}, query="", **_choices())
    return render(request, "insight/dashboard.html", context, status=400)


@require_GET
@supervisors
def export_csv(request: HttpRequest, measure: str) -> HttpResponse:
    tables, errors = _report_tables(request, measure)
    if tables is None:
        return _refused(request, measure, errors)
    response = StreamingHttpResponse(_csv_chunks(tables), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(measure, "csv")}"'
    return response  # type: ignore[return-value]


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=timezone.localtime(value).replace(tzinfo=None))
        cell.number_format = "dd/mm/yyyy hh:mm"
        return cell
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "dd/mm/yyyy"
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


@require_GET
@supervisors
def export_xlsx(request: HttpRequest, measure: str) -> HttpResponse:
    tables, errors = _report_tables(request, measure)
    if tables is None:
        return _refused(request, measure, errors)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for i, table in enumerate(tables, start=1):
        title = ILLEGAL_CHARACTERS_RE.sub("", f"{i} {table.title}")
        for bad in "[]:*?/\\":
            title = title.replace(bad, " ")
        sheet = workbook.create_sheet(title=title[:31])
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=str(column))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            sheet.append([_xlsx_value(sheet, v) for v in row])
    if not tables:
        workbook.create_sheet(title=str(TITLES[measure])[:31])
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes (and so deletes) it once sent
    workbook.save(spooled)
    spooled.seek(0)
    return FileResponse(  # type: ignore[return-value]
        spooled,
        as_attachment=True,
        filename=_filename(measure, "xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

"""The follow-up pages: the daily list (filters, sort, the groups' pages, the pipeline), its exports,
and "record call", the note form opened beside a row (htmx).

Every read comes from ciclo.sales.followup and every write from ciclo.sales.calls, which the API
and the exports share; this module reads the request and renders.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, reswap, retarget
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.roles import is_supervisor
from ciclo.configurator.models import AnswerType, ResponsibilityCenter, ServiceType, sales_type_ids
from ciclo.http import HtmxHttpRequest, parse_id, parse_int
from ciclo.sales import followup
from ciclo.sales.calls import cycle_in_calls, record_call
from ciclo.sales.contacts import OutcomeInput
from ciclo.sales.models import LostReason, SalesContact
from ciclo.tickets import cycle_form
from ciclo.tickets.access import assignable_users, ticket_for
from ciclo.tickets.answering import cycle_of
from ciclo.tickets.errors import (
    AnswerConflict,
    DecisionRequired,
    InvalidChoice,
    InvalidInput,
    NotAllowed,
    PhaseLocked,
    RequiredUnanswered,
    StaleTicket,
    TicketClosed,
)
from ciclo.tickets.models import Channel, Ticket
from ciclo.tickets.values import format_number
from ciclo.tickets.views.ticket import cycle_context, note_context

CSV_DATETIME = "%d/%m/%Y %H:%M"
XLSX_DATETIME = "dd/mm/yyyy hh:mm"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CURSOR_PARAM = "{}_after"


# ---- the list ----------------------------------------------------------------------------------------------------


def _team() -> list[tuple[int, str]]:
    """The users a supervisor may look at: every active user with a Ciclo role, by name."""
    users = assignable_users().order_by("first_name", "last_name", "username")
    return [
        (pk, f"{first} {last}".strip() or username)
        for pk, first, last, username in users.values_list("id", "first_name", "last_name", "username")
    ]


def _money(value: Decimal | None) -> str:
    return "" if value is None else format_number(value, AnswerType.MONEY, currency=True)


def _when(at: dt.datetime | None) -> str:
    return "" if at is None else formats.date_format(timezone.localtime(at), "SHORT_DATETIME_FORMAT")


def _list_url(params: QueryDict, **changes: Any) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value in (None, ""):
            query.pop(name, None)
        else:
            query[name] = str(value)
    return "?" + urlencode(sorted(query.lists()), doseq=True)


class _Urls:
    """The rows' links, made from one reverse() each (a reverse per row costs more than the row's query)."""

    MARK = "999999999"

    def __init__(self) -> None:
        self.ticket = reverse("ticket", args=[int(self.MARK)])
        self.call = reverse("followup_call", args=[int(self.MARK)])

    def of(self, pattern: str, pk: int) -> str:
        return pattern.replace(self.MARK, str(pk))


def _shown(row: followup.FollowupRow, urls: _Urls) -> dict[str, Any]:
    """A row as the table and the cards show it, every value ready (the texts in the active language)."""
    p = row.progress
    missing = (
        ngettext("%(n)s required", "%(n)s required", p.required_missing) % {"n": p.required_missing}
        if p.required_missing
        else ""
    )
    days = row.days_in_phase or 0
    return {
        "pk": str(row.pk),
        "url": urls.of(urls.ticket, row.pk),
        "call_url": urls.of(urls.call, row.pk),
        "missing_label": missing,
        "days_label": ngettext("%(n)s day in phase", "%(n)s days in phase", days) % {"n": days},
        "subject": row.subject,
        "when": _when(row.next_contact_at),
        "who": row.next_contact_user,
        "person": row.person,
        "channel": row.channel_label,
        "type": row.service_type,
        "colour": row.colour,
        "referral": row.referral,
        "success": "" if row.success is None else f"{row.success}%",
        "value": _money(row.expected_value),
        "phase": row.phase,
        "answered": p.answered,
        "total": p.total,
        "missing": p.required_missing,
        "days": "" if row.days_in_phase is None else row.days_in_phase,
        "stale": row.stale,
        "stale_after": row.stale_after_days,
    }


def _state(request: HttpRequest) -> tuple[followup.FollowupFilter, dict[str, list[str]], followup.Whose]:
    f, errors = followup.parse_filter(request.GET)
    who = followup.whose(request.user, request.GET.get("user", ""))
    return f, errors, who


def _context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    f, errors, who = _state(request)
    supervisor = is_supervisor(request.user)
    params = request.GET.copy()
    cursors = {key: params.get(CURSOR_PARAM.format(key), "") for key in followup.GROUP_KEYS}
    sales_types = sales_type_ids()
    listing = None
    if not errors:
        try:
            listing = followup.followup_list(
                request.user, users=who, filters=f, cursors=cursors, sales_types=sales_types
            )
        except followup.query.BadCursor as err:
            errors = {"cursor": [str(err)]}
    groups = []
    if listing is not None:
        without_cursors = {CURSOR_PARAM.format(key): None for key in followup.GROUP_KEYS}
        urls = _Urls()
        for page in listing.groups:
            groups.append(
                {
                    "key": page.key,
                    "title": page.title,
                    "count": page.count,
                    "rows": [_shown(r, urls) for r in page.rows],
                    "first_url": _list_url(params, **without_cursors) if page.cursor else "",
                    "next_url": _list_url(params, **{CURSOR_PARAM.format(page.key): page.next_cursor})
                    if page.next_cursor
                    else "",
                }
            )
    export_params = {**f.as_params(), **({"user": request.GET["user"]} if who.kind != "me" else {})}
    export_query = urlencode(export_params, doseq=True)
    context = {
        "nav": "followup",
        "filter": f,
        "errors": {name: errors.get(name, []) for name in (*FILTER_FIELDS, "cursor")},
        "has_errors": bool(errors),
        "listing": listing,
        "groups": groups,
        "pipeline": _money(listing.pipeline) if listing else "",
        "expected_total": _money(listing.expected_total) if listing else "",
        "count": listing.count if listing else 0,
        "whose": who.kind,
        "shown_user": who.user_id if who.kind == "user" else None,
        "team": _team() if supervisor else [],
        "team_value": followup.TEAM,
        "show_user_column": who.kind != "me",
        "types": list(
            ServiceType.objects.filter(pk__in=sorted(sales_types), kind=ServiceType.Kind.ANALYTICAL)
            .order_by("code_key")
            .values_list("id", "code", "description")
        ),
        "phases": list(ResponsibilityCenter.objects.order_by("code_key").values_list("id", "code", "description")),
        "channels": [(v, label) for v, label in Channel.choices if v != Channel.SYSTEM],
        "sorts": [(key, s.label) for key, s in followup.SORTS.items()],
        "csv_url": reverse("followup_export_csv") + (f"?{export_query}" if export_query else ""),
        "xlsx_url": reverse("followup_export_xlsx") + (f"?{export_query}" if export_query else ""),
        "list_query": request.GET.urlencode(),
        "list_param": urlencode({"list": request.GET.urlencode()}),
        "today": timezone.localdate(),
    }
    return context, 422 if errors else 200


FILTER_FIELDS = ("service_types", "crs", "channel", "stale", "success_min", "success_max", "text", "sort", "user")


@require_GET
@ciclo_user
def followup_page(request: HtmxHttpRequest) -> HttpResponse:
    """The daily list; with htmx (the filter form, a group's pages) only the results, and the address follows."""
    context, status = _context(request)
    if request.htmx and not request.htmx.boosted and request.htmx.target == "followup-results":
        response = render(request, "sales/_results.html", context, status=status)
        return push_url(response, reverse("followup") + (f"?{context['list_query']}" if context["list_query"] else ""))
    return render(request, "sales/followup.html", context, status=status)


# ---- exports -----------------------------------------------------------------------------------------------------


def _headers() -> list[str]:
    return [
        _("Group"),
        _("Number"),
        _("Next contact"),
        _("Next contact with"),
        _("Person"),
        _("Subject"),
        _("Channel"),
        _("Type"),
        _("Referral"),
        _("Success %"),
        _("Expected value (R$)"),
        _("Weighted value (R$)"),
        _("Phase"),
        _("Answered"),
        _("Questions"),
        _("Required unanswered"),
        _("Days in phase"),
        _("Stale"),
    ]


def _values(group: str, row: followup.FollowupRow, titles: dict[str, str]) -> list[Any]:
    p = row.progress
    return [
        titles[group],
        row.pk,
        row.next_contact_at,
        row.next_contact_user,
        row.person,
        row.subject,
        row.channel_label,
        row.service_type,
        row.referral,
        row.success,
        row.expected_value,
        row.weighted_value if row.expected_value is not None and row.success is not None else None,
        row.phase,
        p.answered,
        p.total,
        p.required_missing,
        row.days_in_phase,
        _("yes") if row.stale else _("no"),
    ]


def _filename(extension: str) -> str:
    return f"ciclo-follow-up-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _export_rows(request: HttpRequest) -> tuple[Iterator[tuple[str, followup.FollowupRow]] | None, dict[str, Any]]:
    f, errors, who = _state(request)
    if errors:
        return None, {}
    return followup.walk(request.user, who, f), {g.key: str(g.title) for g in followup.GROUPS}


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_value(value: Any, tz: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, tz).strftime(CSV_DATETIME)
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


@require_GET
@ciclo_user
def export_csv(request: HttpRequest) -> HttpResponse:
    """The list as CSV, every contact the filter matches (UTF-8 with a BOM, ";" between fields, as a
    Brazilian Excel opens it; decimals with a comma)."""
    rows, titles = _export_rows(request)
    if rows is None:
        context, status = _context(request)
        return render(request, "sales/followup.html", context, status=status)
    language, tz = translation.get_language(), timezone.get_current_timezone()

    def chunks() -> Iterator[str]:
        writer = csv.writer(_Echo(), delimiter=";")
        with translation.override(language), timezone.override(tz):
            yield "\ufeff" + writer.writerow(_headers())
            batch: list[str] = []
            for group, row in rows:
                batch.append(writer.writerow([_csv_value(v, tz) for v in _values(group, row, titles)]))
                if len(batch) >= 500:
                    yield "".join(batch)
                    batch = []
            if batch:
                yield "".join(batch)

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    return response  # type: ignore[return-value]  # ciclo_user's View type says HttpResponse


def _xlsx_cell(sheet: Any, value: Any, tz: Any) -> Any:
    if isinstance(value, dt.datetime):
        cell = WriteOnlyCell(sheet, value=timezone.localtime(value, tz).replace(tzinfo=None))
        cell.number_format = XLSX_DATETIME
        return cell
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00"
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


@require_GET
@ciclo_user
def export_xlsx(request: HttpRequest) -> HttpResponse:
    rows, titles = _export_rows(request)
    if rows is None:
        context, status = _context(request)
        return render(request, "sales/followup.html", context, status=status)
    tz = timezone.get_current_timezone()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Follow-up")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for label in _headers():
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for group, row in rows:
        sheet.append([_xlsx_cell(sheet, v, tz) for v in _values(group, row, titles)])
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 -- FileResponse closes (and so deletes) it once sent
    workbook.save(spooled)
    spooled.seek(0)
    return FileResponse(  # type: ignore[return-value]  # ciclo_user's View type says HttpResponse
        spooled,
        as_attachment=True,
        filename=_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---- recording a call --------------------------------------------------------------------------------------------

OUTCOME_FIELDS = ("outcome", "won_value", "lost_reason", "outcome_text")


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    qs = Ticket.objects.select_related("person", "service_type", "cr", "next_contact_user")
    return ticket_for(request.user, pk, qs)


def _current_phase(ticket: Ticket) -> list[cycle_form.PhaseForm]:
    """The cycle form of the ticket's current phase alone (an earlier phase's answers stay on the ticket page)."""
    return [form for form in cycle_form.build(cycle_of(ticket)) if form.phase.state == "current"]


def _may_close(route: Any) -> bool:
    """Whether moving on can close the ticket: where it leads, or where an option of a decision on the way does."""
    if route.closed:
        return False
    if route.first.closes or (route.target is not None and route.target.closes):
        return True
    return any(o.leads.closes for d in route.decisions for o in d.options)


def call_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    forms: list[cycle_form.PhaseForm] | None = None,
    slot: str = "row",
    **extra: Any,
) -> dict[str, Any]:
    """The call panel: the note form (ciclo.tickets' own context), the current phase's questions when the
    CRM option is on, and the outcome a closing note asks for."""
    use_cycle = cycle_in_calls()
    outcome_values = extra.pop("outcome_values", {})
    outcome_errors = extra.pop("outcome_errors", {})
    context = note_context(request, ticket, **extra)
    cycle: dict[str, Any] = {"cycle_phases": [], "phase_forms": []}
    if use_cycle:
        cycle = cycle_context(request, ticket, forms if forms is not None else _current_phase(ticket))
    sales = SalesContact.objects.filter(ticket_id=ticket.pk).first()
    return {
        **cycle,
        **context,
        "slot": "card" if slot == "card" else "row",
        "prefix": f"{'card' if slot == 'card' else 'row'}-{ticket.pk}",
        "use_cycle": use_cycle,
        "may_close": _may_close(context["route"]),
        "lost_reasons": list(LostReason.objects.active().order_by("position", "name").values_list("id", "name")),
        "outcome_values": {**dict.fromkeys(OUTCOME_FIELDS, ""), **outcome_values},
        "outcome_errors": {**{name: [] for name in OUTCOME_FIELDS}, **outcome_errors},
        "sales": sales,
        "success": "" if sales is None or sales.success is None else f"{sales.success}%",
        "expected_value": _money(sales.expected_value) if sales is not None else "",
        "list_query": extra.get("list_query", request.GET.get("list", "")),
        "done": extra.get("done", ""),
    }


@require_GET
@ciclo_user
def call_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The call form of one contact, opened beside its row (without htmx: on a page of its own)."""
    ticket = _ticket(request, pk)
    context = call_context(request, ticket, slot=request.GET.get("slot", "row"))
    if not request.htmx:  # type: ignore[attr-defined]
        return render(request, "sales/call_page.html", context)
    return render(request, "sales/_call.html", context)


def _choices(data: QueryDict) -> dict[int, int]:
    """The decisions' options chosen in the form: `choice-<decision step id>` = option id (as on the ticket page)."""
    choices = {}
    for key in data:
        if key.startswith("choice-"):
            step, option = parse_id(key.removeprefix("choice-")), parse_id(data.get(key) or "")
            if step is not None and option is not None:
                choices[step] = option
    return choices


def _parse_when(raw: str) -> dt.datetime | None:
    from django.utils.dateparse import parse_datetime

    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise ValueError
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _outcome(data: QueryDict) -> OutcomeInput | None:
    """The outcome the form gives (none when no outcome is chosen); the engine checks it."""
    kind = data.get("outcome", "")
    if not kind:
        return None
    return OutcomeInput(
        outcome=kind,
        won_value=data.get("won_value", ""),
        lost_reason=data.get("lost_reason") or None,
        text=data.get("outcome_text", ""),
    )


@require_POST
@ciclo_user
def call(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record the call: the answers of the phase (option on) and the note, together or not at all. A refused
    call re-renders the panel with its errors beside their fields; a recorded one shows the list again."""
    ticket = _ticket(request, pk)
    data = request.POST
    slot = data.get("slot", "row")
    choices = _choices(data)
    errors: dict[str, list[str]] = {}
    extra: dict[str, Any] = {}
    try:
        next_contact_at = _parse_when(data.get("next_contact_at", ""))
    except ValueError:
        next_contact_at = None
        errors["next_contact_at"] = [_("Give the next contact as a date and time.")]
    user_id = parse_id(data.get("next_contact_user", ""))
    next_user = assignable_users().filter(pk=user_id).first() if user_id is not None else None
    if data.get("next_contact_user") and next_user is None:
        errors["next_contact_user"] = [_("Choose an active user.")]
    outcome = _outcome(data)
    outcome_errors: dict[str, list[str]] = {}
    version = parse_int(data.get("version", ""))
    use_cycle = cycle_in_calls()
    forms = _current_phase(ticket) if use_cycle else []
    inputs = cycle_form.read(forms, data) if use_cycle else []
    rows = {row.question.pk: row for form in forms for row in form.rows}
    status = 422
    if unsettled := cycle_form.unsettled(forms):
        extra["general"] = _(
            "Nothing was recorded: for each answer someone else changed, choose “Keep theirs” or “Use mine”: "
            "%(questions)s."
        ) % {"questions": ", ".join(row.label for row in unsettled)}
    elif not errors:
        try:
            result = record_call(
                ticket,
                by=request.user,
                text=data.get("text", ""),
                channel=data.get("channel", Channel.PHONE),
                next_contact_at=next_contact_at,
                next_contact_user=next_user,
                move_on=data.get("move_on") == "1",
                answers=inputs,
                outcome=outcome,
                version=version,
                choices=choices,
                override_reason=data.get("override_reason", ""),
            )
        except InvalidInput as err:
            for key, messages in err.errors.items():
                if key.isdigit() and int(key) in rows:
                    rows[int(key)].errors = messages
                elif key in OUTCOME_FIELDS:
                    outcome_errors[key] = messages
                else:
                    errors[key] = messages
            if any(row.errors for row in rows.values()):
                extra["general"] = _("Nothing was recorded: correct the answers marked below.")
        except DecisionRequired as err:
            extra["prompt"] = _("To move on, choose where the ticket goes: “%(question)s”.") % {
                "question": err.question
            }
            extra["pending"] = err.step_id
        except RequiredUnanswered as err:
            extra["blocked"] = err.message
        except StaleTicket:
            extra["stale"] = _(
                "Someone else changed this contact since you opened it: the form now shows it as it is. "
                "Your note is kept below: check it and record it again."
            )
            version = None
        except AnswerConflict as err:
            # Their answers as they are now: what "Use mine" will replace.
            fresh = {r.question.pk: r.answer for form in _current_phase(ticket) for r in form.rows}
            for conflict in err.conflicts:
                row = rows[conflict["question"]]
                answer = fresh.get(row.question.pk)
                row.conflict = cycle_form.conflict_of(answer)
                row.version = answer.version if answer else conflict["current_version"]
            extra["general"] = _(
                "Nothing was recorded: someone else changed answers since you opened the form. "
                "For each one marked below, keep their answer or use yours, then record again."
            )
            status = 409
        except (TicketClosed, InvalidChoice, NotAllowed, PhaseLocked) as err:
            extra["general"] = err.message
            status = 403 if isinstance(err, NotAllowed) else 409
        else:
            return _recorded(request, result)
    ticket = _ticket(request, pk)
    if extra.get("stale") or version is None:
        extra["form_version"] = ticket.version
        forms = _current_phase(ticket) if use_cycle else []
    else:
        extra["form_version"] = version
    context = call_context(
        request,
        ticket,
        forms=forms,
        slot=slot,
        values=data,
        errors=errors,
        choices=choices,
        outcome_values={name: data.get(name, "") for name in OUTCOME_FIELDS},
        outcome_errors=outcome_errors,
        list_query=data.get("list", ""),
        **extra,
    )
    if not request.htmx:
        return render(request, "sales/call_page.html", context, status=status)
    # htmx swaps only successful answers by default: the panel carries its own errors.
    return render(request, "sales/_call.html", context)


def _recorded(request: HtmxHttpRequest, result: Any) -> HttpResponse:
    """After a call: the list as it is now (the contact may have moved to another group), with what was done."""
    ticket = result.ticket
    move = result.note.move
    if move is None:
        done = _("Call recorded for #%(number)s.") % {"number": ticket.pk}
    elif ticket.is_closed:
        done = _("Call recorded; #%(number)s reached %(cr)s and is closed.") % {"number": ticket.pk, "cr": move.to_cr}
    else:
        done = _("Call recorded; #%(number)s moved to %(cr)s.") % {"number": ticket.pk, "cr": move.to_cr}
    list_query = request.POST.get("list", "")
    if not request.htmx:
        from django.contrib import messages
        from django.shortcuts import redirect

        messages.success(request, done)
        return redirect(reverse("followup") + (f"?{list_query}" if list_query else ""))
    request.GET = QueryDict(list_query)
    context, _status = _context(request)
    context["done"] = done
    response = render(request, "sales/_results.html", context, status=200)
    retarget(response, "#followup-results")
    reswap(response, "outerHTML")
    return response

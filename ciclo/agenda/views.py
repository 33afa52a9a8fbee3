"""The agenda's pages: a user's day, week and month; an appointment's panel (with its ticket's cycle);
the forms that create, change, move, cancel and mark done, each calling one function of
ciclo.agenda.appointments.

An agent sees their own agenda; a supervisor (or an admin) picks the team's calendars to show
beside their own. Times are the site's time zone (America/Sao_Paulo), dd/mm/yyyy and 24 h.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from ciclo.accounts.decorators import ciclo_user
from ciclo.accounts.roles import is_supervisor
from ciclo.agenda.appointments import (
    AppointmentConflict,
    AppointmentInvalid,
    AppointmentNotAllowed,
    appointments_between,
    cancel_appointment,
    change_appointment,
    create_appointment,
    mark_done,
    may_manage,
    visible_users,
)
from ciclo.agenda.models import Appointment, AppointmentChange
from ciclo.http import HtmxHttpRequest, parse_id, parse_int
from ciclo.jinja import render_rows
from ciclo.people.models import Person
from ciclo.tickets.access import ticket_for
from ciclo.tickets.models import Channel, Ticket
from ciclo.tickets.views.ticket import cycle_context

KINDS = ("day", "week", "month")
MONTH_SHOWN = 3  # appointments a month's day shows; the rest are counted, and the day's view has them all
USER_COLOURS = 6  # agenda-user-0 … agenda-user-5 in agenda.css, one per calendar shown


def _name(first: str, last: str, username: str) -> str:
    return f"{first or ''} {last or ''}".strip() or username


# ---- the calendars -----------------------------------------------------------------------------------


@dataclass
class Item:
    """An appointment as a day shows it, its values ready for the page."""

    pk: int
    url: str
    time: str  # "09:00–09:30", or what part of a day it takes when it spans days
    title: str
    person: str
    place: str
    status: str
    status_label: str
    user: str
    colour: int
    ticket_id: int | None
    next_contact: bool


@dataclass
class Day:
    date: dt.date
    label: str
    url: str
    today: bool
    outside: bool = False  # a month grid's day of the month before or after
    items: list[Item] = field(default_factory=list)
    items_html: str = ""  # the items shown (the month's first MONTH_SHOWN), rendered by Jinja2 (agenda/items.html)
    count: int = 0  # the appointments of the day, shown or not

    @property
    def shown(self) -> list[Item]:
        return self.items[:MONTH_SHOWN]

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.shown))


def _range(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day shown and the day after the last: the day; its week from Monday; its month's weeks."""
    if kind == "day":
        return day, day + dt.timedelta(days=1)
    if kind == "week":
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=7)
    first_of_month = day.replace(day=1)
    next_month = (first_of_month + dt.timedelta(days=32)).replace(day=1)
    first = first_of_month - dt.timedelta(days=first_of_month.weekday())
    last = next_month + dt.timedelta(days=(7 - next_month.weekday()) % 7)
    return first, last


def _step(kind: str, day: dt.date, forward: bool) -> dt.date:
    sign = 1 if forward else -1
    if kind == "day":
        return day + dt.timedelta(days=sign)
    if kind == "week":
        return day + dt.timedelta(days=7 * sign)
    first = day.replace(day=1)
    return (first + dt.timedelta(days=32)).replace(day=1) if forward else (first - dt.timedelta(days=1)).replace(day=1)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _chosen_users(request: HttpRequest) -> tuple[list[int], list[tuple[int, str]]]:
    """The users whose calendars are shown (the `user` parameters the viewer may open; themselves when
    none), and for a supervisor the team to pick from (id, name)."""
    me = int(request.user.pk or 0)  # ciclo_user: a signed-in user
    if not is_supervisor(request.user):
        return [me], []
    team = [
        (pk, _name(first, last, username))
        for pk, first, last, username in visible_users(request.user)
        .order_by("first_name", "last_name", "username")
        .values_list("id", "first_name", "last_name", "username")
    ]
    allowed = {pk for pk, _n in team}
    chosen = [pk for raw in request.GET.getlist("user") if (pk := parse_id(raw)) is not None and pk in allowed]
    return list(dict.fromkeys(chosen)) or [me], team


def _url(kind: str, params: QueryDict, **changes: Any) -> str:
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value not in (None, ""):
            query[name] = str(value)
    encoded = urlencode(sorted(query.lists()), doseq=True)
    return reverse(f"agenda_{kind}") + (f"?{encoded}" if encoded else "")


def _time_span(start: dt.datetime, end: dt.datetime, day: dt.date) -> str:
    """The part of `day` the appointment takes, as the day shows it: 24 h in every language (TIME_FORMAT "H:i")."""
    starts_today = start.date() == day
    ends_today = end.date() == day or (end.date() == day + dt.timedelta(days=1) and end.time() == dt.time.min)
    if starts_today and ends_today:
        return f"{start:%H:%M}–{end:%H:%M}"
    if starts_today:
        return f"{start:%H:%M} →"
    if ends_today:
        return f"→ {end:%H:%M}"
    return _("all day")


def agenda_days(
    kind: str, day: dt.date, user_ids: list[int], *, today: dt.date, show_cancelled: bool = False
) -> list[Day]:
    """The days shown, each with the appointments of `user_ids` that it holds (one query)."""
    first, after = _range(kind, day)
    days: dict[dt.date, Day] = {}
    d = first
    while d < after:
        days[d] = Day(
            date=d,
            label=formats.date_format(d, "SHORT_DATE_FORMAT"),
            url=reverse("agenda_day") + f"?date={d.isoformat()}",
            today=d == today,
            outside=kind == "month" and d.month != day.month,
        )
        d += dt.timedelta(days=1)
    found = appointments_between(user_ids, _midnight(first), _midnight(after))
    if not show_cancelled:
        found = found.exclude(status=Appointment.Status.CANCELLED)
    # Where each shows: every day it overlaps (None: all of them).
    shown_on: dict[int, set[dt.date]] | None = None
    if kind == "month":
        # A month's day shows its first MONTH_SHOWN and counts the rest: every appointment's times are read
        # from the index alone (appointment_user_start holds them), the rest only of those shown.
        shown_on = {}
        for pk, start, end in found.values_list("id", "start", "end"):
            for d in _days_of(timezone.localtime(start), timezone.localtime(end), first, after):
                days[d].count += 1
                if days[d].count <= MONTH_SHOWN:
                    shown_on.setdefault(pk, set()).add(d)
        found = found.filter(pk__in=list(shown_on))
    rows = found.values(*ITEM_FIELDS) if shown_on is None or shown_on else []
    colours = {pk: i % USER_COLOURS for i, pk in enumerate(user_ids)}
    prefix = reverse("agenda_week")  # an appointment's address is the agenda's, then its id
    labels = dict(Appointment.Status.choices)
    several = len(user_ids) > 1
    for v in rows:
        start, end = timezone.localtime(v["start"]), timezone.localtime(v["end"])
        for d in _days_of(start, end, first, after):
            if shown_on is not None and d not in shown_on[v["id"]]:
                continue
            days[d].items.append(
                Item(
                    pk=v["id"],
                    url=f"{prefix}{v['id']}/",
                    time=_time_span(start, end, d),
                    title=v["title"],
                    person=v["person__name"] or "",
                    place=v["place"],
                    status=v["status"],
                    status_label=str(labels[v["status"]]),
                    user=_name(v["user__first_name"], v["user__last_name"], v["user__username"]) if several else "",
                    colour=colours.get(v["user_id"], 0),
                    ticket_id=v["ticket_id"],
                    next_contact=v["source"] == Appointment.Source.NEXT_CONTACT,
                )
            )
    compact = kind == "month"
    for shown in days.values():
        if not compact:
            shown.count = len(shown.items)
        if shown.items:
            items = shown.shown if compact else shown.items
            shown.items_html = render_rows("agenda/items.html", {"items": items, "compact": compact})
    return list(days.values())


# What a day shows of each appointment.
ITEM_FIELDS = (
    "id",
    "start",
    "end",
    "title",
    "status",
    "source",
    "place",
    "ticket_id",
    "user_id",
    "person__name",
    "user__first_name",
    "user__last_name",
    "user__username",
)


def _days_of(start: dt.datetime, end: dt.datetime, first: dt.date, after: dt.date) -> list[dt.date]:
    """The days from `first` to before `after` that an appointment (local times) overlaps."""
    last = min((end - dt.timedelta(microseconds=1)).date(), after - dt.timedelta(days=1))
    d, out = max(start.date(), first), []
    while d <= last:
        out.append(d)
        d += dt.timedelta(days=1)
    return out


def _title(kind: str, day: dt.date) -> str:
    if kind == "day":
        return formats.date_format(day, "DATE_FORMAT")
    if kind == "week":
        first, after = _range(kind, day)
        return _("Week of %(first)s to %(last)s") % {
            "first": formats.date_format(first, "SHORT_DATE_FORMAT"),
            "last": formats.date_format(after - dt.timedelta(days=1), "SHORT_DATE_FORMAT"),
        }
    return formats.date_format(day, "YEAR_MONTH_FORMAT")


def _calendar(request: HttpRequest, kind: str) -> HttpResponse:
    today = timezone.localdate()
    raw = request.GET.get("date", "")
    try:
        day = parse_date(raw) if raw else None
    except ValueError:
        day = None
    day = day or today
    user_ids, team = _chosen_users(request)
    show_cancelled = request.GET.get("cancelled") == "1"
    params = request.GET.copy()
    days = agenda_days(kind, day, user_ids, today=today, show_cancelled=show_cancelled)
    weekdays = [formats.date_format(d.date, "l") for d in days[:7]]
    return render(
        request,
        "agenda/calendar.html",
        {
            "nav": "agenda",
            "kind": kind,
            "day": day,
            "title": _title(kind, day),
            "days": days,
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)] if kind == "month" else [],
            "weekdays": weekdays,
            "today_url": _url(kind, params, date=None),
            "previous_url": _url(kind, params, date=_step(kind, day, False).isoformat()),
            "next_url": _url(kind, params, date=_step(kind, day, True).isoformat()),
            "kind_urls": [(k, _url(k, params), label) for k, label in _kind_labels()],
            "is_today_shown": _range(kind, day)[0] <= today < _range(kind, day)[1],
            "team": team,
            "chosen": user_ids,
            "show_cancelled": show_cancelled,
            "new_url": reverse("agenda_new") + f"?date={day.isoformat()}",
        },
    )


def _kind_labels() -> list[tuple[str, str]]:
    return [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))]


@require_GET
@ciclo_user
def week(request: HttpRequest) -> HttpResponse:
    return _calendar(request, "week")


@require_GET
@ciclo_user
def day(request: HttpRequest) -> HttpResponse:
    return _calendar(request, "day")


@require_GET
@ciclo_user
def month(request: HttpRequest) -> HttpResponse:
    return _calendar(request, "month")


# ---- one appointment -----------------------------------------------------------------------------------


def appointment_for(user: Any, pk: int) -> Appointment:
    """The appointment if it is on an agenda `user` may open; 404 otherwise (its existence is not told)."""
    found = (
        Appointment.objects.filter(pk=pk, user__in=visible_users(user))
        .select_related("user", "person", "created_by")
        .first()
    )
    if found is None:
        raise Http404(_("No such appointment."))
    return found


def _panel_context(request: HttpRequest, appointment: Appointment, **extra: Any) -> dict[str, Any]:
    ticket: Ticket | None = None
    ticket_hidden = False
    cycle: dict[str, Any] = {}
    if appointment.ticket_id is not None:
        try:
            ticket = ticket_for(
                request.user,
                appointment.ticket_id,
                Ticket.objects.select_related(
                    "service_type", "cr", "person", "company", "contact_person", "next_contact_user"
                ),
            )
        except Http404:
            ticket_hidden = True
        else:
            cycle = cycle_context(request, ticket)
    changes = list(
        AppointmentChange.objects.filter(appointment=appointment).select_related("by").order_by("-at", "-id")[:20]
    )
    start, end = timezone.localtime(appointment.start), timezone.localtime(appointment.end)
    return {
        **cycle,
        "appointment": appointment,
        "when": _when(start, end),
        "ticket": ticket,
        "ticket_hidden": ticket_hidden,
        "can_manage": appointment.is_planned and may_manage(request.user, appointment.user_id),
        "history": [_change_line(c) for c in changes],
        "oob": False,
        "panel_error": "",
        "panel_success": "",
        **extra,
    }


def _when(start: dt.datetime, end: dt.datetime) -> str:
    """09/12/2026 09:00–09:30; from one day to another, both days and times."""
    if start.date() == end.date():
        day = formats.date_format(start, "SHORT_DATE_FORMAT")
        return f"{day} {formats.time_format(start, 'TIME_FORMAT')}–{formats.time_format(end, 'TIME_FORMAT')}"
    first, last = (formats.date_format(v, "SHORT_DATETIME_FORMAT") for v in (start, end))
    return f"{first} – {last}"


_FIELD_NAMES = {
    "user": gettext_lazy("agenda"),
    "start": gettext_lazy("start"),
    "end": gettext_lazy("end"),
    "title": gettext_lazy("title"),
    "person": gettext_lazy("person"),
    "ticket": gettext_lazy("ticket"),
    "channel": gettext_lazy("channel"),
    "place": gettext_lazy("place"),
    "notes": gettext_lazy("notes"),
    "status": gettext_lazy("status"),
}


def _shown_value(name: str, value: Any) -> str:
    if value in (None, ""):
        return "—"
    if name in ("start", "end"):
        parsed = dt.datetime.fromisoformat(value)
        return formats.date_format(timezone.localtime(parsed), "SHORT_DATETIME_FORMAT")
    if name == "status":
        return str(dict(Appointment.Status.choices).get(value, value))
    if name == "channel":
        return str(dict(Channel.choices).get(value, value))
    if name in ("user", "person", "ticket"):
        return f"#{value}" if name == "ticket" else str(value)
    return str(value)


def _change_line(change: AppointmentChange) -> dict[str, Any]:
    by = change.by
    return {
        "at": formats.date_format(timezone.localtime(change.at), "SHORT_DATETIME_FORMAT"),
        "by": _name(by.first_name, by.last_name, by.username),
        "kind": change.get_kind_display(),
        "reason": change.reason,
        "fields": [
            (str(_FIELD_NAMES.get(n, n)), _shown_value(n, old), _shown_value(n, new))
            for n, (old, new) in change.changes.items()
            if n not in ("user", "person") or change.kind != AppointmentChange.Kind.CREATED
        ]
        if change.kind == AppointmentChange.Kind.CHANGED
        else [],
    }


def _panel(request: HtmxHttpRequest, appointment: Appointment, status: int = 200, **extra: Any) -> HttpResponse:
    context = _panel_context(request, appointment, **extra)
    template = "agenda/_panel.html" if request.htmx else "agenda/appointment.html"
    # htmx swaps only successful responses: its fragment carries its own errors.
    return render(request, template, {"nav": "agenda", **context}, status=200 if request.htmx else status)


@require_GET
@ciclo_user
def appointment(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The appointment's panel: when, with whom, its history; its ticket's header and cycle, answerable."""
    return _panel(request, appointment_for(request.user, pk))


# ---- the form ----------------------------------------------------------------------------------------


class AppointmentForm(forms.Form):
    """What the page sends; the rules (lengths, the end after the start, who may) are the domain's."""

    user = forms.TypedChoiceField(label=gettext_lazy("Agenda of"), coerce=int, required=False)
    start_date = forms.DateField(label=gettext_lazy("Date"))
    start_time = forms.TimeField(label=gettext_lazy("Start"))
    end_date = forms.DateField(label=gettext_lazy("End date"), required=False)
    end_time = forms.TimeField(label=gettext_lazy("End"))
    title = forms.CharField(label=gettext_lazy("Title"), required=False, strip=False)
    person = forms.CharField(label=gettext_lazy("Person"), required=False)
    ticket = forms.CharField(label=gettext_lazy("Ticket number"), required=False)
    channel = forms.CharField(label=gettext_lazy("Channel"), required=False)
    place = forms.CharField(label=gettext_lazy("Place"), required=False, strip=False)
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, strip=False, widget=forms.Textarea)

    def __init__(self, *args: Any, team: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = team  # type: ignore[attr-defined]
        self.fields["start_date"].error_messages["invalid"] = _("Give the date as dd/mm/yyyy.")
        self.fields["end_date"].error_messages["invalid"] = _("Give the date as dd/mm/yyyy.")
        for name in ("start_time", "end_time"):
            self.fields[name].error_messages["invalid"] = _("Give the time as HH:MM.")

    def clean_person(self) -> Person | None:
        raw = self.cleaned_data["person"]
        if not raw:
            return None
        pk = parse_id(raw)
        person = Person.objects.filter(pk=pk).first() if pk is not None else None
        if person is None:
            raise forms.ValidationError(_("Choose the person from the list."))
        return person

    def clean_ticket(self) -> Ticket | None:
        raw = (self.cleaned_data["ticket"] or "").strip().lstrip("#")
        if not raw:
            return None
        pk = parse_id(raw)
        ticket = Ticket.objects.filter(pk=pk).first() if pk is not None else None
        if ticket is None:
            raise forms.ValidationError(_("There is no ticket #%(number)s.") % {"number": raw})
        return ticket

    def times(self) -> tuple[dt.datetime, dt.datetime]:
        data = self.cleaned_data
        start = timezone.make_aware(dt.datetime.combine(data["start_date"], data["start_time"]))
        end = timezone.make_aware(dt.datetime.combine(data["end_date"] or data["start_date"], data["end_time"]))
        return start, end


# The domain's fields, and the form's inputs that show their errors.
_ERROR_FIELDS = {"start": "start_time", "end": "end_time"}


def _team_choices(request: HttpRequest) -> list[tuple[int, str]]:
    users = visible_users(request.user).order_by("first_name", "last_name", "username")
    return [(u.pk, _name(u.first_name, u.last_name, u.username)) for u in users]


def _initial(appointment: Appointment | None, request: HttpRequest) -> dict[str, Any]:
    if appointment is None:
        day = parse_date(request.GET.get("date", "") or "") if _is_iso(request.GET.get("date", "")) else None
        day = day or timezone.localdate()
        hour = parse_int(request.GET.get("hour", ""), maximum=23)
        begins = dt.time(hour if hour is not None else 9)
        ticket_id = parse_id(request.GET.get("ticket", ""))
        return {
            "user": request.user.pk,
            "start_date": day,
            "start_time": begins,
            "end_date": day,
            "end_time": dt.time(begins.hour, 30),
            "ticket": str(ticket_id) if ticket_id else "",
        }
    start, end = timezone.localtime(appointment.start), timezone.localtime(appointment.end)
    return {
        "user": appointment.user_id,
        "start_date": start.date(),
        "start_time": start.time(),
        "end_date": end.date(),
        "end_time": end.time(),
        "title": appointment.title,
        "person": str(appointment.person_id or ""),
        "ticket": str(appointment.ticket_id or ""),
        "channel": appointment.channel,
        "place": appointment.place,
        "notes": appointment.notes,
    }


def _is_iso(raw: str) -> bool:
    try:
        return bool(raw) and parse_date(raw) is not None
    except ValueError:
        return False


def _form_page(
    request: HtmxHttpRequest,
    form: AppointmentForm,
    appointment: Appointment | None,
    *,
    status: int = 200,
    error: str = "",
    version: int | None = None,
) -> HttpResponse:
    person = form["person"].value()
    person_obj = form.cleaned_data.get("person") if hasattr(form, "cleaned_data") else None
    person_id = parse_id(str(person)) if person else None
    if person_obj is None and person_id is not None:
        person_obj = Person.objects.filter(pk=person_id).first()
    context = {
        "nav": "agenda",
        "form": form,
        "appointment": appointment,
        "chosen_person": person_obj,
        "error": error,
        "channels": [("", "—"), *((v, lbl) for v, lbl in Channel.choices if v != Channel.SYSTEM)],
        "version": appointment.sequence if version is None and appointment is not None else version,
        "action": reverse("agenda_edit", args=[appointment.pk]) if appointment else reverse("agenda_new"),
        "show_user": len(form.fields["user"].choices) > 1,  # type: ignore[attr-defined]
    }
    template = "agenda/_form.html" if request.htmx else "agenda/form.html"
    # htmx swaps only successful responses: its fragment carries its own errors.
    return render(request, template, context, status=200 if request.htmx else status)


def _save(request: HtmxHttpRequest, form: AppointmentForm, appointment: Appointment | None) -> HttpResponse:
    """Validate the form and call the domain; an invalid one comes back with its errors, nothing saved."""
    version = parse_int(request.POST.get("version", ""))
    if not form.is_valid():
        return _form_page(request, form, appointment, status=422, version=version)
    data = form.cleaned_data
    start, end = form.times()
    team = dict(form.fields["user"].choices)  # type: ignore[attr-defined]
    user_id = data["user"] or (appointment.user_id if appointment else request.user.pk)
    if user_id not in team:
        form.add_error("user", _("Choose one of the agendas you may manage."))
        return _form_page(request, form, appointment, status=422, version=version)
    owner = visible_users(request.user).get(pk=user_id)
    values = {
        "user": owner,
        "start": start,
        "end": end,
        "title": data["title"],
        "person": data["person"],
        "ticket": data["ticket"],
        "channel": data["channel"],
        "place": data["place"],
        "notes": data["notes"],
    }
    try:
        if appointment is None:
            saved = create_appointment(by=request.user, **values)
        else:
            saved = change_appointment(appointment, by=request.user, version=version, **values)
    except AppointmentInvalid as err:
        general = []
        for name, messages in err.errors.items():
            target = _ERROR_FIELDS.get(name, name)
            if target in form.fields:
                for message in messages:
                    form.add_error(target, message)
            else:
                general.extend(messages)
        return _form_page(request, form, appointment, status=422, error=" ".join(general), version=version)
    except AppointmentConflict as err:
        return _form_page(request, form, appointment, status=409, error=err.message, version=version)
    except AppointmentNotAllowed as err:
        return _form_page(request, form, appointment, status=403, error=err.message, version=version)
    return _after_save(request, saved)


def _after_save(request: HtmxHttpRequest, saved: Appointment) -> HttpResponse:
    """Back to the agenda's week of the appointment (htmx: the page reloads, showing it where it is now)."""
    start = timezone.localtime(saved.start).date()
    url = reverse("agenda_week") + f"?date={start.isoformat()}"
    if saved.user_id != request.user.pk:
        url += f"&user={saved.user_id}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_http_methods(["GET", "POST"])
@ciclo_user
def new(request: HtmxHttpRequest) -> HttpResponse:
    team = _team_choices(request)
    if request.method == "POST":
        return _save(request, AppointmentForm(request.POST, team=team), None)
    return _form_page(request, AppointmentForm(initial=_initial(None, request), team=team), None)


@require_http_methods(["GET", "POST"])
@ciclo_user
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    appointment = appointment_for(request.user, pk)
    if not may_manage(request.user, appointment.user_id):
        raise AppointmentNotAllowed(_("You may manage only your own agenda; supervisors, their team's."))
    team = _team_choices(request)
    if request.method == "POST":
        return _save(request, AppointmentForm(request.POST, team=team), appointment)
    return _form_page(request, AppointmentForm(initial=_initial(appointment, request), team=team), appointment)


def _finish(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    appointment = appointment_for(request.user, pk)
    version = parse_int(request.POST.get("version", ""))
    try:
        if action == "done":
            mark_done(appointment, by=request.user, version=version)
        else:
            cancel_appointment(appointment, by=request.user, reason=request.POST.get("reason", ""), version=version)
    except AppointmentInvalid as err:
        message = " ".join(m for msgs in err.errors.values() for m in msgs)
        return _panel(request, appointment_for(request.user, pk), status=422, panel_error=message)
    except AppointmentConflict as err:
        return _panel(request, appointment_for(request.user, pk), status=409, panel_error=err.message)
    except AppointmentNotAllowed as err:
        return _panel(request, appointment, status=403, panel_error=err.message)
    done = _("Marked done.") if action == "done" else _("Cancelled.")
    response = _panel(request, appointment_for(request.user, pk), panel_success=done)
    # The calendar behind the panel reloads itself on this event (agenda/_grid.html).
    return trigger_client_event(response, "agenda-changed") if request.htmx else response


@require_POST
@ciclo_user
def done(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, "done")


@require_POST
@ciclo_user
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, "cancel")

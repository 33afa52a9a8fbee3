"""The ticket page: header, timeline, recording a note (moving on), the supervisor's move."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from ciclo.accounts.decorators import ciclo_user, supervisor_required
from ciclo.accounts.roles import is_supervisor
from ciclo.configurator.cache import config
from ciclo.http import HtmxHttpRequest
from ciclo.tickets.access import can_work_cr, ticket_for
from ciclo.tickets.errors import (
    DecisionRequired,
    InvalidChoice,
    InvalidInput,
    NotAllowed,
    RequiredUnanswered,
    StaleTicket,
    TicketClosed,
)
from ciclo.tickets.models import Channel, Note, PhaseMove, Ticket
from ciclo.tickets.routing import StepMap, move_to_step, record_note, resolve, unanswered_required
from ciclo.tickets.views.cycle import cycle_context

User = get_user_model()


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    qs = Ticket.objects.select_related(
        "person", "service_type", "cr", "step", "company", "contact_person", "next_contact_user", "workflow"
    )
    return ticket_for(request.user, pk, qs)


def _assignable_users() -> list[Any]:
    return list(User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by("username"))


def _route_preview(ticket: Ticket, choices: dict[int, int]) -> dict[str, Any]:
    """What "move on" would meet: the pending decision (with where each option leads) or the next phase."""
    if ticket.is_closed or ticket.step.next_order is None:
        return {"closed": True}
    steps = StepMap()
    try:
        route = resolve(steps.get(ticket.workflow_id, ticket.step.next_order), choices, steps)
    except DecisionRequired as pending:
        step = next(s for s in steps.steps_all() if s.pk == pending.step_id)
        options = []
        for option in step.options.all():
            try:
                target = resolve(steps.get(step.workflow_id, option.target_order), choices, steps).target
                leads = {"cr": target.cr, "closes": bool(target.cr and target.cr.closes_process)}
            except (DecisionRequired, InvalidChoice):
                leads = {"cr": None, "closes": False}
            options.append({"option": option, **leads})
        return {"decision": step, "options": options, "chosen": choices}
    except InvalidChoice as err:
        return {"error": err.message}
    return {
        "target": route.target.cr,
        "closes": bool(route.target.cr and route.target.cr.closes_process),
        "chosen": choices,
    }


def _choices_from(data: Any) -> dict[int, int]:
    choices = {}
    for key in data:
        if key.startswith("choice-"):
            step, value = key.removeprefix("choice-"), data.get(key)
            if step.isdigit() and value and value.isdigit():
                choices[int(step)] = int(value)
    return choices


def note_context(request: HttpRequest, ticket: Ticket, **extra: Any) -> dict[str, Any]:
    choices = extra.pop("choices", {})
    return {
        "ticket": ticket,
        "channels": Channel.choices,
        "users": _assignable_users(),
        "route": _route_preview(ticket, choices),
        "required": unanswered_required(ticket) if not ticket.is_closed else [],
        "can_work": can_work_cr(request.user, ticket.cr),
        "is_supervisor": is_supervisor(request.user),
        "values": extra.pop("values", {}),
        "errors": extra.pop("errors", {}),
        **extra,
    }


@dataclass
class Entry:
    """One note of the timeline, with what the template shows of it worked out here (100 notes a page)."""

    note: Note
    move: PhaseMove | None
    channel: str
    kind: str


def timeline(ticket: Ticket) -> list[Entry]:
    """The ticket's notes, newest first, each with the move it made (if any) and its labels."""
    notes = (
        Note.objects.filter(ticket=ticket)
        .select_related("author", "next_contact_user", "move", "move__from_cr", "move__to_cr")
        .order_by("-created_at", "-id")
    )
    channels, kinds = dict(Channel.choices), dict(Note.Kind.choices)
    return [
        Entry(
            note=n,
            # A note that moved nothing has no move: asking for it raises, which templates pay for dearly.
            move=getattr(n, "move", None),
            channel=str(channels.get(n.channel, n.channel)),
            kind=str(kinds.get(n.kind, n.kind)),
        )
        for n in notes
    ]


def render_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    note: dict[str, Any] | None = None,
    cycle: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    notes = timeline(ticket)
    # A supervisor may move the ticket to any step: its workflow's steps, from the configuration's copy.
    steps = (
        [s for _order, s in sorted(config().workflow_steps(ticket.workflow_id).items())]
        if is_supervisor(request.user)
        else []
    )
    return render(
        request,
        "tickets/ticket.html",
        {
            **(note if note is not None else note_context(request, ticket)),
            **(cycle if cycle is not None else cycle_context(request, ticket)),
            "notes": notes,
            "steps": steps,
        },
        status=status,
    )


@require_GET
@ciclo_user
def ticket_page(request: HttpRequest, pk: int) -> HttpResponse:
    return render_page(request, _ticket(request, pk))


def _parse_when(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise ValueError
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@require_POST
@ciclo_user
def note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record a note; with "move on", follow the route. Errors re-render the form beside their fields."""
    ticket = _ticket(request, pk)
    data = request.POST
    choices = _choices_from(data)
    errors: dict[str, list[str]] = {}
    general: str | None = None
    try:
        next_contact_at = _parse_when(data.get("next_contact_at", ""))
    except ValueError:
        next_contact_at = None
        errors["next_contact_at"] = [_("Give the next contact as a date and time.")]
    user_id = data.get("next_contact_user", "")
    next_user = User.objects.filter(pk=int(user_id), is_active=True).first() if user_id.isdigit() else None
    if user_id and next_user is None:
        errors["next_contact_user"] = [_("Choose an active user.")]
    try:
        version = int(data.get("version", ""))
    except ValueError:
        version = None
    if not errors:
        try:
            result = record_note(
                ticket,
                by=request.user,
                text=data.get("text", ""),
                channel=data.get("channel", Channel.PHONE),
                next_contact_at=next_contact_at,
                next_contact_user=next_user,
                move_on=data.get("move_on") == "1",
                choices=choices,
                override_reason=data.get("override_reason", ""),
                expected_version=version,
            )
        except InvalidInput as err:
            errors = err.errors
        except DecisionRequired:
            general = _("Choose an option for the decision below to move on.")
        except (RequiredUnanswered, TicketClosed, InvalidChoice, StaleTicket, NotAllowed) as err:
            general = err.message
        else:
            move = result.move
            if move is None:
                messages.success(request, _("Note recorded."))
            elif ticket.is_closed:
                messages.success(
                    request, _("Note recorded; the ticket reached %(cr)s and is closed.") % {"cr": move.to_cr}
                )
            else:
                messages.success(request, _("Note recorded; the ticket moved to %(cr)s.") % {"cr": move.to_cr})
            if request.htmx:
                # The page itself shows the new phase and its questions: reload it.
                return HttpResponseClientRefresh()
            return redirect(ticket_url(ticket, entered=move is not None))
    ticket = _ticket(request, pk)
    context = note_context(request, ticket, values=data, errors=errors, general=general, choices=choices)
    if request.htmx:
        return render(request, "tickets/_note_form.html", context)
    return render_page(request, ticket, note=context, status=422)


def ticket_url(ticket: Ticket, entered: bool = False) -> str:
    from django.urls import reverse

    url = reverse("ticket", args=[ticket.pk])
    return f"{url}#cycle" if entered else url


@require_POST
@supervisor_required
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor moves the ticket to any step of its workflow, with a reason."""
    ticket = _ticket(request, pk)
    step_id = request.POST.get("step", "")
    step = ticket.workflow.steps.filter(pk=int(step_id)).first() if step_id.isdigit() else None
    if step is None:
        messages.error(request, _("Choose a step of this ticket's workflow."))
        return redirect(ticket_url(ticket))
    try:
        done = move_to_step(
            ticket, step, by=request.user, reason=request.POST.get("reason", ""), choices=_choices_from(request.POST)
        )
    except InvalidInput as err:
        messages.error(request, " ".join(m for msgs in err.errors.values() for m in msgs))
    except (DecisionRequired, InvalidChoice, NotAllowed, StaleTicket) as err:
        messages.error(request, err.message)
    else:
        messages.success(request, _("The ticket was moved to %(cr)s.") % {"cr": done.to_cr})
        return redirect(ticket_url(ticket, entered=True))
    return redirect(ticket_url(ticket))

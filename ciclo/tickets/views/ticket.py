"""The ticket page: header, cycle, timeline, recording a note (moving on), the move to any step.

The context of each of the page's panels is built here (the cycle's views use cycle_context and render_page).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from ciclo.accounts.decorators import ciclo_user
from ciclo.collections.ticket_views import collection_context
from ciclo.configurator.models import WorkflowStep
from ciclo.http import HtmxHttpRequest, parse_id, parse_int
from ciclo.sales.ticket_views import OUTCOME_FIELDS, SALES_RELATED, outcome_context, outcome_from, sales_context
from ciclo.tickets import cycle_form
from ciclo.tickets.access import assignable_users, ticket_for, work_refusal
from ciclo.tickets.answering import cycle_of, required_missing
from ciclo.tickets.errors import (
    DecisionRequired,
    InvalidChoice,
    InvalidInput,
    NotAllowed,
    RequiredUnanswered,
    StaleTicket,
    TicketClosed,
)
from ciclo.tickets.models import Channel, CrUnlock, Note, PhaseMove, Ticket
from ciclo.tickets.routing import (
    MOVE_ANY_STEP,
    OVERRIDE_REQUIRED,
    StepMap,
    move_to_step,
    record_note,
    route_ahead,
    route_from,
    unanswered_required,
)
from ciclo.tickets.values import separators


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    """The ticket with what its page shows of its related rows (its step and workflow are read by id)."""
    qs = Ticket.objects.select_related(
        "person", "service_type", "cr", "company", "contact_person", "next_contact_user", *SALES_RELATED
    )
    return ticket_for(request.user, pk, qs)


def _assignable() -> list[tuple[str, str]]:
    """Who the next contact can be given to, as the note form's options: (id, name) in username order."""
    users = assignable_users().values_list("id", "first_name", "last_name", "username")
    return [(str(pk), f"{first} {last}".strip() or username) for pk, first, last, username in users]


def _choices_from(data: Any) -> dict[int, int]:
    """The decisions' options chosen in a form: `choice-<decision step id>` = option id."""
    choices = {}
    for key in data:
        if key.startswith("choice-"):
            step, option = parse_id(key.removeprefix("choice-")), parse_id(data.get(key) or "")
            if step is not None and option is not None:
                choices[step] = option
    return choices


NOTE_FIELDS = ("text", "channel", "next_contact_at", "next_contact_user", "move_on", *OUTCOME_FIELDS)


def _required(ticket: Ticket, known: list[Any] | None) -> list[Any]:
    return unanswered_required(ticket) if known is None else known


def note_context(request: HttpRequest, ticket: Ticket, *, steps: StepMap | None = None, **extra: Any) -> dict[str, Any]:
    """The note form: where moving on leads, what blocks it, who the next contact can be given to.
    `steps`: the ticket's workflow, when the page has read it already."""
    choices = extra.pop("choices", {})
    refusal = work_refusal(request.user, ticket)
    # Every field the form shows, "" or [] when it has no value or no error: a name the template
    # asks for and does not find costs it far more than one it finds.
    posted = extra.pop("values", {})
    if isinstance(posted, QueryDict):
        posted = posted.dict()  # the last value of each field, as the template read it
    values: dict[str, Any] = {**dict.fromkeys(NOTE_FIELDS, ""), **posted}
    errors: dict[str, Any] = {**{name: [] for name in NOTE_FIELDS}, **extra.pop("errors", {})}
    return {
        "ticket": ticket,
        "channels": Channel.choices,
        "users": _assignable(),
        "route": route_ahead(ticket, choices, steps),
        "required": [] if ticket.is_closed else _required(ticket, extra.pop("required", None)),
        "can_work": not refusal,
        "refusal": refusal,
        "may_override": request.user.has_perm(OVERRIDE_REQUIRED),
        **outcome_context(ticket),  # a note that closes a sales ticket gives its outcome
        "values": values,
        "errors": errors,
        # The version the user read: a refused note keeps it, so a change made meanwhile is still caught.
        "form_version": extra.pop("form_version", None) or ticket.version,
        # What only a refused note shows (views.ticket.note): nothing, unless it says so.
        **dict.fromkeys(("prompt", "pending", "blocked", "stale", "general")),
        **extra,
    }


@dataclass
class Entry:
    """One event of the timeline, with what the template shows of it worked out here (100 notes a page).

    A note (with the move it made, if any), or a phase's answers unlocked (`unlock`) or locked again
    (`unlock` with `relocked`); `when` and `who` are the event's, as the page shows them.
    """

    at: dt.datetime
    when: str
    who: str
    note: Note | None = None
    move: PhaseMove | None = None
    channel: str = ""
    kind: str = ""
    unlock: CrUnlock | None = None
    relocked: bool = False


def _name(user: Any) -> str:
    """A user as the timeline names them: the full name, else the username."""
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def timeline(ticket: Ticket) -> list[Entry]:
    """The ticket's notes, unlocks and locks again, newest first, each note with the move it made (if any)."""
    notes = (
        Note.objects.filter(ticket=ticket)
        .select_related("author", "move", "move__from_cr", "move__to_cr")
        .order_by("-created_at", "-id")
    )
    channels, kinds = dict(Channel.choices), dict(Note.Kind.choices)
    short = formats.get_format("SHORT_DATETIME_FORMAT")

    def when(at: dt.datetime) -> str:
        return dateformat.format(timezone.localtime(at), short)

    entries = [
        Entry(
            at=n.created_at,
            when=when(n.created_at),
            who=_name(n.author),
            note=n,
            # A note that moved nothing has no move: asking for it raises, which templates pay for dearly.
            move=getattr(n, "move", None),
            channel=str(channels.get(n.channel, n.channel)),
            kind=str(kinds.get(n.kind, n.kind)),
        )
        for n in notes
    ]
    unlocks = CrUnlock.objects.filter(ticket=ticket).select_related("cr", "by", "relocked_by").order_by()
    events = [Entry(at=u.at, when=when(u.at), who=_name(u.by), unlock=u) for u in unlocks]
    events += [
        Entry(at=u.relocked_at, when=when(u.relocked_at), who=_name(u.relocked_by), unlock=u, relocked=True)
        for u in unlocks
        if u.relocked_at is not None
    ]
    if not events:
        return entries
    # Stable: notes recorded at the same instant keep their order.
    return sorted([*entries, *events], key=lambda e: e.at, reverse=True)


def step_label(step: WorkflowStep) -> str:
    """A step as a supervisor reads it: the phase's name, the decision's question, the workflow it jumps to."""
    if step.kind == WorkflowStep.Kind.CR and step.cr is not None:
        label = f"{step.cr.code} · {step.cr.description}"
        return _("%(phase)s (closes the ticket)") % {"phase": label} if step.cr.closes_process else label
    if step.kind == WorkflowStep.Kind.DECISION:
        return _("Decision: %(question)s") % {"question": step.question}
    return _("Go to the workflow %(workflow)s") % {"workflow": step.target_workflow}


def move_context(request: HttpRequest, ticket: Ticket, *, steps: StepMap | None = None, **extra: Any) -> dict[str, Any]:
    """The move to any step (for who may: tickets.move_any_step): every step of the ticket's workflow, by
    name; a decision step asks its question. `steps`: the ticket's workflow, when the page has read it already."""
    if not request.user.has_perm(MOVE_ANY_STEP):
        return {"steps": []}
    steps = steps or StepMap()
    workflow = steps.steps(ticket.workflow_id)
    chosen: WorkflowStep | None = extra.pop("move_step", None)
    return {
        "steps": [(workflow[order], step_label(workflow[order])) for order in sorted(workflow)],
        "move_step": chosen,
        "move_ahead": route_from(chosen, extra.pop("move_choices", {}), steps) if chosen is not None else None,
        # What only a refused move shows (views.ticket.move): nothing, unless it says so.
        "move_error": "",
        "move_prompt": "",
        "move_reason": "",
        "move_errors": {"reason": []},
        **extra,
    }


def _question(row: cycle_form.QuestionRow) -> dict[str, Any]:
    """A question of the cycle as its form shows it, ids as text: the template reads a dict, not models."""
    q = row.question
    options = [
        (str(o.pk), o.label, state["checked"], state["complement"], state["suggested"], o.asks_complement)
        for state in row.option_states
        for o in [state["option"]]
    ]
    return {
        "id": str(q.pk),
        "code": q.code,
        "text": q.text,
        "required": q.required,
        "help": q.help_text,
        "type": q.answer_type,
        "choice": q.is_choice,
        "options": options if q.is_choice else [],
        "suggested": row.suggested,
        "version": str(row.version),
        "original": row.original,
        "value": row.value,
        "errors": row.errors,
        "conflict": row.conflict,
        "saved": row.saved,
        "unanswered": row.answer is None or row.answer.is_empty,
    }


def _cycle_phases(ticket: Ticket, forms: list[cycle_form.PhaseForm], can_answer: bool, unlock_cr: Any) -> list[Any]:
    """The cycle's phases as the panel shows them, each with its questions (_question) and its lock's links.
    `unlock_cr`: the phase whose unlock was refused for its reason, if any."""
    phases = []
    for form in forms:
        phase = form.phase
        cr = phase.cr
        phases.append(
            {
                "id": str(cr.pk),
                "code": cr.code,
                "description": cr.description,
                "state": phase.state,
                "unlock": phase.unlock,
                "editable": form.editable,
                "disabled": not (form.editable and can_answer),
                "unlock_url": reverse("ticket_unlock", args=[ticket.pk, cr.pk]) if phase.state == "locked" else "",
                "relock_url": reverse("ticket_relock", args=[ticket.pk, cr.pk]) if phase.state == "unlocked" else "",
                "reason_refused": unlock_cr == cr.pk,
                "questions": [_question(row) for row in form.rows],
            }
        )
    return phases


def cycle_context(
    request: HttpRequest, ticket: Ticket, forms: list[cycle_form.PhaseForm] | None = None, **extra: Any
) -> dict[str, Any]:
    """The cycle panel: the questions per phase with their answers, open to who may work the ticket."""
    decimal_mark, thousands_mark = separators()
    forms = forms if forms is not None else cycle_form.build(cycle_of(ticket))
    can_answer = not work_refusal(request.user, ticket)
    return {
        "ticket": ticket,
        "phase_forms": forms,
        "cycle_phases": _cycle_phases(ticket, forms, can_answer, extra.get("unlock_cr")),
        "can_answer": can_answer,
        "decimal_mark": decimal_mark,
        "thousands_mark": thousands_mark,
        # What only a save or an unlock shows (views.cycle, views.unlock): nothing, unless it says so.
        **dict.fromkeys(("success", "notice", "error")),
        **extra,
    }


def render_page(
    request: HttpRequest,
    ticket: Ticket,
    *,
    note: dict[str, Any] | None = None,
    cycle: dict[str, Any] | None = None,
    move: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page; a panel given (`note`, `cycle`, `move`) is shown with that context instead of afresh."""
    steps = StepMap()  # the ticket's workflow, read once for the note form and the move
    phases = cycle_of(ticket) if cycle is None else None  # the cycle, read once for its panel and the note form
    if note is None:
        required = None if phases is None else required_missing(phases, ticket.cr_id)
        note = note_context(request, ticket, steps=steps, required=required)
    if cycle is None:
        cycle = cycle_context(request, ticket, cycle_form.build(phases or []))
    move = move if move is not None else move_context(request, ticket, steps=steps)
    context = {"nav": "", "oob": False, **note, **cycle, **move, **sales_context(request, ticket)}
    context.update(collection_context(ticket))  # a collection ticket's receivables card
    context["notes"] = timeline(ticket)
    return render(request, "tickets/ticket.html", context, status=status)


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
    """Record a note; with "move on", follow the route. Errors re-render the form beside their fields.

    A decision left without a choice is asked as a question, not shown as an error; a note refused because
    the ticket changed meanwhile shows the ticket as it is now: header, cycle, timeline and form together.
    """
    ticket = _ticket(request, pk)
    data = request.POST
    choices = _choices_from(data)
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
    version = parse_int(data.get("version", ""))
    stale = False
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
                outcome=outcome_from(data),
            )
        except InvalidInput as err:
            errors = err.errors
        except DecisionRequired as err:
            extra["prompt"] = _("To move on, choose where the ticket goes: “%(question)s”.") % {
                "question": err.question
            }
            extra["pending"] = err.step_id
        except RequiredUnanswered as err:
            extra["blocked"] = err.message
        except StaleTicket:
            stale = True
            extra["stale"] = _(
                "Someone else changed this ticket since you opened it: the page now shows it as it is. "
                "Your note is kept below: check it and record it again."
            )
        except (TicketClosed, InvalidChoice, NotAllowed) as err:
            extra["general"] = err.message
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
    if not stale:
        extra["form_version"] = version
    context = note_context(request, ticket, values=data, errors=errors, choices=choices, **extra)
    if not request.htmx:
        return render_page(request, ticket, note=context, status=409 if stale else 422)
    if stale:
        # The form, and out of band the header, the cycle and the timeline: one version of the ticket.
        context.update(cycle_context(request, ticket), notes=timeline(ticket))
        return render(request, "tickets/_note_refreshed.html", context)
    return render(request, "tickets/_note_form.html", context)


@require_GET
@ciclo_user
def note_required(request: HttpRequest, pk: int) -> HttpResponse:
    """The note form's list of required questions still unanswered, reloaded after the cycle is saved."""
    ticket = _ticket(request, pk)
    return render(request, "tickets/_note_required.html", note_context(request, ticket))


def ticket_url(ticket: Ticket, entered: bool = False) -> str:
    url = reverse("ticket", args=[ticket.pk])
    return f"{url}#cycle" if entered else url


def _workflow_step(ticket: Ticket, raw: str, steps: StepMap) -> WorkflowStep | None:
    step_id = parse_id(raw)
    if step_id is None:
        return None
    return next((s for s in steps.steps(ticket.workflow_id).values() if s.pk == step_id), None)


@require_GET
@ciclo_user
@permission_required(MOVE_ANY_STEP, raise_exception=True)
def move_decisions(request: HttpRequest, pk: int) -> HttpResponse:
    """The decisions a move to the chosen step meets, each option with where it leads."""
    ticket = _ticket(request, pk)
    steps = StepMap()
    step = _workflow_step(ticket, request.GET.get("step", ""), steps)
    ahead = route_from(step, steps=steps) if step is not None else None
    return render(request, "tickets/_move_decisions.html", {"ticket": ticket, "move_ahead": ahead})


@require_POST
@ciclo_user
@permission_required(MOVE_ANY_STEP, raise_exception=True)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the ticket to any step of its workflow, with a reason (supervisors: tickets.move_any_step)."""
    ticket = _ticket(request, pk)
    step = _workflow_step(ticket, request.POST.get("step", ""), StepMap())
    if step is None:
        messages.error(request, _("Choose a step of this ticket's workflow."))
        return redirect(ticket_url(ticket))
    choices = _choices_from(request.POST)
    extra: dict[str, Any] = {}
    try:
        done = move_to_step(
            ticket,
            step,
            by=request.user,
            reason=request.POST.get("reason", ""),
            choices=choices,
            outcome=outcome_from(request.POST),
        )
    except InvalidInput as err:
        extra["move_errors"] = err.errors
        others = [m for name, msgs in err.errors.items() if name != "reason" for m in msgs]
        if others:
            extra["move_error"] = " ".join(others)
    except DecisionRequired as err:
        extra["move_prompt"] = _("To move the ticket there, choose where it goes: “%(question)s”.") % {
            "question": err.question
        }
    except (InvalidChoice, NotAllowed, StaleTicket) as err:
        extra["move_error"] = err.message
    else:
        messages.success(request, _("The ticket was moved to %(cr)s.") % {"cr": done.to_cr})
        return redirect(ticket_url(ticket, entered=True))
    ticket = _ticket(request, pk)
    context = move_context(
        request,
        ticket,
        move_step=step,
        move_choices=choices,
        move_reason=request.POST.get("reason", ""),
        move_values=request.POST.dict(),
        **extra,
    )
    return render_page(request, ticket, move=context, status=422)

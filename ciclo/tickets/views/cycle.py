"""The cycle (Ciclo) of a ticket: questions per phase, saving answers (Gravar); unlocking is in views/unlock.py."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ciclo.accounts.decorators import ciclo_user
from ciclo.http import HtmxHttpRequest
from ciclo.tickets import cycle_form
from ciclo.tickets.access import ticket_for
from ciclo.tickets.answering import cycle_of, save_answers
from ciclo.tickets.errors import AnswerConflict, InvalidInput, NotAllowed, PhaseLocked
from ciclo.tickets.models import Answer, Ticket
from ciclo.tickets.views.ticket import cycle_context, render_page


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    return ticket_for(request.user, pk, Ticket.objects.select_related("service_type", "cr", "person"))


@require_GET
@ciclo_user
def cycle(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(request, pk)
    return render(request, "tickets/_cycle.html", cycle_context(request, ticket))


@require_POST
@ciclo_user
def answers(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Gravar: save the changed answers together, or none; show what was saved, what was wrong, what conflicted."""
    ticket = _ticket(request, pk)
    forms = cycle_form.build(cycle_of(ticket))
    inputs = cycle_form.read(forms, request.POST)
    rows = {row.question.pk: row for form in forms for row in form.rows}
    status = 200
    extra: dict[str, Any] = {}
    if unsettled := cycle_form.unsettled(forms):
        # A conflict is never settled by default: the user picks a side for each one.
        extra["error"] = _(
            "Nothing was saved: for each answer someone else changed, choose “Keep theirs” or “Use mine”: "
            "%(questions)s."
        ) % {"questions": ", ".join(row.label for row in unsettled)}
        status = 422
    elif not inputs:
        forms = cycle_form.build(cycle_of(ticket))
        extra["notice"] = _("Nothing changed: there was nothing to save.")
    else:
        try:
            result = save_answers(ticket, inputs, by=request.user)
        except InvalidInput as err:
            for key, msgs in err.errors.items():
                if key.isdigit() and int(key) in rows:
                    rows[int(key)].errors = msgs
            extra["error"] = _("Nothing was saved: correct the answers marked below.")
            status = 422
        except AnswerConflict as err:
            # Their answers as they are now: what "Use mine" will replace.
            current = {
                a.question_id: a
                for a in Answer.objects.filter(ticket=ticket, question_id__in=[c["question"] for c in err.conflicts])
                .order_by()
                .select_related("answered_by")
                .prefetch_related("choices")
            }
            for conflict in err.conflicts:
                row = rows[conflict["question"]]
                answer = current.get(conflict["question"])
                row.conflict = cycle_form.conflict_of(answer)
                row.version = answer.version if answer else conflict["current_version"]
            extra["error"] = _(
                "Nothing was saved: someone else changed answers since you opened the page. "
                "For each one marked below, keep their answer or use yours, then save again."
            )
            status = 409
        except (PhaseLocked, NotAllowed) as err:
            extra["error"] = err.message
            status = 403 if isinstance(err, NotAllowed) else 409
        else:
            saved = {a.question_id for a in result.saved} | set(result.cleared)
            forms = cycle_form.build(cycle_of(ticket))
            for form in forms:
                for row in form.rows:
                    row.saved = row.question.pk in saved
            names = [row.label for form in forms for row in form.rows if row.saved]
            extra["success"] = (
                _("Saved: %(questions)s.") % {"questions": "; ".join(names)}
                if names
                else _("Nothing changed: the answers were already so.")
            )
    if not request.htmx:
        if status == 200:
            return redirect("ticket", pk=ticket.pk)
        return render_page(request, ticket, cycle=cycle_context(request, ticket, forms, **extra), status=status)
    # htmx swaps only successful responses by default; the fragment carries its own errors.
    response = render(request, "tickets/_cycle.html", cycle_context(request, ticket, forms, **extra))
    if "success" in extra:
        # The note form's list of required questions still unanswered reloads itself on this event.
        response["HX-Trigger"] = "ciclo:answers-saved"
    return response

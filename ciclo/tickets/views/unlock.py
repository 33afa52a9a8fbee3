"""Desbloquear: unlocking an earlier phase's answers, with a reason, and locking them again."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ciclo.accounts.decorators import ciclo_user
from ciclo.configurator.models import ResponsibilityCenter
from ciclo.http import HtmxHttpRequest
from ciclo.tickets.access import ticket_for
from ciclo.tickets.answering import relock_phase, unlock_phase
from ciclo.tickets.errors import InvalidInput, NotAllowed, PhaseNotUnlocked
from ciclo.tickets.models import Ticket
from ciclo.tickets.views.ticket import cycle_context, render_page, ticket_url, timeline


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    return ticket_for(request.user, pk, Ticket.objects.select_related("service_type", "cr", "person"))


def _respond(request: HtmxHttpRequest, ticket: Ticket, extra: dict[str, Any], status: int) -> HttpResponse:
    """The cycle with the outcome, and the timeline (which shows the unlock) out of band."""
    if not request.htmx:
        if status == 200:
            messages.success(request, extra["success"])
            return redirect(ticket_url(ticket, entered=True))
        return render_page(request, ticket, cycle=cycle_context(request, ticket, **extra), status=status)
    # htmx swaps only successful responses by default; the fragment carries its own errors.
    context = {**cycle_context(request, ticket, **extra), "notes": timeline(ticket)}
    return render(request, "tickets/_phase_lock_changed.html", context)


@require_POST
@ciclo_user
def unlock(request: HtmxHttpRequest, pk: int, cr_id: int) -> HttpResponse:
    """Open an earlier phase's answers again; the reason is required and recorded with who and when."""
    ticket = _ticket(request, pk)
    cr = ResponsibilityCenter.objects.filter(pk=cr_id).first()
    if cr is None:
        return _respond(request, ticket, {"error": _("No such phase.")}, 404)
    # Each locked phase has its own reason field in the cycle's form.
    reason = request.POST.get(f"reason-{cr.pk}", request.POST.get("reason", ""))
    try:
        unlock_phase(ticket, cr, by=request.user, reason=reason)
    except InvalidInput as err:
        if "reason" in err.errors:
            # Beside the phase's reason field, and above the cycle, where it is seen with the phase folded.
            message = " ".join(err.errors["reason"])
            extra = {"unlock_cr": cr.pk, "unlock_error": message, "error": message}
        else:
            extra = {"error": " ".join(m for msgs in err.errors.values() for m in msgs)}
        return _respond(request, ticket, extra, 422)
    except NotAllowed as err:
        return _respond(request, ticket, {"error": err.message}, 403)
    return _respond(
        request, ticket, {"success": _("Phase %(cr)s unlocked: its answers can be changed.") % {"cr": cr}}, 200
    )


@require_POST
@ciclo_user
def relock(request: HtmxHttpRequest, pk: int, cr_id: int) -> HttpResponse:
    """Lock an unlocked phase's answers again (recorded: who, when)."""
    ticket = _ticket(request, pk)
    cr = ResponsibilityCenter.objects.filter(pk=cr_id).first()
    if cr is None:
        return _respond(request, ticket, {"error": _("No such phase.")}, 404)
    try:
        relock_phase(ticket, cr, by=request.user)
    except PhaseNotUnlocked as err:
        return _respond(request, ticket, {"error": err.message}, 409)
    except NotAllowed as err:
        return _respond(request, ticket, {"error": err.message}, 403)
    return _respond(request, ticket, {"success": _("Phase %(cr)s locked again.") % {"cr": cr}}, 200)

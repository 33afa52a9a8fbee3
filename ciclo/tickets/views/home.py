from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ciclo.accounts.decorators import ciclo_user
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Ticket

HOME_LIMIT = 100


@ciclo_user
def home(request: HttpRequest) -> HttpResponse:
    """The user's tickets whose next contact is due today or overdue, with counts per phase."""
    now = timezone.now()
    due = visible_tickets(request.user, Ticket.objects.due_for(request.user, at=now))
    per_phase = list(
        due.values("cr_id", "cr__code", "cr__description").annotate(n=Count("id")).order_by("cr__code_key")
    )
    phase = request.GET.get("phase", "")
    rows = due.select_related("person", "service_type", "cr", "company").order_by("next_contact_at", "id")
    if phase.isdigit():
        rows = rows.filter(cr_id=int(phase))
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    total = sum(p["n"] for p in per_phase)
    tickets = list(rows[:HOME_LIMIT])
    return render(
        request,
        "tickets/home.html",
        {
            "nav": "home",
            "per_phase": per_phase,
            "tickets": tickets,
            "total": total,
            "shown": len(tickets),
            "phase": int(phase) if phase.isdigit() else None,
            "start_of_day": start_of_day,
        },
    )

"""The collection ticket's receivables card and its promise to pay (a note whose date becomes the next contact)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from ciclo.accounts.decorators import ciclo_user
from ciclo.collections.models import CollectionItem, Payment
from ciclo.collections.update import money
from ciclo.configurator.models import ServiceType
from ciclo.http import HtmxHttpRequest, parse_int
from ciclo.tickets.access import ticket_for, work_refusal
from ciclo.tickets.errors import InvalidInput, NotAllowed, StaleTicket, TicketClosed
from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import record_note

# The hour of the day a promise's next contact is set to (the site's time zone).
PROMISE_HOUR = 9


def collection_context(ticket: Ticket, *, today: dt.date | None = None, **extra: Any) -> dict[str, Any]:
    """The receivables card ("collection" is None for a ticket with no receivables): two queries, none for a
    ticket that is not of a collection type."""
    if ticket.service_type.category != ServiceType.Category.COLLECTION:
        return {"collection": None}
    items = list(
        CollectionItem.objects.filter(ticket_id=ticket.pk)
        .select_related("receivable", "receivable__company")
        .prefetch_related(Prefetch("receivable__payments", queryset=Payment.objects.order_by("paid_on", "id")))
        .order_by("receivable__due_date", "receivable_id")
    )
    if not items:
        return {"collection": None}
    today = today or timezone.localdate()
    rows = []
    amount = balance = paid = Decimal("0")
    for item in items:
        r = item.receivable
        payments = [{"paid_on": p.paid_on, "amount": money(p.amount)} for p in r.payments.all()]
        rows.append(
            {
                "receivable": r,
                "days_overdue": r.days_overdue(today) if r.open_balance > 0 else 0,
                "amount": money(r.amount),
                "open_balance": money(r.open_balance),
                "paid": r.open_balance <= 0,
                "released": item.released_at is not None,
                "payments": payments,
            }
        )
        amount += r.amount
        balance += r.open_balance
        paid += sum((p.amount for p in r.payments.all()), Decimal("0"))
    return {
        "collection": {
            "rows": rows,
            "total_amount": money(amount),
            "total_open": money(balance),
            "total_paid": money(paid),
            "can_promise": not ticket.is_closed,
        },
        **extra,
    }


def _card(request: HttpRequest, ticket: Ticket, status: int = 200, **extra: Any) -> HttpResponse:
    context = {"ticket": ticket, **collection_context(ticket, **extra)}
    return render(request, "collections/_ticket_card.html", context, status=status)


@require_POST
@ciclo_user
def promise(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Record the debtor's promise to pay on a date: a note (the engine's) whose next contact is that day."""
    ticket = ticket_for(request.user, pk)
    if refusal := work_refusal(request.user, ticket):
        return _card(request, ticket, 403, promise_error=refusal)
    raw = request.POST.get("promise_date", "").strip()
    day = parse_date(raw) if raw else None
    errors: list[str] = []
    if day is None:
        errors.append(_("Give the date the debtor promised to pay, such as 2026-12-15."))
    elif day < timezone.localdate():
        errors.append(_("The promise-to-pay date cannot be in the past."))
    if errors:
        return _card(request, ticket, 422, promise_error=" ".join(errors), promise_value=raw)
    assert day is not None
    when = timezone.make_aware(dt.datetime.combine(day, dt.time(PROMISE_HOUR)))
    text = _("Promise to pay on %(date)s.") % {"date": date_format(day, "SHORT_DATE_FORMAT")}
    if comment := request.POST.get("text", "").strip():
        text = f"{text}\n{comment}"
    try:
        record_note(
            ticket,
            by=request.user,
            text=text,
            next_contact_at=when,
            expected_version=parse_int(request.POST.get("version", "")),
        )
    except InvalidInput as err:
        message = " ".join(m for msgs in err.errors.values() for m in msgs)
        return _card(request, ticket, 422, promise_error=message, promise_value=raw)
    except (NotAllowed, StaleTicket, TicketClosed) as err:
        return _card(request, ticket, 409 if isinstance(err, StaleTicket) else 403, promise_error=err.message)
    messages.success(
        request,
        _("The promise to pay was recorded: the next contact is on %(date)s.")
        % {"date": date_format(day, "SHORT_DATE_FORMAT")},
    )
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(reverse("ticket", args=[ticket.pk]))

"""The sales card of the ticket page: a sales ticket's contact shown and changed in place (htmx), the
referral found by name, a closed contact reopened by a supervisor; and what the note form asks when
the note closes a sales ticket (its outcome).

Each action calls ciclo.sales.contacts, the one home of its rules.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from ciclo.accounts.decorators import ciclo_user
from ciclo.configurator.models import AnswerType, WorkflowStep
from ciclo.http import HtmxHttpRequest, parse_id, parse_int
from ciclo.people.models import Person
from ciclo.people.text import SearchTooShort
from ciclo.sales.businessdays import business_days_since
from ciclo.sales.contacts import OutcomeInput, reopen_sales_contact, reopen_target, update_sales_fields
from ciclo.sales.models import Environment, LostReason, Outcome, SalesContact
from ciclo.tickets.access import ticket_for, work_refusal
from ciclo.tickets.errors import InvalidInput, NotAllowed, StaleTicket
from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import MOVE_ANY_STEP
from ciclo.tickets.values import format_number

CARD_FIELDS = ("contact_date", "referral", "environment", "expected_value", "expected_close", "success", "reason")
OUTCOME_FIELDS = ("outcome", "won_value", "lost_reason", "outcome_text")
REFERRALS_SHOWN = 8


def _money(value: Decimal | None) -> str:
    return "" if value is None else format_number(value, AnswerType.MONEY)


# What the ticket page reads of a sales contact with the ticket itself (no query of its own).
SALES_RELATED = ("sales", "sales__referral", "sales__environment", "sales__lost_reason", "sales__outcome_by")


def _contact(ticket: Ticket) -> SalesContact | None:
    """The ticket's sales contact, None for a ticket of another type (read with it: SALES_RELATED)."""
    try:
        return ticket.sales
    except SalesContact.DoesNotExist:
        return None


def sales_context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    values: Any = None,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The sales card ("sales" is None for a ticket that is not a sales contact). `values` and `errors`:
    a refused change, shown again beside its fields."""
    contact = _contact(ticket)
    if contact is None:
        return {"sales": None}
    cr = ticket.cr
    days = business_days_since(ticket.phase_entered_at, ticket.company_id)
    environments = Environment.objects.filter(Q(active=True) | Q(pk=contact.environment_id or 0))
    posted = values.dict() if hasattr(values, "dict") else dict(values or {})
    shown = {
        "contact_date": contact.contact_date.isoformat(),
        "referral": "",
        "environment": str(contact.environment_id or ""),
        "expected_value": _money(contact.expected_value),
        "expected_close": contact.expected_close.isoformat() if contact.expected_close else "",
        "success": "" if contact.success is None else str(contact.success),
        "follow_phase": "" if contact.success_by_hand else "1",
        "reason": "",
        **posted,
    }
    refusal = work_refusal(request.user, ticket)
    return {
        "sales": {
            "contact": contact,
            "channel": ticket.get_channel_display(),
            "referral": contact.referral,
            "environment": contact.environment,
            "success": contact.success,
            "by_hand": contact.success_by_hand,
            "phase_default": cr.default_success,
            "expected_value": _money(contact.expected_value),
            "weighted_value": _money(contact.weighted_value),
            "expected_close": contact.expected_close,
            "days_in_phase": days,
            "stale": not ticket.is_closed and cr.stale_after_days is not None and days > cr.stale_after_days,
            "stale_after": cr.stale_after_days,
            "outcome": contact.outcome,
            "outcome_label": contact.get_outcome_display(),
            "won": contact.outcome == Outcome.WON,
            "lost": contact.outcome == Outcome.LOST,
            "won_value": _money(contact.won_value),
            "lost_reason": contact.lost_reason,
            "outcome_text": contact.outcome_text,
            "outcome_at": timezone.localtime(contact.outcome_at) if contact.outcome_at else None,
            "outcome_by": contact.outcome_by,
            "closed": ticket.is_closed,
            "can_edit": not refusal and not ticket.is_closed,
            "refusal": refusal,
            "may_reopen": ticket.is_closed and request.user.has_perm(MOVE_ANY_STEP),
            "reopen_to": reopen_default(ticket) if ticket.is_closed else "",
            "environments": [(str(e.pk), e.name) for e in environments.order_by("position", "name").distinct()],
            "decimal_hint": format_number(Decimal("1234.56"), AnswerType.MONEY),
        },
        "sales_values": shown,
        "sales_errors": {**{name: [] for name in CARD_FIELDS}, **(errors or {})},
        "sales_version": contact.version,
        "sales_notice": "",
        "sales_general": "",
        **extra,
    }


def outcome_context(ticket: Ticket) -> dict[str, Any]:
    """What the note form needs to ask the outcome: whether the ticket is an open sales contact, and the
    active lost reasons."""
    is_open_sale = not ticket.is_closed and _contact(ticket) is not None
    reasons = list(LostReason.objects.active().values_list("id", "name")) if is_open_sale else []
    return {"sales_outcome": is_open_sale, "lost_reasons": [(str(pk), name) for pk, name in reasons]}


def outcome_from(data: Any) -> OutcomeInput | None:
    """The outcome a note form gives: none unless won or lost is chosen."""
    outcome = data.get("outcome", "")
    if not outcome:
        return None
    return OutcomeInput(
        outcome=outcome,
        won_value=data.get("won_value", ""),
        lost_reason=parse_id(data.get("lost_reason", "")),
        text=data.get("outcome_text", ""),
    )


def _ticket(request: HttpRequest, pk: int) -> Ticket:
    qs = Ticket.objects.select_related("cr", "person", "company", *SALES_RELATED)
    return ticket_for(request.user, pk, qs)


def _card(request: HttpRequest, ticket: Ticket, status: int = 200, **kw: Any) -> HttpResponse:
    return render(
        request, "sales/_ticket_card.html", {"ticket": ticket, **sales_context(request, ticket, **kw)}, status=status
    )


@require_POST
@ciclo_user
def sales_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Change the contact's fields; "follow the phase" lets the success follow the phase's default again."""
    ticket = _ticket(request, pk)
    data = request.POST
    fields: dict[str, Any] = {
        name: data.get(name, "") for name in ("contact_date", "environment", "expected_value", "expected_close")
    }
    if data.get("referral") == "none":
        fields["referral"] = None
    elif data.get("referral"):
        fields["referral"] = data["referral"]
    fields["success"] = None if data.get("follow_phase") == "1" else data.get("success", "")
    if fields["success"] == "":
        fields["success"] = None
    try:
        update_sales_fields(ticket, by=request.user, version=parse_int(data.get("version", "")), **fields)
    except InvalidInput as err:
        general = " ".join(m for name, msgs in err.errors.items() if name not in CARD_FIELDS for m in msgs)
        return _card(request, ticket, 422, values=data, errors=err.errors, sales_general=general)
    except (NotAllowed, StaleTicket) as err:
        return _card(request, ticket, 409 if isinstance(err, StaleTicket) else 403, sales_general=err.message)
    if not request.htmx:
        messages.success(request, _("The sales contact was saved."))
        return redirect(reverse("ticket", args=[ticket.pk]))
    return _card(request, _ticket(request, pk), sales_notice=_("Saved."))


@require_GET
@ciclo_user
def sales_referrals(request: HttpRequest, pk: int) -> HttpResponse:
    """People to choose as the referral, as the name or CPF/CNPJ is typed."""
    ticket = _ticket(request, pk)
    term = request.GET.get("referral_q", "").strip()[:200]
    people: list[Person] = []
    too_short = ""
    if term:
        try:
            found = Person.objects.filter(active=True).exclude(pk=ticket.person_id).search(term)
            people = list(found.order_by("search_name", "id")[:REFERRALS_SHOWN])
        except SearchTooShort as err:
            too_short = err.message
    context = {"people": people, "term": term, "too_short": too_short}
    return render(request, "sales/_referral_results.html", context)


@require_POST
@ciclo_user
def sales_reopen(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A supervisor reopens a closed sales contact, with a reason (tickets.move_any_step)."""
    ticket = _ticket(request, pk)
    if not request.user.has_perm(MOVE_ANY_STEP):
        return _card(request, ticket, 403, sales_general=_("Only a supervisor reopens a closed sales contact."))
    step_id = parse_id(request.POST.get("step", ""))
    step = None
    if step_id is not None:
        step = WorkflowStep.objects.select_related("cr").filter(pk=step_id, workflow_id=ticket.workflow_id).first()
    try:
        reopen_sales_contact(ticket, by=request.user, reason=request.POST.get("reason", ""), to_step=step)
    except InvalidInput as err:
        general = " ".join(m for name, msgs in err.errors.items() if name not in CARD_FIELDS for m in msgs)
        return _card(request, ticket, 422, values=request.POST, errors=err.errors, sales_general=general)
    except NotAllowed as err:
        return _card(request, ticket, 403, sales_general=err.message)
    messages.success(request, _("The sales contact was reopened."))
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(reverse("ticket", args=[ticket.pk]))


def reopen_default(ticket: Ticket) -> str:
    """Where reopening goes when no step is chosen, as the card says it."""
    step = reopen_target(ticket)
    return "" if step is None or step.cr is None else f"{step.cr.code} · {step.cr.description}"

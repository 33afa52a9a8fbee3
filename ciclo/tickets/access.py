"""Who may see and work which ticket: role, CR membership, user × company."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role, is_supervisor, role_of
from ciclo.configurator.models import CrmOptions, ResponsibilityCenter
from ciclo.tickets.errors import NotAllowed
from ciclo.tickets.models import Ticket, TicketQuerySet


def company_restricted(user: Any) -> bool:
    """Whether user × company access control applies to this user (never to admins)."""
    return role_of(user) != Role.ADMIN and CrmOptions.current().access_control_user_company


def visible_tickets(user: Any, qs: TicketQuerySet | None = None) -> TicketQuerySet:
    qs = Ticket.objects.all() if qs is None else qs
    if role_of(user) is None:
        return qs.none()
    if company_restricted(user):
        qs = qs.filter(Exists(UserCompany.objects.filter(user=user, company=OuterRef("company_id"))))
    return qs


def can_see(user: Any, ticket: Ticket) -> bool:
    if role_of(user) is None:
        return False
    if company_restricted(user):
        return UserCompany.objects.filter(user=user, company_id=ticket.company_id).exists()
    return True


def can_work_cr(user: Any, cr: ResponsibilityCenter) -> bool:
    """A CR with members is worked only by them and supervisors; one without, by any agent."""
    if role_of(user) is None:
        return False
    if is_supervisor(user):
        return True
    return not cr.members.exists() or cr.members.filter(pk=user.pk).exists()


def workable_crs(user: Any) -> Q:
    """A filter on tickets for the CRs this user may work."""
    if is_supervisor(user):
        return Q()
    return Q(cr__members=None) | Q(cr__members=user)


def check_can_work(user: Any, ticket: Ticket) -> None:
    if not can_see(user, ticket):
        raise NotAllowed(_("You have no access to tickets of company %(company)s.") % {"company": ticket.company_id})
    if not can_work_cr(user, ticket.cr):
        raise NotAllowed(
            _("Only the members of “%(cr)s” and supervisors work tickets in this phase.") % {"cr": ticket.cr}
        )


def ticket_for(user: Any, pk: int, qs: TicketQuerySet | None = None) -> Ticket:
    """The ticket if this user may see it; 404 otherwise (its existence is not told)."""
    from django.http import Http404

    qs = Ticket.objects.all() if qs is None else qs
    ticket = visible_tickets(user, qs).filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket

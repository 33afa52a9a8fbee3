"""Who may see and work which ticket: role, CR membership, user × company."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role, is_supervisor, role_of
from ciclo.configurator.cache import Config, config
from ciclo.configurator.models import ResponsibilityCenter
from ciclo.tickets.errors import NotAllowed
from ciclo.tickets.models import Ticket, TicketQuerySet


def company_restricted(user: Any, cfg: Config | None = None) -> bool:
    """Whether user × company access control applies to this user (never to admins)."""
    if role_of(user) == Role.ADMIN:
        return False
    return (cfg or config()).access_control_user_company


def visible_tickets(user: Any, qs: TicketQuerySet | None = None) -> TicketQuerySet:
    qs = Ticket.objects.all() if qs is None else qs
    if role_of(user) is None:
        return qs.none()
    if company_restricted(user):
        qs = qs.filter(Exists(UserCompany.objects.filter(user=user, company=OuterRef("company_id"))))
    return qs


def can_see_company(user: Any, company_id: int, cfg: Config | None = None) -> bool:
    if role_of(user) is None:
        return False
    if company_restricted(user, cfg):
        return UserCompany.objects.filter(user=user, company_id=company_id).exists()
    return True


def can_see(user: Any, ticket: Ticket) -> bool:
    return can_see_company(user, ticket.company_id)


def can_work_cr(user: Any, cr: ResponsibilityCenter | int, cfg: Config | None = None) -> bool:
    """A CR with members is worked only by them and supervisors; one without, by any agent."""
    if role_of(user) is None:
        return False
    if is_supervisor(user):
        return True
    cr_id = cr if isinstance(cr, int) else cr.pk
    return (cfg or config()).may_work(user.pk, cr_id)


def workable_crs(user: Any) -> Q:
    """A filter on tickets for the CRs this user may work."""
    if is_supervisor(user):
        return Q()
    return Q(cr__members=None) | Q(cr__members=user)


def check_can_work(user: Any, ticket: Ticket, cfg: Config | None = None) -> None:
    """Refuse (NotAllowed) unless the user may work the ticket in its current phase."""
    cfg = cfg or config()
    if not can_see_company(user, ticket.company_id, cfg):
        raise NotAllowed(_("You have no access to tickets of this company."))
    if not can_work_cr(user, ticket.cr_id, cfg):
        cr = ResponsibilityCenter.objects.filter(pk=ticket.cr_id).first()
        raise NotAllowed(_("Only the members of “%(cr)s” and supervisors work tickets in this phase.") % {"cr": cr})


def ticket_for(user: Any, pk: int, qs: TicketQuerySet | None = None) -> Ticket:
    """The ticket if this user may see it; 404 otherwise (its existence is not told)."""
    from django.http import Http404

    qs = Ticket.objects.all() if qs is None else qs
    ticket = visible_tickets(user, qs).filter(pk=pk).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket

"""Who may see and work which ticket (role, CR membership, user × company), and who a ticket can be given to."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, IntegerField, OuterRef, QuerySet, Value
from django.utils.translation import gettext as _

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role, role_of, users_with_role
from ciclo.configurator.models import CrmOptions, ResponsibilityCenter
from ciclo.people.models import Company
from ciclo.tickets.errors import NotAllowed
from ciclo.tickets.models import Ticket, TicketQuerySet

# The annotations work_checks() gives a ticket's query, which check_can_work() reads; with_work_checks()
# adds for whom and for which phase they were read.
SEES_COMPANY = "ciclo_sees_company"
WORKS_PHASE = "ciclo_works_phase"
CHECKED_FOR = "ciclo_checked_for"
CHECKED_CR = "ciclo_checked_cr"
_RESTRICTED = "_ciclo_company_restricted"  # company_restricted(), kept on the user object


def _access_control_on() -> QuerySet[CrmOptions]:
    return CrmOptions.objects.filter(pk=1, access_control_user_company=True)


def _given(user: Any, company: Any) -> Exists:
    """Whether the company (an id, or the outer query's column) is one of those given to `user`."""
    return Exists(UserCompany.objects.filter(user_id=user.pk, company_id=company))


def access_control_on() -> Exists:
    """Whether user × company access control is on, as an annotation of the query that loads a user
    (the session's, a token's): company_restricted() then asks nothing more (remember_restriction)."""
    return Exists(_access_control_on())


def remember_restriction(user: Any, access_control: bool | None) -> None:
    """Keep on `user` what their loading query read of access_control_on()."""
    if access_control is not None:
        setattr(user, _RESTRICTED, bool(access_control) and role_of(user) != Role.ADMIN)


def company_restricted(user: Any) -> bool:
    """Whether user × company access control applies to this user (never to admins).

    Read once per user object, as Django keeps a user's permissions: a request's user reads it at most
    once. The engine does not use it: it reads the option with the ticket it locks (work_checks).
    """
    if role_of(user) == Role.ADMIN:
        return False
    restricted = getattr(user, _RESTRICTED, None)
    if restricted is None:
        restricted = _access_control_on().exists()
        setattr(user, _RESTRICTED, restricted)
    return bool(restricted)


def visible_tickets(user: Any, qs: TicketQuerySet | None = None) -> TicketQuerySet:
    qs = Ticket.objects.all() if qs is None else qs
    if role_of(user) is None:
        return qs.none()
    if company_restricted(user):
        qs = qs.filter(_given(user, OuterRef("company_id")))
    return qs


def work_checks(user: Any, company: Any = None, cr: Any = None) -> dict[str, Any]:
    """As annotations of a query: whether `user` sees the company (admins see every one; anyone else, every
    one unless access control user × company is on, then those given to them) and may work the CR
    (ResponsibilityCenter.objects.workable_by). Company and CR are ids, or by default the columns of the
    ticket the query reads. check_can_work() reads them."""
    company = OuterRef("company_id") if company is None else company
    cr = OuterRef("cr_id") if cr is None else cr
    role = role_of(user)
    if role is None:
        return {SEES_COMPANY: Value(False), WORKS_PHASE: Value(False)}
    sees: Any = Value(True)
    if role != Role.ADMIN:
        sees = ExpressionWrapper(~Exists(_access_control_on()) | _given(user, company), output_field=BooleanField())
    return {
        SEES_COMPANY: sees,
        WORKS_PHASE: Exists(ResponsibilityCenter.objects.workable_by(user).filter(pk=cr)),
    }


def with_work_checks(qs: TicketQuerySet, user: Any) -> TicketQuerySet:
    """The tickets read with whether `user` sees their company and may work their phase (work_checks):
    check_can_work() then asks nothing more, while the ticket stays in the phase it was read in."""
    return qs.annotate(
        **work_checks(user),
        **{CHECKED_FOR: Value(user.pk, output_field=IntegerField()), CHECKED_CR: F("cr_id")},
    )


def _checks(user: Any, company_id: int, cr_id: int) -> tuple[bool, bool]:
    """work_checks() for a company and a CR, by one query."""
    found = (
        Company.objects.filter(pk=company_id)
        .annotate(**work_checks(user, company=OuterRef("pk"), cr=cr_id))
        .values_list(SEES_COMPANY, WORKS_PHASE)
        .first()
    )
    return (bool(found[0]), bool(found[1])) if found is not None else (False, False)


def _cr_refusal(cr_id: int) -> NotAllowed:
    cr = ResponsibilityCenter.objects.filter(pk=cr_id).first()
    return NotAllowed(_("Only the members of “%(cr)s” and supervisors work tickets in this phase.") % {"cr": cr})


def check_can_work(user: Any, ticket: Ticket) -> None:
    """Refuse (NotAllowed) unless the user may work the ticket in its current phase.

    A ticket read for this user with with_work_checks() (the engine's locked row, ticket_for's), and still
    in that phase, is judged by what its query read; any other by one query.
    """
    read = ticket.__dict__
    if read.get(CHECKED_FOR, -1) == user.pk and read.get(CHECKED_CR) == ticket.cr_id:
        sees, works = bool(read[SEES_COMPANY]), bool(read[WORKS_PHASE])
    else:
        sees, works = _checks(user, ticket.company_id, ticket.cr_id)
    if not sees:
        raise NotAllowed(_("You have no access to tickets of this company."))
    if not works:
        raise _cr_refusal(ticket.cr_id)


def check_can_open(user: Any, company: Company, cr: ResponsibilityCenter) -> None:
    """Refuse (NotAllowed) unless the user may open a ticket of this company whose first phase is `cr`."""
    sees, works = _checks(user, company.pk, cr.pk)
    if not sees:
        raise NotAllowed(_("You have no access to company %(company)s.") % {"company": company})
    if not works:
        raise NotAllowed(_("Only the members of “%(cr)s” and supervisors open tickets of this type.") % {"cr": cr})


def work_refusal(user: Any, ticket: Ticket) -> str:
    """Why this user may not work the ticket in its phase ("" when they may): the engine's own words."""
    try:
        check_can_work(user, ticket)
    except NotAllowed as err:
        return err.message
    return ""


def assignable_users() -> QuerySet[Any]:
    """The users a ticket's next contact can be given to: the active users with a Ciclo role, by username."""
    return users_with_role().order_by("username")


def is_assignable(user: Any) -> bool:
    """Whether a ticket's next contact can be given to this user: the rule of assignable_users(), for one user."""
    return role_of(user) is not None


def ticket_for(user: Any, pk: int, qs: TicketQuerySet | None = None) -> Ticket:
    """The ticket if this user may see it (read with_work_checks); 404 otherwise (its existence is not told)."""
    from django.http import Http404

    qs = Ticket.objects.all() if qs is None else qs
    ticket = with_work_checks(qs, user).filter(pk=pk).first() if role_of(user) is not None else None
    if ticket is None or not getattr(ticket, SEES_COMPANY):
        raise Http404(_("No such ticket."))
    return ticket

"""/collections: the open collections with their receivables, and the collections update started as a task.

`POST /collections/update` queues the update (ciclo.collections.tasks.start_update, what the web's
button calls too) and answers its id at once; while an update queued from here is still waiting or
running, it answers that one instead (200) and queues nothing. `GET /collections/update/{id}` says where
it is (queued, running, done, failed) and, from the moment it runs, the run it records (its progress,
then its counts, or its error). The update does its work in one transaction, so what it has done is
seen only when it is done. Administrators and supervisors start it and follow it; any
role lists the collections it may see (the companies it works, when access control user × company is on).
`/collections/preferences/{person}` reads and sets whether a person refuses collection e-mails
(ciclo.collections.preferences: whoever may change a person).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from ciclo.accounts.roles import is_supervisor
from ciclo.api import cursor as keyset
from ciclo.api.auth import require_perm, user_of
from ciclo.api.errors import forbidden, not_found
from ciclo.api.receivables import PaymentOut, payment_out
from ciclo.api.schemas import CREATE, LIST, READ_BY_ID, WRITE, CompanyRef, In, Out, PersonRef, UserRef, responses
from ciclo.collections import tasks
from ciclo.collections.models import CollectionItem, CollectionRun, Payment
from ciclo.collections.preferences import refuses_collection_emails, set_collection_emails
from ciclo.fields import Flag, Id, bounded
from ciclo.people.models import Person
from ciclo.tickets.access import visible_tickets
from ciclo.tickets.models import Ticket

router = Router()


# ---- schemas --------------------------------------------------------------------------------


class UpdateIn(In):
    dry_run: Flag = Field(default=False, description="Do the work and undo it: the counts say what a run would do.")


class RunOut(Out):
    id: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    started_by: UserRef | None
    trigger: str
    dry_run: bool
    status: str = Field(description="running, done or failed.")
    counts: dict[str, int] = Field(description="opened, added, closed, receivables, emailed, …")
    error: str
    done: int = Field(description="Debtors worked so far.")
    total: int | None = Field(description="Debtors to work; null while not known.")


class UpdateOut(Out):
    id: str = Field(description="The update's id: GET /collections/update/{id} follows it.")
    status: Literal["queued", "running", "done", "failed"]
    enqueued_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    run: RunOut | None = Field(description="The run the update records, from the moment it runs.")
    error: str = Field(description="Why the update could not run, when it failed before recording a run.")


class CollectionReceivableOut(Out):
    id: int
    document: str
    instalment: str
    company: str = Field(description="The company's code.")
    due_date: dt.date
    days_overdue: int
    amount: str
    open_balance: str
    added_at: dt.datetime
    payments: list[PaymentOut]


class CollectionOut(Out):
    ticket: int = Field(description="The collection ticket's id (GET /tickets/{id}).")
    subject: str
    status: str
    person: PersonRef
    company: CompanyRef
    cr: str = Field(description="The classification of the phase the ticket is in.")
    next_contact_at: dt.datetime
    next_contact_user: UserRef | None = Field(description="Whom the collection is delegated to.")
    receivables: list[CollectionReceivableOut]
    total_amount: str
    total_open_balance: str


class CollectionPage(Out):
    items: list[CollectionOut]
    next_cursor: str | None


class CollectionFilters(Schema):
    person: Id | None = Field(default=None, description="The debtor's id.")
    company: bounded(20) | None = Field(default=None, description="A company's code.")  # type: ignore[valid-type]
    cursor: bounded(500) | None = None  # type: ignore[valid-type]
    limit: Annotated[int, Field(ge=1, le=200)] = 50


# ---- the update -----------------------------------------------------------------------------


def _require_supervisor(request: HttpRequest) -> Any:
    user = user_of(request)
    if not is_supervisor(user):
        raise forbidden(_("Only administrators and supervisors run the collections update."))
    return user


def _user(u: Any) -> dict[str, Any] | None:
    return {"id": u.pk, "username": u.get_username()} if u is not None else None


def _run_out(run: CollectionRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "started_by": _user(run.started_by),
        "trigger": run.trigger,
        "dry_run": run.dry_run,
        "status": run.status,
        "counts": {k: int(v) for k, v in (run.counts or {}).items() if isinstance(v, int)},
        "error": run.error,
        "done": run.done,
        "total": run.total,
    }


def _update_out(result: Any) -> dict[str, Any]:
    state = tasks.update_state(result)
    return {
        "id": str(result.id),
        "status": state.state,
        "enqueued_at": result.enqueued_at,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "run": _run_out(state.run) if state.run is not None else None,
        "error": state.error,
    }


@router.post(
    "/update",
    response=responses({202: UpdateOut, 200: UpdateOut}, CREATE),
    summary="Start the collections update (as a task)",
)
def start_update(request: HttpRequest, payload: UpdateIn) -> Status:
    """Answers at once with the update's id (202); follow it with GET /collections/update/{id}. While an
    update is already queued or running, answers that one (200) and queues no other."""
    user = _require_supervisor(request)
    started = tasks.start_update(by=user, trigger=CollectionRun.Trigger.API, dry_run=payload.dry_run)
    return Status(202 if started.new else 200, _update_out(started.result))


@router.get("/update/{id}", response=responses({200: UpdateOut}, READ_BY_ID), summary="Where a collections update is")
def get_update(request: HttpRequest, id: bounded(64)) -> dict[str, Any]:  # type: ignore[valid-type]
    _require_supervisor(request)
    result = tasks.find_update(id)
    if result is None:  # not an id of this backend, another task's, or none at all: the same to a client
        raise not_found(_("There is no collections update %(id)s.") % {"id": id})
    return _update_out(result)


# ---- a person's collection e-mails ----------------------------------------------------------


class PreferenceIn(In):
    no_collection_emails: Flag = Field(description="true: the collections update e-mails this person nothing.")


class PreferenceOut(Out):
    person: int
    no_collection_emails: bool


def _person(pk: int) -> Person:
    person = Person.objects.filter(pk=pk).first()
    if person is None:
        raise not_found(_("There is no person %(id)s.") % {"id": pk})
    return person


@router.get(
    "/preferences/{person}",
    response=responses({200: PreferenceOut}, READ_BY_ID),
    summary="Whether a person refuses collection e-mails",
)
def get_preference(request: HttpRequest, person: Id) -> dict[str, Any]:
    require_perm(request, "people.view_person")
    found = _person(person)
    return {"person": found.pk, "no_collection_emails": refuses_collection_emails(found)}


@router.put(
    "/preferences/{person}",
    response=responses({200: PreferenceOut}, WRITE),
    summary="Mark a person to receive no collection e-mails, or to receive them again",
)
def put_preference(request: HttpRequest, person: Id, payload: PreferenceIn) -> dict[str, Any]:
    """Whoever may change a person records their wish; the person's history keeps who changed it and when."""
    user = require_perm(request, "people.change_person")
    saved = set_collection_emails(_person(person), refused=payload.no_collection_emails, by=user)
    return {"person": saved.person_id, "no_collection_emails": saved.no_collection_emails}


# ---- the collections ------------------------------------------------------------------------


def _open_items() -> QuerySet[CollectionItem]:
    return CollectionItem.objects.filter(released_at__isnull=True)


def _collections(user: Any) -> QuerySet[Ticket]:
    items = (
        _open_items()
        .select_related("receivable__company")
        .prefetch_related(Prefetch("receivable__payments", queryset=Payment.objects.order_by("paid_on", "id")))
        .order_by("receivable__due_date", "receivable_id")
    )
    return (
        visible_tickets(user)
        .filter(status=Ticket.Status.OPEN)
        .filter(Exists(_open_items().filter(ticket_id=OuterRef("pk"))))
        .select_related("person", "company", "cr", "next_contact_user")
        .prefetch_related(Prefetch("collection_items", queryset=items, to_attr="open_items"))
    )


def _collection_out(ticket: Ticket, today: dt.date) -> dict[str, Any]:
    items = ticket.open_items  # type: ignore[attr-defined]
    amount = sum((i.receivable.amount for i in items), Decimal(0))
    balance = sum((i.receivable.open_balance for i in items), Decimal(0))
    return {
        "ticket": ticket.pk,
        "subject": ticket.subject,
        "status": ticket.status,
        "person": {"id": ticket.person.pk, "name": ticket.person.name, "document": ticket.person.document},
        "company": {"id": ticket.company.pk, "code": ticket.company.code, "name": ticket.company.name},
        "cr": ticket.cr.code,
        "next_contact_at": ticket.next_contact_at,
        "next_contact_user": _user(ticket.next_contact_user),
        "receivables": [
            {
                "id": i.receivable.pk,
                "document": i.receivable.document,
                "instalment": i.receivable.instalment,
                "company": i.receivable.company.code,
                "due_date": i.receivable.due_date,
                "days_overdue": i.receivable.days_overdue(today),
                "amount": f"{i.receivable.amount:.2f}",
                "open_balance": f"{i.receivable.open_balance:.2f}",
                "added_at": i.added_at,
                "payments": [payment_out(p) for p in i.receivable.payments.all()],
            }
            for i in items
        ],
        "total_amount": f"{amount:.2f}",
        "total_open_balance": f"{balance:.2f}",
    }


@router.get("", response=responses({200: CollectionPage}, LIST), summary="List the open collections")
def list_collections(request: HttpRequest, filters: Query[CollectionFilters]) -> dict[str, Any]:
    """Each open collection ticket with the receivables in it and their totals, by ticket id; pass
    `next_cursor` back as `cursor` until it is null."""
    qs = _collections(user_of(request))
    if filters.person is not None:
        qs = qs.filter(person_id=filters.person)
    if filters.company is not None:
        qs = qs.filter(company__code=filters.company)
    if filters.cursor:
        _value, last = keyset.decode(filters.cursor, "ticket", "asc", int)
        qs = qs.filter(pk__gt=last)
    rows = list(qs.order_by("pk")[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    today = timezone.localdate()
    return {
        "items": [_collection_out(t, today) for t in rows],
        "next_cursor": keyset.encode("ticket", "asc", rows[-1].pk, rows[-1].pk) if more else None,
    }

"""/receivables, their payments, the collection kinds and the administrative statuses.

An ERP loads its receivables with `PUT /receivables`: a JSON list of up to 10,000 rows, each
named by `company` (its code), `document` and `instalment`, created or changed to what the row
says (ciclo.collections.receivables.upsert_receivables, which the web upload and the command
call too). Idempotent: the same rows again change nothing. The body is strict, as every body of
this API: a row the schema forbids (an unknown field, a date that is not YYYY-MM-DD, an amount
that is negative or has more than two decimals) is a 422 naming it (`3.due_date`), and nothing
is written. A row breaking a rule of the data (an unknown company, person, kind or status, a
due date before the issue date, the same receivable twice) is refused in the answer's
`refused`, and the other rows are applied; with `all_or_nothing=true`, any refused row is a 422
and nothing is written. Administrators and supervisors load receivables and record payments;
any role reads them (the companies the user works, when access control user × company is on).
The administrative statuses are configuration: any role reads them, an administrator changes them,
each change one call of configurator.changes (the admin's and the demo's too), with its history row.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import is_supervisor
from ciclo.api import cursor as keyset
from ciclo.api.auth import require_admin, user_of
from ciclo.api.errors import ApiError, forbidden, invalid, not_found
from ciclo.api.schemas import (
    AUTH,
    CREATE,
    DELETE,
    KEEP,
    LIST,
    READ,
    READ_BY_ID,
    WRITE,
    CompanyRef,
    In,
    MoneyIn,
    Out,
    PersonRef,
    responses,
)
from ciclo.collections.models import AdministrativeStatus, CollectionKind, Payment, Receivable
from ciclo.collections.receivables import (
    MAX_ROWS,
    ReceivableRow,
    add_payment,
    read_rows,
    upsert_receivables,
)
from ciclo.configurator import changes
from ciclo.configurator.items import AdministrativeStatusItem
from ciclo.fields import Code, Day, Flag, Id, bounded
from ciclo.tickets.access import company_restricted

router = Router()

# A list of 10,000 rows is about 3 MB of JSON: more than Django's limit for a request body in memory.
MAX_BODY = 16 * 1024 * 1024


# ---- schemas --------------------------------------------------------------------------------


class RefusalOut(Out):
    row: int = Field(description="The row's index in the list sent (from 0).")
    field: str = Field(description="The row's field (`__all__`: the row as a whole).")
    message: str


class ImportReportOut(Out):
    created: int
    changed: int
    unchanged: int
    refused: list[RefusalOut] = Field(description="Each rule a row broke; such a row was not written.")
    applied: bool = Field(description="Whether the valid rows were written (false: a dry run).")
    dry_run: bool


class KindRef(Out):
    code: str
    name: str
    collected: bool


class StatusRef(Out):
    code: str
    description: str
    enters_collection: bool


class PaymentOut(Out):
    id: int
    paid_on: dt.date
    amount: str = Field(description='Two decimals as text: "1234.50".')
    source: str
    created_at: dt.datetime


class ReceivableOut(Out):
    id: int
    company: CompanyRef
    document: str
    instalment: str
    person: PersonRef
    issue_date: dt.date
    due_date: dt.date
    amount: str = Field(description='Two decimals as text: "1234.50".')
    open_balance: str = Field(description="What is still owed: 0 is paid.")
    kind: KindRef
    administrative_status: StatusRef | None
    updated_at: dt.datetime
    version: int
    payments: list[PaymentOut]


class ReceivablePage(Out):
    items: list[ReceivableOut]
    next_cursor: str | None


class PaymentIn(In):
    paid_on: Day = Field(description="The day it was paid (not in the future).")
    amount: MoneyIn = Field(
        description='More than 0, at most two decimals and the open balance: a number, or text such as "1234.56".'
    )


class PaymentResultOut(Out):
    payment: PaymentOut
    receivable: ReceivableOut


class ReceivableFilters(Schema):
    company: bounded(20) | None = Field(default=None, description="A company's code.")  # type: ignore[valid-type]
    person: Id | None = Field(default=None, description="A person's id.")
    document: bounded(40) | None = None  # type: ignore[valid-type]
    kind: bounded(40) | None = Field(default=None, description="A collection kind's code.")  # type: ignore[valid-type]
    open: bool | None = Field(default=None, description="true: open balance above 0; false: paid.")
    due_from: Day | None = Field(default=None, description="Due on or after (YYYY-MM-DD).")
    due_to: Day | None = Field(default=None, description="Due on or before (YYYY-MM-DD).")
    cursor: bounded(500) | None = None  # type: ignore[valid-type]
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class AdministrativeStatusOut(Out):
    id: int
    code: str = Field(description="Its classification.")
    description: str
    kind: str = Field(description="synthetic (a group) or analytical (what receivables carry).")
    parent: str | None = Field(description="The code of the synthetic status it sits under.")
    enters_collection: bool
    active: bool


class CollectionKindOut(Out):
    id: int
    code: str
    name: str
    collected: bool = Field(description="false: receivables of this kind are never collected (descontado).")
    active: bool


# ---- loading --------------------------------------------------------------------------------

_ROWS_BODY = {
    "requestBody": {
        "required": True,
        "description": f"Up to {MAX_ROWS:,} receivables.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": MAX_ROWS,
                    "items": ReceivableRow.model_json_schema(ref_template="#/components/schemas/{model}"),
                }
            }
        },
    }
}


def may_load(user: Any) -> bool:
    """Who loads receivables and records payments: administrators and supervisors."""
    return is_supervisor(user)


def _require_loader(request: HttpRequest) -> Any:
    user = user_of(request)
    if not may_load(user):
        raise forbidden(_("Only administrators and supervisors load receivables and record payments."))
    return user


def _body(request: HttpRequest) -> Any:
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        raise ApiError(413, "too_large", _("The request is too large: send at most 10,000 rows at a time."))
    raw = request.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large", _("The request is too large: send at most 10,000 rows at a time."))

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        return json.loads(raw, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from None


@router.put(
    "/receivables",
    response=responses({200: ImportReportOut}, (400, 401, 403, 413, 422)),
    summary="Load receivables (create or change them, by company, document and instalment)",
    openapi_extra=_ROWS_BODY,
)
def put_receivables(request: HttpRequest, all_or_nothing: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """Each row is written whole or not at all. `dry_run=true` says what would happen and writes nothing.
    A refused row does not stop the others, unless `all_or_nothing=true` (then a 422 lists every refusal in
    `fields`, as `row.field`, and nothing is written)."""
    user = _require_loader(request)
    body = _body(request)
    if not isinstance(body, list):
        raise invalid({"body": [_("Send a list of receivables.")]})
    if len(body) > MAX_ROWS:
        raise invalid(
            {
                "body": [
                    _("Send at most %(max)s receivables at a time (this has %(count)s).")
                    % {"max": "10,000", "count": len(body)}
                ]
            }
        )
    rows, refused = read_rows(enumerate(body))
    if refused:
        fields: dict[str, list[str]] = {}
        for r in refused:
            fields.setdefault(f"{r.row}.{r.field}", []).append(r.message)
        raise invalid(fields)
    report = upsert_receivables(rows, by=user, source="api", all_or_nothing=all_or_nothing, dry_run=dry_run)
    if all_or_nothing and report.refused:
        raise invalid(report.fields(), _("Some receivables were refused; nothing was written."))
    return {
        "created": report.created,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "refused": [{"row": r.row, "field": r.field, "message": r.message} for r in report.refused],
        "applied": report.applied,
        "dry_run": report.dry_run,
    }


# ---- reading --------------------------------------------------------------------------------


def visible_receivables(user: Any) -> QuerySet[Receivable]:
    qs = Receivable.objects.all()
    if company_restricted(user):
        qs = qs.filter(company_id__in=UserCompany.objects.filter(user_id=user.pk).values("company_id"))
    return qs


def _receivables(user: Any) -> QuerySet[Receivable]:
    return (
        visible_receivables(user)
        .select_related("company", "person", "kind", "administrative_status")
        .prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("paid_on", "id")))
    )


def payment_out(p: Payment) -> dict[str, Any]:
    return {
        "id": p.pk,
        "paid_on": p.paid_on,
        "amount": f"{p.amount:.2f}",
        "source": p.source,
        "created_at": p.created_at,
    }


def receivable_out(r: Receivable) -> dict[str, Any]:
    status = r.administrative_status
    return {
        "id": r.pk,
        "company": {"id": r.company.pk, "code": r.company.code, "name": r.company.name},
        "document": r.document,
        "instalment": r.instalment,
        "person": {"id": r.person.pk, "name": r.person.name, "document": r.person.document},
        "issue_date": r.issue_date,
        "due_date": r.due_date,
        "amount": f"{r.amount:.2f}",
        "open_balance": f"{r.open_balance:.2f}",
        "kind": {"code": r.kind.code, "name": r.kind.name, "collected": r.kind.collected},
        "administrative_status": (
            {"code": status.code, "description": status.description, "enters_collection": status.enters_collection}
            if status
            else None
        ),
        "updated_at": r.updated_at,
        "version": r.version,
        "payments": [payment_out(p) for p in r.payments.all()],
    }


def _receivable(request: HttpRequest, pk: int) -> Receivable:
    found = _receivables(user_of(request)).filter(pk=pk).first()
    if found is None:
        raise not_found(_("There is no receivable %(id)s.") % {"id": pk})
    return found


@router.get("/receivables", response=responses({200: ReceivablePage}, LIST), summary="List receivables")
def list_receivables(request: HttpRequest, filters: Query[ReceivableFilters]) -> dict[str, Any]:
    """By id; pass `next_cursor` back as `cursor` until it is null."""
    qs = _receivables(user_of(request))
    if filters.company is not None:
        qs = qs.filter(company__code=filters.company)
    if filters.person is not None:
        qs = qs.filter(person_id=filters.person)
    if filters.document is not None:
        qs = qs.filter(document=filters.document)
    if filters.kind is not None:
        qs = qs.filter(kind__code=filters.kind)
    if filters.open is not None:
        qs = qs.filter(open_balance__gt=0) if filters.open else qs.filter(open_balance=0)
    if filters.due_from is not None:
        qs = qs.filter(due_date__gte=filters.due_from)
    if filters.due_to is not None:
        qs = qs.filter(due_date__lte=filters.due_to)
    if filters.cursor:
        _value, last = keyset.decode(filters.cursor, "id", "asc", int)
        qs = qs.filter(pk__gt=last)
    rows = list(qs.order_by("pk")[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    next_cursor = keyset.encode("id", "asc", rows[-1].pk, rows[-1].pk) if more else None
    return {"items": [receivable_out(r) for r in rows], "next_cursor": next_cursor}


@router.get("/receivables/{id}", response=responses({200: ReceivableOut}, READ_BY_ID), summary="A receivable")
def get_receivable(request: HttpRequest, id: Id) -> dict[str, Any]:
    return receivable_out(_receivable(request, id))


@router.post(
    "/receivables/{id}/payments",
    response=responses({201: PaymentResultOut}, WRITE),
    summary="Record a payment of a receivable",
)
def create_payment(request: HttpRequest, id: Id, payload: PaymentIn) -> Status:
    """Partial or total: the open balance goes down by the amount, which cannot be more than it (422)."""
    user = _require_loader(request)
    receivable = _receivable(request, id)
    payment = add_payment(receivable, paid_on=payload.paid_on, amount=payload.amount, by=user, source="api")
    return Status(
        201, {"payment": payment_out(payment), "receivable": receivable_out(_receivable(request, receivable.pk))}
    )


# ---- kinds and statuses ---------------------------------------------------------------------


def status_out(s: AdministrativeStatus, parents: dict[int, str]) -> dict[str, Any]:
    return {
        "id": s.pk,
        "code": s.code,
        "description": s.description,
        "kind": s.kind,
        "parent": parents.get(s.parent_id) if s.parent_id else None,
        "enters_collection": s.enters_collection,
        "active": s.active,
    }


@router.get(
    "/administrative-statuses",
    response=responses({200: list[AdministrativeStatusOut]}, AUTH),
    summary="List administrative statuses (the tree, by classification)",
)
def list_statuses(request: HttpRequest) -> list[dict[str, Any]]:
    statuses = list(AdministrativeStatus.objects.all())
    parents = {s.pk: s.code for s in statuses}
    return [status_out(s, parents) for s in statuses]


@router.get(
    "/administrative-statuses/{code}",
    response=responses({200: AdministrativeStatusOut}, READ),
    summary="An administrative status",
)
def get_status(request: HttpRequest, code: str) -> dict[str, Any]:
    found = AdministrativeStatus.objects.select_related("parent").filter(code=code).first()
    if found is None:
        raise not_found(_("There is no administrative status “%(code)s”.") % {"code": code})
    return status_out(found, {found.parent.pk: found.parent.code} if found.parent else {})


class AdministrativeStatusPatch(In):
    code: Code = Field(default=KEEP, description="The status's classification.")
    description: bounded(200, 1) = KEEP  # type: ignore[valid-type]
    kind: Literal["synthetic", "analytical"] = KEEP
    enters_collection: Flag = KEEP
    active: Flag = KEEP


def _status_row(code: str) -> AdministrativeStatus:
    found = AdministrativeStatus.objects.filter(code=code).first()
    if found is None:
        raise not_found(_("There is no administrative status “%(code)s”.") % {"code": code})
    return found


def _status_item(row: AdministrativeStatus) -> AdministrativeStatusItem:
    return AdministrativeStatusItem(
        code=row.code,
        description=row.description,
        kind=row.kind,  # type: ignore[arg-type]
        enters_collection=row.enters_collection,
        active=row.active,
    )


def _saved_status(code: str) -> dict[str, Any]:
    found = AdministrativeStatus.objects.select_related("parent").get(code=code)
    return status_out(found, {found.parent.pk: found.parent.code} if found.parent else {})


@router.post(
    "/administrative-statuses",
    response=responses({201: AdministrativeStatusOut}, CREATE),
    summary="Create an administrative status",
)
def create_status(request: HttpRequest, payload: AdministrativeStatusItem) -> Status:
    """Through the one configuration home (configurator.changes), as the admin: its group is the synthetic
    status whose classification prefixes its own."""
    status = changes.save_administrative_status(payload, by=require_admin(request))
    return Status(201, _saved_status(status.code))


@router.put(
    "/administrative-statuses/{code}",
    response=responses({200: AdministrativeStatusOut}, WRITE),
    summary="Replace an administrative status",
)
def replace_status(request: HttpRequest, code: str, payload: AdministrativeStatusItem) -> dict[str, Any]:
    user = require_admin(request)
    status = changes.save_administrative_status(payload, by=user, saved=_status_row(code))
    return _saved_status(status.code)


@router.patch(
    "/administrative-statuses/{code}",
    response=responses({200: AdministrativeStatusOut}, WRITE),
    summary="Change an administrative status",
)
def update_status(request: HttpRequest, code: str, payload: AdministrativeStatusPatch) -> dict[str, Any]:
    """Omitted fields keep their value. A status receivables carry stays analytical; a group with statuses
    under it stays a group (422 naming the rule)."""
    user = require_admin(request)
    row = _status_row(code)
    data = payload.dict(exclude_unset=True)
    if set(data) == {"active"}:  # (de)activating is always allowed
        changes.set_active(row, data["active"], by=user)
        return _saved_status(row.code)
    status = changes.save_administrative_status(_status_item(row).model_copy(update=data), by=user, saved=row)
    return _saved_status(status.code)


@router.delete(
    "/administrative-statuses/{code}",
    response=responses({204: None}, DELETE),
    summary="Delete an unused administrative status",
)
def delete_status(request: HttpRequest, code: str) -> Status:
    """One that receivables carry, or a group with statuses under it, is in use (409): deactivate it instead."""
    user = require_admin(request)
    changes.delete(_status_row(code), by=user)
    return Status(204, None)


@router.get(
    "/collection-kinds", response=responses({200: list[CollectionKindOut]}, AUTH), summary="List collection kinds"
)
def list_kinds(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": k.pk, "code": k.code, "name": k.name, "collected": k.collected, "active": k.active}
        for k in CollectionKind.objects.all()
    ]

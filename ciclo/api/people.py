"""/people and /companies: customers and prospects (CPF/CNPJ checked), and the user's own companies."""

from __future__ import annotations

from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import Field

from ciclo.api import cursor as keyset
from ciclo.api.auth import require_perm
from ciclo.api.common import clean_model, set_fields
from ciclo.api.errors import invalid, not_found
from ciclo.api.schemas import (
    CREATE,
    LIST,
    READ_BY_ID,
    WRITE,
    CompanyIn,
    CompanyOut,
    CompanyPatch,
    PersonDetailOut,
    PersonIn,
    PersonPage,
    PersonPatch,
    responses,
)
from ciclo.fields import Id, Text
from ciclo.history.models import Change, record_change, snapshot
from ciclo.people import changes
from ciclo.people.documents import normalize_document
from ciclo.people.models import Company, Person
from ciclo.people.text import SearchTooShort

router = Router()


def person_out(p: Person) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "kind": p.kind,
        "document": p.document,
        "document_display": p.document_display,
        "trade_name": p.trade_name,
        "city": p.city,
        "state": p.state,
        "notes": p.notes,
        "active": p.active,
        "created_at": p.created_at,
    }


def _person_detail(p: Person) -> dict[str, Any]:
    return {
        **person_out(p),
        "contacts": [
            {"id": c.pk, "name": c.name, "role": c.role, "email": c.email, "phone": c.phone} for c in p.contacts.all()
        ],
        "phones": [{"id": ph.pk, "kind": ph.kind, "number": ph.number} for ph in p.phones.all()],
        "emails": [{"id": e.pk, "address": e.address, "label": e.label} for e in p.emails.all()],
    }


def _get_person(pk: int) -> Person:
    person = Person.objects.prefetch_related("contacts", "phones", "emails").filter(pk=pk).first()
    if person is None:
        raise not_found(_("There is no person %(id)s.") % {"id": pk})
    return person


@router.get("/people", response=responses({200: PersonPage}, LIST), summary="Find people", tags=["people"])
def list_people(
    request: HttpRequest,
    q: Annotated[Text, Field(max_length=200)] = "",
    active: bool | None = None,
    limit: Annotated[int, Field(ge=1, le=200)] = 20,
    cursor: Annotated[Text, Field(min_length=1, max_length=500)] | None = None,
) -> dict[str, Any]:
    """Every word of `q` anywhere in the name or trade name (accents and case ignored), or the CPF/CNPJ
    with or without its mask, partial too; at least 3 characters in one word. In name order."""
    require_perm(request, "people.view_person")
    try:
        people = Person.objects.search(q)
    except SearchTooShort as err:
        raise invalid({"q": [err.message]}) from err
    if active is not None:
        people = people.filter(active=active)
    if cursor is not None:
        name, last_id = keyset.decode(cursor, "search_name", "asc", str)
        people = people.filter(keyset.after("search_name", name, last_id, descending=False))
    rows = list(people.order_by("search_name", "id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = keyset.encode("search_name", "asc", rows[-1].search_name, rows[-1].pk)
    return {"items": [person_out(p) for p in rows], "next_cursor": next_cursor}


@router.get("/people/{id}", response=responses({200: PersonDetailOut}, READ_BY_ID), summary="A person", tags=["people"])
def get_person(request: HttpRequest, id: Id) -> dict[str, Any]:
    require_perm(request, "people.view_person")
    return _person_detail(_get_person(id))


def _document(value: str) -> str:
    """Without the mask and upper-case, so a formatted CNPJ fits its column; junk is kept for the validator."""
    return normalize_document(value)


@router.post("/people", response=responses({201: PersonDetailOut}, CREATE), summary="Add a person", tags=["people"])
def create_person(request: HttpRequest, payload: PersonIn) -> Status:
    user = require_perm(request, "people.add_person")
    try:
        person = changes.create_person(by=user, **payload.dict())
    except ValidationError as err:
        raise invalid({name: [str(m) for m in msgs] for name, msgs in err.message_dict.items()}) from err
    return Status(201, _person_detail(_get_person(person.pk)))


@router.patch(
    "/people/{id}", response=responses({200: PersonDetailOut}, WRITE), summary="Change a person", tags=["people"]
)
def update_person(request: HttpRequest, id: Id, payload: PersonPatch) -> dict[str, Any]:
    user = require_perm(request, "people.change_person")
    person = _get_person(id)
    before = snapshot(person)
    data = payload.dict(exclude_unset=True)
    if data.get("document") is not None and "kind" not in data:
        data["kind"] = changes.kind_for(data["document"])
    set_fields(person, data)
    person.document = _document(person.document)
    clean_model(person)
    with transaction.atomic():
        person.save()
        record_change(person, by=user, action=Change.Action.CHANGED, before=before)
    return _person_detail(_get_person(person.pk))


# ---- companies ------------------------------------------------------------------------------


def _company_out(c: Company) -> dict[str, Any]:
    return {"id": c.pk, "code": c.code, "name": c.name, "cnpj": c.cnpj, "active": c.active}


def _get_company(pk: int) -> Company:
    company = Company.objects.filter(pk=pk).first()
    if company is None:
        raise not_found(_("There is no company %(id)s.") % {"id": pk})
    return company


@router.get(
    "/companies", response=responses({200: list[CompanyOut]}, LIST), summary="List companies", tags=["companies"]
)
def list_companies(
    request: HttpRequest, q: Annotated[Text, Field(max_length=200)] = "", active: bool | None = None
) -> list[dict[str, Any]]:
    """The user's own companies and branches: few, so not paged. `q` matches code or name."""
    require_perm(request, "people.view_company")
    companies = Company.objects.all()
    if q.strip():
        companies = companies.filter(Q(code__istartswith=q.strip()) | Q(name__icontains=q.strip()))
    if active is not None:
        companies = companies.filter(active=active)
    return [_company_out(c) for c in companies]


@router.get(
    "/companies/{id}", response=responses({200: CompanyOut}, READ_BY_ID), summary="A company", tags=["companies"]
)
def get_company(request: HttpRequest, id: Id) -> dict[str, Any]:
    require_perm(request, "people.view_company")
    return _company_out(_get_company(id))


@router.post("/companies", response=responses({201: CompanyOut}, CREATE), summary="Add a company", tags=["companies"])
def create_company(request: HttpRequest, payload: CompanyIn) -> Status:
    user = require_perm(request, "people.add_company")
    company = Company(**payload.dict())
    company.cnpj = _document(company.cnpj)
    clean_model(company)
    with transaction.atomic():
        company.save()
        record_change(company, by=user, action=Change.Action.CREATED)
    return Status(201, _company_out(company))


@router.patch(
    "/companies/{id}", response=responses({200: CompanyOut}, WRITE), summary="Change a company", tags=["companies"]
)
def update_company(request: HttpRequest, id: Id, payload: CompanyPatch) -> dict[str, Any]:
    user = require_perm(request, "people.change_company")
    company = _get_company(id)
    before = snapshot(company)
    set_fields(company, payload.dict(exclude_unset=True))
    company.cnpj = _document(company.cnpj)
    clean_model(company)
    with transaction.atomic():
        company.save()
        record_change(company, by=user, action=Change.Action.CHANGED, before=before)
    return _company_out(company)

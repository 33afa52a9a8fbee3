"""Adding a person: the one function the new-ticket page, the API and the admin add people through."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from ciclo.history.models import Change, record_change
from ciclo.people.documents import normalize_document
from ciclo.people.models import Email, Person, Phone


def kind_for(document: str) -> str:
    """The kind a CPF/CNPJ implies: 14 characters are a CNPJ (a legal entity); anything else an individual."""
    return Person.Kind.LEGAL if len(normalize_document(document)) == 14 else Person.Kind.INDIVIDUAL


def _errors(exc: ValidationError, prefix: str = "") -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {prefix or NON_FIELD_ERRORS: [str(m) for m in exc.messages]}
    return {prefix or name: [str(m) for m in msgs] for name, msgs in exc.message_dict.items()}


def create_person(
    *,
    by: Any,
    name: str,
    kind: str | None = None,
    document: str = "",
    trade_name: str = "",
    city: str = "",
    state: str = "",
    notes: str = "",
    active: bool = True,
    phone: str = "",
    phone_kind: str = Phone.Kind.MOBILE,
    email: str = "",
) -> Person:
    """Add a person (and a first phone and e-mail, when given), with their history rows.

    The kind follows from the document when not given (a CNPJ makes a legal entity).
    Raises ValidationError naming each bad field (`document`, `phone`, `email`…); nothing is saved then.
    """
    document = normalize_document(document or "")
    person = Person(
        name=(name or "").strip(),
        kind=kind or kind_for(document),
        document=document,
        trade_name=(trade_name or "").strip(),
        city=(city or "").strip(),
        state=(state or "").strip().upper(),
        notes=notes or "",
        active=active,
    )
    return add_person(person, by=by, phone=phone, phone_kind=phone_kind, email=email)


def add_person(
    person: Person, *, by: Any, phone: str = "", phone_kind: str = Phone.Kind.MOBILE, email: str = ""
) -> Person:
    """Check and save a new Person instance (the admin's form builds one), its phone and e-mail, and history."""
    errors: dict[str, list[str]] = {}
    try:
        person.full_clean()
    except ValidationError as exc:
        errors.update(_errors(exc))
    extras: list[Phone | Email] = []
    if (phone or "").strip():
        row: Phone | Email = Phone(kind=phone_kind, number=phone.strip())
        try:
            row.full_clean(exclude=["person"])
        except ValidationError as exc:
            errors.update(_errors(exc, "phone"))
        extras.append(row)
    if (email or "").strip():
        row = Email(address=email.strip())
        try:
            row.full_clean(exclude=["person"])
        except ValidationError as exc:
            errors.update(_errors(exc, "email"))
        extras.append(row)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        person.save()
        record_change(person, by=by, action=Change.Action.CREATED)
        for extra in extras:
            extra.person = person
            extra.save()
            record_change(extra, by=by, action=Change.Action.CREATED)
    return person

"""What a person asked of collections: no collection e-mails. The one home of the flag: the admin, the API
(`PUT /api/v1/collections/preferences/{person}`) set it here; the update reads it (ciclo.collections.update)
when it e-mails a debtor."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ciclo.collections.models import CollectionPreference
from ciclo.history.models import Change, record_change
from ciclo.people.models import Person


def refuses_collection_emails(person: Person) -> bool:
    return CollectionPreference.objects.filter(person=person, no_collection_emails=True).exists()


def set_collection_emails(person: Person, *, refused: bool, by: Any) -> CollectionPreference:
    """Record that `person` refuses collection e-mails (`refused`) or takes them again.

    The person's history gets a row (who, when, `no_collection_emails`: from, to), as every change of a
    person has; setting what is already so writes nothing. The person's preference row is locked, so two
    people changing it at once each leave their own row (a second first row breaks the one-to-one and is
    read again, locked, by get_or_create).
    """
    with transaction.atomic():
        preference, _created = CollectionPreference.objects.select_for_update().get_or_create(person=person)
        before = preference.no_collection_emails
        if before == refused:
            return preference
        preference.no_collection_emails = refused
        preference.save(update_fields=["no_collection_emails"])
        record_change(person, by=by, action=Change.Action.CHANGED, extra={"no_collection_emails": [before, refused]})
    return preference

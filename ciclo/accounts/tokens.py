"""API tokens: created with a random secret, kept as a SHA-256 hash, shown once.

A token reads `ciclo_<8 characters>_<secret>`; its first part (`ciclo_<8 characters>`)
is the prefix, stored in clear so people can tell their tokens apart and revoke one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from typing import Any

from django.db import transaction
from django.utils import timezone

from ciclo.accounts.models import ApiToken
from ciclo.accounts.roles import remember_role, role_subquery
from ciclo.history.models import Change, record_change, snapshot
from ciclo.http import parse_id
from ciclo.mail.sending import send

PREFIX_START = "ciclo_"
_ALPHABET = string.ascii_lowercase + string.digits
# Writing last_used_at on every request would make each read a write: once a minute is enough.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: Any, *, name: str = "", by: Any = None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns it with the raw token, which is not kept anywhere."""
    while True:
        prefix = PREFIX_START + "".join(secrets.choice(_ALPHABET) for _i in range(8))
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name.strip(), prefix=prefix, key_hash=hash_token(raw))
        record_change(token, by=by, action=Change.Action.CREATED)
        # Whoever made it, its owner hears of it: the token acts as them in the API.
        send("token_created", [user], {"token": token, "by": by})
    return token, raw


def revoke_token(token: ApiToken, *, by: Any = None, at: dt.datetime | None = None) -> bool:
    """Revoke the token; False when it was already revoked (nothing changes then)."""
    with transaction.atomic():
        before = snapshot(token)
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=at or timezone.now())
        if not updated:
            return False
        token.refresh_from_db(fields=["revoked_at"])
        record_change(token, by=by, action=Change.Action.DEACTIVATED, before=before)
    return True


def find_token(identifier: str) -> ApiToken | None:
    """A token by its id, its prefix (with or without `ciclo_`), or the whole token."""
    identifier = identifier.strip()
    qs = ApiToken.objects.select_related("user")
    if identifier.isdigit():
        pk = parse_id(identifier)
        return qs.filter(pk=pk).first() if pk is not None else None
    if identifier.count("_") >= 2:
        identifier = "_".join(identifier.split("_")[:2])
    if not identifier.startswith(PREFIX_START):
        identifier = PREFIX_START + identifier
    return qs.filter(prefix=identifier).first()


def authenticate(raw: str, *, at: dt.datetime | None = None) -> ApiToken | None:
    """The active token matching `raw` whose user is active, or None. Notes when it was used.

    One query reads the token, its user, the user's role (kept for role_of) and whether user × company
    access control is on (for company_restricted).
    """
    from ciclo.tickets.access import access_control_on, remember_restriction

    raw = raw.strip()
    if not raw.startswith(PREFIX_START) or len(raw) > 200:
        return None
    found = (
        ApiToken.objects.active()
        .filter(key_hash=hash_token(raw))
        .select_related("user")
        .annotate(user_role=role_subquery("user_id"), access_control=access_control_on())
        .order_by()  # the key is unique
    )
    token = next(iter(found[:1]), None)
    if token is None or not token.user.is_active:
        return None
    remember_role(token.user, getattr(token, "user_role", None))
    remember_restriction(token.user, getattr(token, "access_control", None))
    at = at or timezone.now()
    if token.last_used_at is None or at - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at
    return token

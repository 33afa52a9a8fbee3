"""API tokens: created with a random secret, kept as a SHA-256 hash, shown once.

A token reads `ciclo_<8 characters>_<secret>`; its first part (`ciclo_<8 characters>`)
is the prefix, stored in clear so people can tell their tokens apart and revoke one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.db.models import Subquery
from django.utils import timezone

from ciclo import rows
from ciclo.accounts.models import ApiToken
from ciclo.accounts.roles import remember_role, role_subquery
from ciclo.configurator.cache import remember_version, version_query
from ciclo.history.models import Change, record_change, snapshot
from ciclo.http import parse_id

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


# Stands for the key's hash in the statement authenticate() compiles once (never a SHA-256 in hex).
_KEY_HASH = "\x00key_hash\x00"


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    key_at: int  # where the key's hash goes in params
    converters: rows.Converters  # what the ORM does to each value it reads
    token_names: tuple[str, ...]
    user_names: tuple[str, ...]


@cache
def _statement(alias: str, vendor: str) -> _Statement:
    """authenticate()'s query, compiled by the ORM once per database: the token, its user, the
    user's role (roles.role_subquery) and the configuration's version (configurator.cache).

    Building and compiling the query cost about 1 ms of Python per request; running it, a
    few hundredths of that.
    """
    token_names = tuple(f.attname for f in ApiToken._meta.concrete_fields)
    user_names = tuple(f.attname for f in get_user_model()._meta.concrete_fields)
    names = (*token_names, *(f"user__{n}" for n in user_names), "user_role", "config_version")
    qs = (
        ApiToken.objects.active()
        .filter(key_hash=_KEY_HASH)
        .annotate(user_role=role_subquery("user_id"), config_version=Subquery(version_query()))
        .order_by()  # the key is unique
        .values_list(*names)[:1]
    )
    compiler = qs.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    query = compiler.query
    selected = (*query.extra_select, *query.values_select, *query.annotation_select)
    if selected != names or list(params).count(_KEY_HASH) != 1:  # pragma: no cover - the ORM's columns moved
        raise RuntimeError(f"unexpected columns for the token's query: {selected}")
    columns = [col for col, _sql, _alias in compiler.select[: compiler.col_count]]
    converters = rows.converters(columns, connections[alias])
    return _Statement(sql, tuple(params), list(params).index(_KEY_HASH), converters, token_names, user_names)


def _find(key_hash: str) -> tuple[ApiToken, str | None, str | None] | None:
    """The unrevoked token with this hash, its user loaded, with the user's role and the configuration version."""
    alias = router.db_for_read(ApiToken)
    connection = connections[alias]
    st = _statement(alias, connection.vendor)
    params = list(st.params)
    params[st.key_at] = key_hash
    with connection.cursor() as cursor:
        cursor.execute(st.sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = rows.convert(row, st.converters, connection)
    n, m = len(st.token_names), len(st.token_names) + len(st.user_names)
    token = ApiToken.from_db(alias, st.token_names, values[:n])
    user = get_user_model().from_db(alias, st.user_names, values[n:m])
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    return token, values[m], values[m + 1]


def authenticate(raw: str, *, at: dt.datetime | None = None) -> ApiToken | None:
    """The active token matching `raw` whose user is active, or None. Notes when it was used.

    One query reads the token, its user, the user's role (kept for role_of) and the
    configuration's version (kept for the request's config(), see configurator.cache).
    """
    raw = raw.strip()
    if not raw.startswith(PREFIX_START) or len(raw) > 200:
        return None
    found = _find(hash_token(raw))
    if found is None:
        return None
    token, role, version = found
    if not token.user.is_active:
        return None
    remember_role(token.user, role)
    remember_version(version)
    at = at or timezone.now()
    if token.last_used_at is None or at - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at
    return token

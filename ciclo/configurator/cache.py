"""The configuration, read once per process and kept while it does not change.

Tickets read the configuration on every action (the route's steps, who works a CR,
the required questions of a phase). It changes rarely, so each process keeps one
copy, tagged with the configuration version: a one-row token that every change
of a definition replaces with a new one (saves and deletes through signals, queryset updates through
ConfigQuerySet, member changes through m2m_changed). An action reads the version
with the query it makes anyway and rebuilds the copy only when it moved.

**One version per request.** A web page or an API call asks for the configuration
several times (access control, the route, the cycle, the codes of a filter); reading
the version each time cost a query each. Inside a request (ConfigScopeMiddleware opens
the scope, request_scope()), the version is read once — with the query that loads the
user (the API token's, the session's: remember_version()), or by the first config()
that needs it — and every later config() of the request uses it. This is safe because:

- a request then sees one configuration from start to end, never a mix of two, which
  is what a person acting on a page saw anyway: a change made elsewhere while the
  request runs is seen by the next request, exactly as if it had come a moment later;
- a request that changes the configuration sees its own change: bump() gives the
  scope the new token, so the next config() of the request rebuilds the copy;
- the engine's writes do not depend on it: moving a ticket and saving answers read
  the version with the ticket's locked row and pass it to config() explicitly;
- the scope is reset when the request ends, whatever happens (try/finally), so
  nothing is carried to the next request served by the same thread; a contextvar,
  so concurrent requests (threads, or tasks under ASGI) each have their own.

Outside a request (commands, the shell, tests calling the engine) there is no scope,
and config() reads the version every time, as it always did.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Prefetch


class ConfigQuerySet(models.QuerySet[Any]):
    """Queryset of a definition model: bulk writes bump the configuration version too."""

    def update(self, **kwargs: Any) -> int:
        rows = super().update(**kwargs)
        bump()
        return rows

    def delete(self) -> tuple[int, dict[str, int]]:
        result = super().delete()
        bump()
        return result

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Any]:
        result = super().bulk_create(*args, **kwargs)
        bump()
        return result

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        result = super().bulk_update(*args, **kwargs)
        bump()
        return result


class _Scope:
    """One request's configuration version: None until it is read (or given by the user's query)."""

    __slots__ = ("version",)

    def __init__(self, version: str | None = None) -> None:
        self.version = version


# The request's scope, None outside a request. It holds an object, not the version itself:
# a view run in a copy of the context (sync_to_async, a thread pool) updates the same scope.
_request: ContextVar[_Scope | None] = ContextVar("ciclo_config_request", default=None)


@contextmanager
def request_scope(version: str | None = None) -> Iterator[None]:
    """While it is open, config() reads the version at most once (see the module's docstring)."""
    reset = _request.set(_Scope(version))
    try:
        yield
    finally:
        _request.reset(reset)


def remember_version(version: str | None) -> None:
    """The version a request read with another query (its user's): config() will not read it again.

    Kept only when the request knows none yet, so a request never moves to another version
    halfway (but bump()). Outside a request it does nothing.
    """
    scope = _request.get()
    if scope is not None and scope.version is None:
        scope.version = version or ""


def request_version() -> str | None:
    """The version this request uses, None when it is not known yet or outside a request."""
    scope = _request.get()
    return None if scope is None else scope.version


def version_query() -> models.QuerySet[Any]:
    """The version as a subquery, to read it with a query an action makes anyway."""
    from ciclo.configurator.models import ConfigVersion

    return ConfigVersion.objects.filter(pk=1).values("token")[:1]


def version_sql() -> str:
    """The version as a scalar subquery in plain SQL, for statements written by hand (ciclo.rows)."""
    from django.db import connection

    from ciclo.configurator.models import ConfigVersion

    qn = connection.ops.quote_name
    return f"(SELECT {qn('token')} FROM {qn(ConfigVersion._meta.db_table)} WHERE {qn('id')} = 1)"


def bump(**_kwargs: Any) -> None:
    """Mark the configuration changed (a signal receiver, or called directly).

    A new random token, not a counter: a rolled-back change can never leave another
    process's copy looking current.
    """
    from ciclo.configurator.models import ConfigVersion

    token = uuid.uuid4().hex
    if not ConfigVersion.objects.filter(pk=1).update(token=token):
        ConfigVersion.objects.update_or_create(pk=1, defaults={"token": token})
    scope = _request.get()
    if scope is not None:  # the request that changed the configuration sees its change
        scope.version = token


def current_version() -> str:
    from ciclo.configurator.models import ConfigVersion

    return ConfigVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""


@dataclass
class Config:
    version: str
    access_control_user_company: bool
    cr_members: dict[int, frozenset[int]]
    closes: dict[int, bool]
    type_cycle: dict[int, int | None]
    cr_ids: dict[str, int] = field(default_factory=dict)  # CR code → id
    service_types: tuple[tuple[int, str], ...] = ()  # (id, code) of every type, in code order
    # What a filter offers: (id, code, description, active) of every CR, and of every analytical type, in code order.
    cr_choices: tuple[tuple[int, str, str, bool], ...] = ()
    type_choices: tuple[tuple[int, str, str, bool], ...] = ()
    steps: dict[int, dict[int, Any]] = field(default_factory=dict)  # workflow id → order → step
    questions: dict[int, dict[int, Any]] = field(default_factory=dict)  # cycle id → question id → question
    required: dict[int, dict[int, list[Any]]] = field(default_factory=dict)  # cycle → CR → required questions

    def workflow_steps(self, workflow_id: int) -> dict[int, Any]:
        if workflow_id not in self.steps:
            from ciclo.configurator.models import DecisionOption, WorkflowStep

            steps = (
                WorkflowStep.objects.filter(workflow_id=workflow_id)
                .select_related("cr", "target_workflow")
                .prefetch_related(Prefetch("options", queryset=DecisionOption.objects.order_by("position", "id")))
            )
            self.steps[workflow_id] = {s.order: s for s in steps}
        return self.steps[workflow_id]

    def cycle_questions(self, cycle_id: int) -> dict[int, Any]:
        if cycle_id not in self.questions:
            from ciclo.configurator.models import Option, Question

            questions = (
                Question.objects.filter(cycle_id=cycle_id)
                .select_related("cr")
                .prefetch_related(Prefetch("options", queryset=Option.objects.order_by("position", "id")))
                .order_by("code_key")
            )
            self.questions[cycle_id] = {q.pk: q for q in questions}
            required: dict[int, list[Any]] = {}
            for q in self.questions[cycle_id].values():
                if q.required and q.active:
                    required.setdefault(q.cr_id, []).append(q)
            self.required[cycle_id] = required
        return self.questions[cycle_id]

    def required_questions(self, cycle_id: int | None, cr_id: int) -> list[Any]:
        if cycle_id is None:
            return []
        self.cycle_questions(cycle_id)
        return self.required[cycle_id].get(cr_id, [])

    def step_by_id(self, workflow_id: int, step_id: int) -> Any:
        for step in self.workflow_steps(workflow_id).values():
            if step.pk == step_id:
                return step
        raise LookupError(step_id)

    def may_work(self, user_id: int, cr_id: int) -> bool:
        members = self.cr_members.get(cr_id)
        return not members or user_id in members


_lock = threading.Lock()
_config: Config | None = None


def _load(version: str) -> Config:
    from ciclo.configurator.models import CrmOptions, ResponsibilityCenter, ServiceType

    options = CrmOptions.objects.filter(pk=1).values_list("access_control_user_company", flat=True).first()
    members: dict[int, set[int]] = {}
    for cr_id, user_id in ResponsibilityCenter.members.through.objects.values_list(
        "responsibilitycenter_id", "user_id"
    ):
        members.setdefault(cr_id, set()).add(user_id)
    crs = list(
        ResponsibilityCenter.objects.order_by("code_key").values_list(
            "id", "closes_process", "code", "description", "active"
        )
    )
    types = list(
        ServiceType.objects.order_by("code_key").values_list("id", "cycle_id", "code", "description", "active", "kind")
    )
    return Config(
        version=version,
        access_control_user_company=bool(options),
        cr_members={k: frozenset(v) for k, v in members.items()},
        closes={pk: closes for pk, closes, *_rest in crs},
        type_cycle={pk: cycle_id for pk, cycle_id, *_rest in types},
        cr_ids={code: pk for pk, _closes, code, *_rest in crs},
        service_types=tuple((pk, code) for pk, _cycle, code, *_rest in types),
        cr_choices=tuple((pk, code, text, active) for pk, _closes, code, text, active in crs),
        type_choices=tuple(
            (pk, code, text, active)
            for pk, _cycle, code, text, active, kind in types
            if kind == ServiceType.Kind.ANALYTICAL
        ),
    )


def config(version: str | None = None) -> Config:
    """The configuration at `version`; when not given, the request's (read once), or read now outside a request."""
    global _config
    if version is None:
        scope = _request.get()
        if scope is None:
            version = current_version()
        else:
            if scope.version is None:
                scope.version = current_version()
            version = scope.version
    version = version or ""
    cached = _config
    if cached is not None and cached.version == version:
        return cached
    with _lock:
        if _config is None or _config.version != version:
            _config = _load(version)
        return _config


def forget() -> None:
    """Drop this process's copy (tests that change the database underneath use it)."""
    global _config
    _config = None

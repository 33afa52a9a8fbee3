"""One shape for every error the API returns, and the handlers that produce it.

    {"error": {"code": "…", "message": "…", "fields": {"field": ["…"]}, …extra}}

`fields` is always present (empty when the error is not about a field). Extra keys
carry data for programs, typed per code in the schema (ciclo.api.schemas.ErrorDetail):
`decision` (decision_required), `step`/`workflow`/`options` (invalid_choice), `questions`
(required_unanswered), `conflicts` (answer_conflict), `crs` (phase_locked),
`current_version` (stale_ticket), `used_by` (in_use), `problems` (invalid and in_use, for a
change of the configuration: each rule it breaks as {rule, path, message}). The engine's data
speaks of rows by id, and the configuration's problems of paths as a file writes them
("steps[2].cr"); here both are put in the API's vocabulary (steps by order, questions by code,
fields dotted: "steps.2.cr").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from ciclo.configurator.changes import ConfigurationInvalid
from ciclo.configurator.validation import Rule
from ciclo.tickets import errors as engine

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("ciclo.api")


class ApiError(Exception):
    """Raised by endpoints to answer with an error of the documented shape."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.extra = extra


def invalid(fields: dict[str, list[str]], message: str | None = None) -> ApiError:
    """A 422 naming the fields that are wrong."""
    return ApiError(422, "invalid", message or _("Some values are not valid."), fields)


def not_found(message: str | None = None) -> ApiError:
    return ApiError(404, "not_found", message or _("Not found."))


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def error_response(
    status: int, code: str, message: str, fields: dict[str, list[str]] | None = None, **extra: Any
) -> HttpResponse:
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}, **extra}}
    response = JsonResponse(body, status=status, encoder=DjangoJSONEncoder)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="ciclo"'
    return response


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What pydantic puts in a location for the member of a union that failed ("cr", "constrained-int").
_UNION_TAGS = {"int", "str", "float", "bool", "list", "dict", "none", "decimal", "date", "datetime", "any"}


def field_name(loc: Iterable[Any]) -> str:
    """A pydantic error location as a dotted field name: ("body", "payload", "steps", 0, "cr") → "steps.0.cr"."""
    parts = list(loc)
    source = str(parts.pop(0)) if parts else "body"
    if source == "body" and parts and parts[0] == "payload":
        parts.pop(0)
    kept = [
        str(p)
        for p in parts
        # A capitalised part is the model of a union's member ("ChoiceValueIn"): fields are lower case.
        if isinstance(p, int) or (isinstance(p, str) and _NAME.match(p) and p not in _UNION_TAGS and not p[0].isupper())
    ]
    return ".".join(kept) or source


def django_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {NON_FIELD_ERRORS: [str(m) for m in exc.messages]}


# The engine's refusals: (status, extra keys taken from the error's data).
_ENGINE_STATUS: list[tuple[type[engine.TicketError], int]] = [
    (engine.InvalidInput, 422),
    (engine.NotAllowed, 403),
    (engine.TicketClosed, 409),
    (engine.StaleTicket, 409),
    (engine.DecisionRequired, 422),
    (engine.InvalidChoice, 422),
    (engine.RequiredUnanswered, 422),
    (engine.PhaseLocked, 409),
    (engine.AnswerConflict, 409),
]


def _decision_step(step_id: int) -> dict[str, Any]:
    """A decision step as requests name it: its order and its workflow's code, with its options."""
    from ciclo.configurator.models import WorkflowStep

    step = WorkflowStep.objects.select_related("workflow").get(pk=step_id)
    return {
        "step": step.order,
        "workflow": step.workflow.code,
        "options": [{"id": o.pk, "label": o.label, "target_order": o.target_order} for o in step.options.all()],
    }


def _conflicts(conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from ciclo.configurator.models import Question

    types = dict(Question.objects.filter(pk__in=[c["question"] for c in conflicts]).values_list("id", "answer_type"))
    return [
        {**{k: v for k, v in c.items() if k not in ("question", "code")}, "question": c["code"]}
        | {"answer_type": types.get(c["question"], "")}
        for c in conflicts
    ]


def engine_data(exc: engine.TicketError) -> dict[str, Any]:
    """The data an engine error carries, as the schema types it for its code."""
    data = dict(exc.data)
    if isinstance(exc, engine.DecisionRequired):
        return {"decision": {**_decision_step(exc.step_id), "question": exc.question}}
    if isinstance(exc, engine.InvalidChoice):
        return _decision_step(data["step"]) if "step" in data else {}
    if isinstance(exc, engine.AnswerConflict):
        return {"conflicts": _conflicts(exc.conflicts)}
    if isinstance(exc, engine.RequiredUnanswered):
        return {"questions": exc.questions}
    if isinstance(exc, (engine.PhaseLocked, engine.StaleTicket)):
        return data
    return {}


def engine_error(exc: engine.TicketError) -> HttpResponse:
    status = next((s for cls, s in _ENGINE_STATUS if isinstance(exc, cls)), 409)
    if isinstance(exc, engine.InvalidInput):
        return error_response(status, exc.code, _("Some values are not valid."), exc.errors)
    return error_response(status, exc.code, exc.message, **engine_data(exc))


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "throttled",
}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return error_response(
            401, "not_authenticated", _("Send a valid API token: the header Authorization: Bearer <token>.")
        )
    if exc.status_code == 400 and exc.__cause__ is not None:
        # ninja wraps the body parser's failure: the body is not JSON.
        return error_response(400, "malformed_json", _("The request body is not valid JSON."))
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc))


def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(field_name(error.get("loc", ())), []).append(str(error.get("msg", "")))
    return error_response(422, "invalid", _("Some values are not valid."), fields)


_INDEX = re.compile(r"\[(\d+)\]")


def api_path(path: str) -> str:
    """A problem's path as the API names fields: "steps[2].cr" → "steps.2.cr"; "" (the item) → "__all__"."""
    return _INDEX.sub(r".\1", path).lstrip(".") or NON_FIELD_ERRORS


def problems_out(problems: Iterable[Any], path: Callable[[str], str] = api_path) -> list[dict[str, str]]:
    return [{"rule": p.rule.value, "path": path(p.path), "message": p.message} for p in problems]


def configuration_error(exc: ConfigurationInvalid) -> HttpResponse:
    """A refused change of the configuration: 409 when something in use would go, else 422; nothing was written."""
    problems = problems_out(exc.problems)
    fields: dict[str, list[str]] = {}
    for problem in problems:
        fields.setdefault(problem["path"], []).append(problem["message"])
    if Rule.IN_USE in exc.rules:
        message = " ".join(p.message for p in exc.problems if p.rule == Rule.IN_USE)
        return error_response(409, "in_use", message, fields, used_by=[], problems=problems)
    if exc.rules == {Rule.CONCURRENT}:
        return error_response(409, "conflict", exc.problems[0].message)
    message = _("The change breaks a rule of the configuration; nothing was saved.")
    return error_response(422, "invalid", message, fields, problems=problems)


def _protected(request: HttpRequest, exc: ProtectedError | RestrictedError) -> HttpResponse:
    objects = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    used_by = sorted({str(o._meta.verbose_name) for o in list(objects)[:50]})
    return error_response(
        409,
        "in_use",
        _("It is in use (by %(used_by)s) and cannot be deleted: deactivate it instead (PATCH with active=false).")
        % {"used_by": ", ".join(used_by)},
        used_by=used_by,
    )


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return error_response(500, "server_error", _("Something went wrong on our side. It has been logged."))


def install(api: NinjaAPI) -> None:
    """Register the handlers: every error leaves the API in the documented shape."""
    handlers: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
        ApiError: lambda r, e: error_response(e.status, e.code, e.message, e.fields, **e.extra),
        engine.TicketError: lambda r, e: engine_error(e),
        ConfigurationInvalid: lambda r, e: configuration_error(e),
        NinjaValidationError: _validation_error,
        HttpError: _http_error,
        Http404: lambda r, e: error_response(404, "not_found", str(e) or _("Not found.")),
        ObjectDoesNotExist: lambda r, e: error_response(404, "not_found", _("Not found.")),
        PermissionDenied: lambda r, e: error_response(403, "forbidden", str(e) or _("You may not do this.")),
        DjangoValidationError: lambda r, e: error_response(
            422, "invalid", _("Some values are not valid."), django_fields(e)
        ),
        ProtectedError: _protected,
        RestrictedError: _protected,
        IntegrityError: lambda r, e: error_response(
            409, "conflict", _("Someone else changed the same data at the same time. Reload and try again.")
        ),
        Exception: _unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)

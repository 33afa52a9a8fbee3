"""/definitions: the whole configuration as one bundle (see ciclo.configurator.definitions).

Administrators only. GET /definitions/export gives the bundle as JSON or YAML;
POST /definitions/import takes one (a JSON body, or YAML with the content type
application/yaml or text/yaml), checks it whole and applies it in one transaction —
or, with ?dry_run=1, only says what it would do. An invalid bundle is a 422 whose
`fields` name each error's path in the file, and whose `problems` give each error's
rule code too (as the plan's `errors` do); nothing is written.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from ciclo.api.auth import require_admin
from ciclo.api.errors import ApiError, invalid, problems_out
from ciclo.api.schemas import LIST, ProblemOut, responses
from ciclo.configurator.definitions import (
    BundleSyntaxError,
    DefinitionsInvalid,
    Status,
    apply_import,
    dump,
    export_bundle,
    parse,
    plan_import,
)

router = Router()

# An import can also be too large (413) or of another media type (415).
IMPORT = (400, 401, 403, 409, 413, 415, 422)

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
# A file sent as bytes is read as YAML, of which JSON is a part.
FILE_TYPE = "application/octet-stream"
JSON_TYPES = {"application/json", ""}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "yaml": "application/yaml; charset=utf-8"}


class PlanItemOut(Schema):
    kind: str
    name: str
    path: str
    status: Literal[tuple(Status.values)]  # type: ignore[valid-type]
    changes: dict[str, list[Any]]


class PlanOut(Schema):
    valid: bool
    applied: bool
    counts: dict[str, int]
    items: list[PlanItemOut]
    errors: list[ProblemOut]


_BUNDLE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A definitions bundle (`ciclo_definitions: 1`): a JSON object, or a file (JSON or YAML) "
        "sent as application/octet-stream. YAML is also taken as application/yaml or text/yaml.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


_EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The bundle: JSON by default, YAML with format=yaml.",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "object"}},
            },
        }
    }
}


@router.get(
    "/export",
    response=responses({200: dict[str, Any]}, LIST),
    summary="The whole configuration as a definitions bundle",
    openapi_extra=_EXPORT_RESPONSE,
)
def export_definitions(
    request: HttpRequest, fmt: Literal["json", "yaml"] = Query("json", alias="format")
) -> HttpResponse:
    require_admin(request)
    return HttpResponse(dump(export_bundle(), fmt), content_type=CONTENT_TYPES[fmt])


def _bundle(request: HttpRequest) -> Any:
    content_type = (request.content_type or "").lower()
    if content_type == FILE_TYPE:
        return _file(request)
    if content_type in YAML_TYPES:
        fmt = "yaml"
    elif content_type in JSON_TYPES:
        fmt = "json"
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            _(
                "Send the definitions as application/json, or as a file (application/octet-stream) "
                "or YAML (application/yaml or text/yaml)."
            ),
        )
    try:
        text = request.body.decode("utf-8")
    except RequestDataTooBig:
        raise ApiError(413, "too_large", _("The definitions file is too large.")) from None
    except UnicodeDecodeError:
        raise ApiError(400, f"malformed_{fmt}", _("The request body is not UTF-8 text.")) from None
    try:
        return parse(text, fmt)
    except BundleSyntaxError as exc:
        raise ApiError(400, f"malformed_{fmt}", _("The request body is %(problem)s") % {"problem": exc}) from None


def _file(request: HttpRequest) -> Any:
    """A bundle sent as a file: bytes that must be UTF-8 JSON or YAML. What it holds is not a request's
    syntax but a file's content, so a file that is not one is a 422 naming the body."""
    try:
        text = request.body.decode("utf-8")
    except RequestDataTooBig:
        raise ApiError(413, "too_large", _("The definitions file is too large.")) from None
    except UnicodeDecodeError:
        raise invalid({"body": [_("The file is not UTF-8 text.")]}) from None
    try:
        return parse(text)  # JSON when it starts with "{", else YAML
    except BundleSyntaxError as exc:
        raise invalid({"body": [_("The file is %(problem)s") % {"problem": exc}]}) from None


@router.post(
    "/import",
    response=responses({200: PlanOut}, IMPORT),
    summary="Check a definitions bundle and apply it (or only plan it, with dry_run)",
    openapi_extra=_BUNDLE_BODY,
)
def import_definitions(request: HttpRequest, dry_run: bool = False) -> dict[str, Any]:
    user = require_admin(request)
    data = _bundle(request)
    if dry_run:
        plan = plan_import(data)
    else:
        try:
            plan = apply_import(data, by=user)
        except DefinitionsInvalid as exc:
            plan = exc.plan
    if not plan.is_valid:
        error = invalid(plan.error_fields(), _("The definitions have errors; nothing was changed."))
        error.extra["problems"] = problems_out(plan.errors, path=str)
        raise error
    return plan.as_dict()

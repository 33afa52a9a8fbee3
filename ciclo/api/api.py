"""The REST API (/api/v1/): the NinjaAPI instance, its routers, error shape and docs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path, reverse
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase
from ninja.parser import Parser

from ciclo.api import errors
from ciclo.api.auth import TokenAuth

if TYPE_CHECKING:
    from django.urls import URLPattern, URLResolver

NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
DOCS_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}

DESCRIPTION = """
Ciclo's REST API. Authenticate with a personal token: `Authorization: Bearer <token>`
(create one with `ciclo token create USERNAME`).

**One vocabulary.** Every field has one meaning and one type, in every operation:
- configuration is named by its **code**: a CR's or a service type's classification (`"8.01"`, `"1.1"`),
  a workflow's or a cycle's code, a question's classification in the ticket's cycle;
- a workflow step by its **order** within its workflow (`step`, `next_order`, `target_order`;
  in `choices`, within the ticket's workflow unless `workflow` names another);
- records by their **id**: tickets, people, companies, contact persons, and the options of a
  decision or a question;
- users by their **username**.
Answers carry what the question's `answer_type` says (see AnswerValue); responses give both ids
and codes in their references, requests take only the one above.

**Requests are strict**: unknown fields are refused; a boolean is `true`/`false` (not 0/1), a number
a JSON number (not text), null only where the schema says nullable; a PATCH changes the fields
given and keeps the others. What the schema forbids is a 422 naming the field; nothing is written.

**Errors** all have one shape, typed per `code` in the schema (ErrorOut):
`{"error": {"code": "…", "message": "…", "fields": {"field": ["…"]}, …data}}` —
400 malformed JSON, 401 no or bad token, 403 your role or the CR's membership does not allow it,
404 not found or not visible to you, 409 a conflict with the current state
(closed ticket, stale version, answer conflict, locked phase, definition in use),
422 invalid values (each field named as the request named it; nothing was written).
Each operation lists the statuses it can answer. A configuration change refused by a rule also lists
its `problems`: `{"rule": "answered_type", "path": "questions.0.answer_type", "message": "…"}` — the
rule's code is the same whichever interface (the admin, this API, a definitions file) meets it.

**Lists** are paged by cursor: pass `next_cursor` back as `cursor` until it is null.

**Defaults of options** (`checked_by_default`) are suggestions to offer pre-selected: an answer exists
only once it is saved, and a required question is satisfied only by a saved answer.
"""


class _StrictJsonParser(Parser):
    """JSON without NaN or Infinity, which no column can hold."""

    def parse_body(self, request: HttpRequest) -> Any:
        def refuse(constant: str) -> Any:
            raise ValueError(f"{constant} is not JSON")

        return json.loads(request.body, parse_constant=refuse)


class LocalSwagger(DocsBase):
    """Swagger UI served from the assets django-ninja ships: no CDN, and no need for "ninja"
    in INSTALLED_APPS (the assets come through the API's own URL)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        def asset(name: str) -> str:
            return escape(reverse(f"{api.urls_namespace}:docs-asset", kwargs={**kwargs, "name": name}))

        settings = json.dumps({"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout", "deepLinking": True})
        settings = settings.replace("<", "\\u003c")  # inert inside <script>, still the same JSON
        html = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<link type="text/css" rel="stylesheet" href="{asset("swagger-ui.css")}">
<link rel="icon" type="image/png" href="{asset("favicon.png")}">
<title>{escape(api.title)}</title>
</head>
<body>
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{asset("swagger-ui-bundle.js")}"></script>
<script src="{asset("swagger-ui-init.js")}"></script>
</body>
</html>"""
        return HttpResponse(html)


def docs_asset(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in DOCS_ASSETS:
        return errors.error_response(404, "not_found", str(_("Not found.")))
    response = FileResponse((NINJA_STATIC / name).open("rb"), content_type=DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return errors.error_response(404, "not_found", str(_("There is no such API endpoint.")))


def _shaped(view: Any) -> Any:
    """ninja answers a method an endpoint lacks with a bare 405: give it the error shape."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            shaped = errors.error_response(
                405,
                "method_not_allowed",
                str(_("This endpoint does not take %(method)s.") % {"method": request.method}),
            )
            shaped["Allow"] = response.get("Allow", "")
            return shaped
        return response

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


class CicloAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        """The view's name (`create_ticket`), which is unique across the API: what a generated client calls."""
        return str(operation.view_func.__name__)

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls = super()._get_urls()
        for pattern in urls:
            pattern.callback = _shaped(pattern.callback)  # type: ignore[union-attr]
        return [
            path("docs/assets/<str:name>", docs_asset, name="docs-asset"),
            *urls,
            path("<path:rest>", not_found, name="not-found"),
        ]


api = CicloAPI(
    title="Ciclo API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    docs=LocalSwagger(),
    parser=_StrictJsonParser(),
    urls_namespace="api-v1",
)
errors.install(api)

api.add_router("/config", "ciclo.api.configuration.router", tags=["configuration"])
api.add_router("/", "ciclo.api.people.router", tags=["people"])
api.add_router("/tickets", "ciclo.api.tickets.router", tags=["tickets"])
api.add_router("/definitions", "ciclo.api.definitions.router", tags=["definitions"])
api.add_router("/", "ciclo.api.sales.router", tags=["sales"])
api.add_router("/appointments", "ciclo.api.agenda.router", tags=["agenda"])
api.add_router("/me", "ciclo.api.me.router", tags=["account"])
api.add_router("/followup", "ciclo.api.followup.router", tags=["follow-up"])
api.add_router("/insight", "ciclo.api.insight.router", tags=["insight"])
api.add_router("/", "ciclo.api.receivables.router", tags=["receivables"])
api.add_router("/collections", "ciclo.api.collections.router", tags=["collections"])

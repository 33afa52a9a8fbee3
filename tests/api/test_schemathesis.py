"""Property-based tests of every operation in the OpenAPI schema, against the real app and database.

Schemathesis generates valid and invalid requests from the schema, and every check it has
runs on every response: no 5xx; a documented status, content type, body and headers; data
the schema forbids refused (4xx); data the schema allows accepted; authentication enforced;
an undocumented method answered 405. Bounded (about 25 examples per operation, no deadline)
so each file runs in a few minutes.

Data the schema allows may still break a rule of the domain that no schema can say (a code
that names no CR, a decision not taken): that is a 422 naming the field, and so 422 is
accepted for a valid request — but only when the domain said it, never pydantic: the
schema and the request models must agree on what is well formed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from ninja.errors import ValidationError as NinjaValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from ciclo.accounts.roles import Role
from ciclo.accounts.tokens import create_token
from ciclo.api.api import api
from ciclo.people.models import ContactPerson
from tests.factory import SalesSetup, make_ticket, make_user

# Requests refused by the request models (pydantic), as (method, path); filled while a case runs.
SCHEMA_REFUSALS: list[tuple[str, str]] = []


@schemathesis.check
def well_formed_data_passes_the_request_models(ctx: Any, response: Any, case: Any) -> bool | None:
    """A request the schema allows is never refused as malformed: only a rule of the domain may say no."""
    if case.meta is not None and case.meta.generation.mode.is_positive and SCHEMA_REFUSALS:
        raise AssertionError(
            f"A request the schema allows was refused by the request models: {response.status_code} "
            f"{response.text[:500]}"
        )
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    missing_required_header,
    unsupported_method,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
    well_formed_data_passes_the_request_models,
]

config = schemathesis.Config.from_dict(
    {
        "seed": 20261128,
        "generation": {"mode": "all", "max-examples": 25, "database": "none"},
        "suppress-health-check": ["all"],
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]}},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application(), config=config)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app closes the database connection after each request, as in production; Django's
    test client stops that, and so must a test that calls the app directly (the test's transaction
    lives on that connection)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _note_schema_refusals() -> Iterator[None]:
    """Record each refusal by the request models; the API's own handler still answers it."""
    handlers = api._exception_handlers
    answer = handlers[NinjaValidationError]

    def noted(request: Any, exc: Exception) -> Any:
        SCHEMA_REFUSALS.append((request.method, request.path))
        return answer(request, exc)

    handlers[NinjaValidationError] = noted
    try:
        yield
    finally:
        handlers[NinjaValidationError] = answer


@pytest.fixture
def token(db) -> str:
    """An administrator's token, over a database with something at the ids generators pick first."""
    admin = make_user("st_admin", Role.ADMIN, is_superuser=True)
    agent = make_user("st_agent", Role.AGENT)
    sales = SalesSetup()
    for _i in range(3):
        ticket = make_ticket(sales, agent)
    ContactPerson.objects.create(person=ticket.person, name="Contato")
    return create_token(admin, name="schemathesis")[1]


def run(case: Any, token: str) -> None:
    """The case with the token, unless the case is about leaving the header out."""
    SCHEMA_REFUSALS.clear()
    without_header = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    headers = {} if without_header else {"Authorization": f"Bearer {token}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


# /definitions (export/import of the configuration) is another module's: its own test below,
# so a failure there is told apart from the rest of the API.
DEFINITIONS = "^/api/v1/definitions/"


@schema.exclude(path_regex=DEFINITIONS).parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, token):
    run(case, token)


@schema.include(path_regex=DEFINITIONS).parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_definitions_operation_keeps_its_contract(case, token):
    run(case, token)

"""Property-based tests of every operation in the OpenAPI schema, against the real app and database.

Schemathesis generates valid and invalid requests from the schema; every response must
be no 5xx, carry a documented status and content type, and match its documented body.
Bounded (about 25 examples per operation, no deadline) so the file runs in a few minutes.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ciclo.accounts.roles import Role
from ciclo.accounts.tokens import create_token
from ciclo.people.models import ContactPerson
from tests.factory import SalesSetup, make_ticket, make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

config = schemathesis.Config.from_dict(
    {
        "seed": 20261128,
        "generation": {"mode": "all", "max-examples": 25, "database": "none"},
        "suppress-health-check": ["all"],
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


# /definitions (export/import of the configuration) is another module's: its own test below,
# so a failure there is told apart from the rest of the API.
DEFINITIONS = "^/api/v1/definitions/"


@schema.exclude(path_regex=DEFINITIONS).parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_contract(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.include(path_regex=DEFINITIONS).parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_definitions_operation_keeps_its_contract(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

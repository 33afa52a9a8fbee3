"""The OpenAPI schema as a contract: named types, typed errors, and bodies refused as it says."""

from __future__ import annotations

from typing import Any

import pytest

from ciclo.api.api import api
from ciclo.configurator.models import AnswerType, ResponsibilityCenter, ServiceType, WorkflowStep
from ciclo.configurator.validation import Rule
from ciclo.people.models import Person
from ciclo.tickets.models import Ticket
from tests.api.helpers import assert_error, history_is_empty
from tests.factory import make_cr, make_person


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return api.get_openapi_schema(path_prefix="/api/v1/")


def test_every_enumeration_has_its_own_name_and_its_model_values(schema):
    components = schema["components"]["schemas"]
    assert "Kind" not in components and "Status" not in components
    for name, choices in [
        ("PersonKind", Person.Kind),
        ("StepKind", WorkflowStep.Kind),
        ("ServiceTypeKind", ServiceType.Kind),
        ("TicketStatus", Ticket.Status),
    ]:
        assert components[name]["enum"] == list(choices.values), name
    # A request body is the configuration's item itself, its enumerations the same named ones.
    step = components["StepItem"]["properties"]["kind"]
    assert step["allOf"] == [{"$ref": "#/components/schemas/StepKind"}]
    question = components["QuestionItem"]["properties"]["answer_type"]
    assert question == {"$ref": "#/components/schemas/AnswerType"}
    assert components["AnswerType"]["enum"] == list(AnswerType.values)
    for name in ("StepIn", "WorkflowIn", "CycleIn", "QuestionIn", "ServiceTypeIn", "CrIn"):
        assert name not in components


def test_every_error_is_typed_per_code(schema):
    detail = schema["components"]["schemas"]["ErrorOut"]["properties"]["error"]
    mapping = detail["discriminator"]["mapping"]
    for code, model, field in [
        ("decision_required", "DecisionRequiredError", "decision"),
        ("required_unanswered", "RequiredUnansweredError", "questions"),
        ("answer_conflict", "AnswerConflictError", "conflicts"),
        ("phase_locked", "PhaseLockedError", "crs"),
        ("stale_ticket", "StaleTicketError", "current_version"),
        ("in_use", "InUseError", "used_by"),
    ]:
        assert mapping[code] == f"#/components/schemas/{model}"
        assert field in schema["components"]["schemas"][model]["required"]


def test_a_refused_change_of_the_configuration_carries_its_rules(schema):
    components = schema["components"]["schemas"]
    mapping = components["ErrorOut"]["properties"]["error"]["discriminator"]["mapping"]
    assert mapping["invalid"] == "#/components/schemas/InvalidError"
    for model in ("InvalidError", "InUseError"):
        problems = components[model]["properties"]["problems"]
        assert problems["items"] == {"$ref": "#/components/schemas/ProblemOut"}
    assert set(components["ProblemOut"]["required"]) == {"rule", "path", "message"}
    assert components["ProblemOut"]["properties"]["rule"]["$ref"] == "#/components/schemas/Rule"
    assert set(components["Rule"]["enum"]) == {rule.value for rule in Rule}


def test_each_operation_lists_what_it_answers(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/config/crs"]["get"]["responses"]) == {200, 401, 403}
    assert set(paths["/api/v1/config/crs/{code}"]["delete"]["responses"]) == {204, 401, 403, 404, 409}
    note = paths["/api/v1/tickets/{id}/notes"]["post"]["responses"]
    assert set(note) == {201, 400, 401, 403, 404, 409, 422}
    assert note[409]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    assert all(500 not in op["responses"] for methods in paths.values() for op in methods.values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([None, None], "body"),
        (7, "body"),
        ({"active": 0}, "active"),
        ({"active": "false"}, "active"),
        ({"description": None}, "description"),
        ({"closes_process": None}, "closes_process"),
        ({"colour": "red"}, "colour"),  # not a field of a CR
    ],
)
def test_a_patch_the_schema_forbids_is_422_naming_the_field(api_as, admin_user, body, field):
    make_cr("4", description="Pós-venda")
    assert_error(api_as(admin_user).patch("/config/crs/4", body), 422, "invalid", field)
    assert ResponsibilityCenter.objects.get(code="4").description == "Pós-venda" and history_is_empty()


def test_what_the_schema_allows_is_accepted(api_as, admin_user):
    make_cr("4", description="Pós-venda")
    response = api_as(admin_user).patch("/config/crs/4", {"active": False})
    assert response.status_code == 200, response.body
    assert response.body["active"] is False and response.body["description"] == "Pós-venda"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"active": 1}, "active"),
        ({"name": None}, "name"),
        ({"kind": None}, "kind"),
        ({"kind": "Kind"}, "kind"),
    ],
)
def test_a_person_patch_is_strict(api_as, admin_user, change, field):
    person = make_person(name="Ana")
    assert_error(api_as(admin_user).patch(f"/people/{person.pk}", change), 422, "invalid", field)
    person.refresh_from_db()
    assert person.name == "Ana" and person.active


def test_every_error_code_the_api_answers_is_in_the_schema(schema):
    from ciclo.api import errors
    from ciclo.tickets import errors as engine

    mapping = schema["components"]["schemas"]["ErrorOut"]["properties"]["error"]["discriminator"]["mapping"]
    engine_codes = {cls.code for cls in vars(engine).values() if isinstance(cls, type) and issubclass(cls, Exception)}
    other = {"invalid", "not_found", "conflict", "in_use", "server_error", "malformed_json", "malformed_yaml"}
    other |= {"unsupported_media_type", "too_large", "error"}
    assert engine_codes | set(errors._HTTP_CODES.values()) | other <= set(mapping)


def test_no_two_schemas_of_the_api_share_a_name():
    """The schema names a body or a response by its class's name: two classes of one name would be
    described as one, and a client would read one operation's fields in the other's."""
    import importlib
    import pkgutil

    import pydantic

    import ciclo.api

    seen: dict[str, str] = {}
    clashes = []
    for module_info in pkgutil.iter_modules(ciclo.api.__path__):
        module = importlib.import_module(f"ciclo.api.{module_info.name}")
        for name, value in vars(module).items():
            if (
                isinstance(value, type)
                and issubclass(value, pydantic.BaseModel)
                and value.__module__ == module.__name__
            ):
                if name in seen and seen[name] != module.__name__:
                    clashes.append(f"{name}: {seen[name]} and {module.__name__}")
                seen.setdefault(name, module.__name__)
    assert not clashes

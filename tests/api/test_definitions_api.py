"""/definitions: export and import the whole configuration (administrators only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ciclo.configurator.definitions import dump, export_bundle
from ciclo.configurator.models import ResponsibilityCenter, Workflow
from ciclo.history.models import Change
from tests.api.helpers import assert_error, history_is_empty

SALES = Path(__file__).resolve().parent.parent.parent / "definitions" / "sales.yaml"


def post_yaml(api, text: str, content_type: str = "application/yaml", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = api.client.post(
        f"/api/v1/definitions/import{'?' + query if query else ''}",
        text.encode("utf-8"),
        content_type=content_type,
        headers=api.headers,
    )
    response.body = response.json() if "json" in response["Content-Type"] else None
    return response


# ---- export ------------------------------------------------------------------------------------


def test_an_admin_exports_json(api_as, admin_user, sales):
    response = api_as(admin_user).get("/definitions/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.body == export_bundle()
    assert response.content.decode() == dump(export_bundle(), "json")  # sorted keys: diffs cleanly


def test_an_admin_exports_yaml(api_as, admin_user, sales):
    response = api_as(admin_user).get("/definitions/export", format="yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == export_bundle()


def test_export_refuses_an_unknown_format(api_as, admin_user, sales):
    assert_error(api_as(admin_user).get("/definitions/export", format="xml"), 422, "invalid", "format")


def test_export_needs_a_token(anonymous, sales):
    assert_error(anonymous.get("/definitions/export"), 401, "not_authenticated")


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_export_is_for_administrators_only(api_as, request, sales, role):
    assert_error(api_as(request.getfixturevalue(role)).get("/definitions/export"), 403, "forbidden")


# ---- import ------------------------------------------------------------------------------------


def test_dry_run_plans_and_changes_nothing(api_as, admin_user, sales):
    api = api_as(admin_user)
    data = export_bundle()
    data["responsibility_centers"][0]["description"] = "Prospecção ativa"
    response = api.post("/definitions/import?dry_run=1", data)
    assert response.status_code == 200, response.body
    assert response.body["valid"] is True and response.body["applied"] is False
    assert response.body["counts"]["changed"] == 1
    changed = [i for i in response.body["items"] if i["status"] == "changed"]
    assert changed == [
        {
            "kind": "responsibility_center",
            "name": "CR 1 “Prospecção ativa”",
            "path": "responsibility_centers[0]",
            "status": "changed",
            "changes": {"description": ["Prospecção", "Prospecção ativa"]},
        }
    ]
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção"
    assert history_is_empty()


def test_import_applies_the_bundle_as_the_tokens_user(api_as, admin_user, sales):
    api = api_as(admin_user)
    data = export_bundle()
    data["responsibility_centers"][0]["description"] = "Prospecção ativa"
    response = api.post("/definitions/import", data)
    assert response.status_code == 200, response.body
    assert response.body["applied"] is True
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção ativa"
    change = Change.objects.get(object_repr="1 · Prospecção ativa")
    assert change.by == admin_user and change.changes == {"description": ["Prospecção", "Prospecção ativa"]}
    again = api.post("/definitions/import", data)
    assert again.body["counts"] == {"created": 0, "changed": 0, "unchanged": 30, "deleted": 0, "kept": 0}


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml"])
def test_import_takes_yaml(api_as, admin_user, db, content_type):
    response = post_yaml(api_as(admin_user), SALES.read_text(encoding="utf-8"), content_type)
    assert response.status_code == 200, response.body
    assert response.body["counts"]["created"] > 0 and response.body["counts"]["changed"] == 0
    assert Workflow.objects.filter(code="vendas").exists()


def test_an_invalid_bundle_is_a_422_naming_each_path(api_as, admin_user, sales):
    data = export_bundle()
    data["workflows"][0]["steps"][3]["next_order"] = 99
    data["workflows"][0]["steps"][0]["cr"] = "77"
    data["cycles"][0]["questions"][0]["answer_type"] = "colour"
    data["service_types"][0]["shape"] = "round"
    for path in ("/definitions/import", "/definitions/import?dry_run=1"):
        error = assert_error(api_as(admin_user).post(path, data), 422, "invalid")
        assert set(error["fields"]) == {
            "workflows[0].steps[0].cr",
            "cycles[0].questions[0].answer_type",
            "service_types[0].shape",
        }
        # Each error's rule, on the path the file names it by.
        assert sorted((p["path"], p["rule"]) for p in error["problems"]) == [
            ("cycles[0].questions[0].answer_type", "invalid"),
            ("service_types[0].shape", "unknown_key"),
            ("workflows[0].steps[0].cr", "not_found"),
        ]
    assert ResponsibilityCenter.objects.count() == 4
    assert history_is_empty()


def test_a_rule_error_is_placed_on_its_step(api_as, admin_user, sales):
    data = export_bundle()
    data["workflows"][0]["steps"][3]["next_order"] = 99
    error = assert_error(api_as(admin_user).post("/definitions/import", data), 422, "invalid")
    assert list(error["fields"]) == ["workflows[0].steps[3]"]
    assert "99" in error["fields"]["workflows[0].steps[3]"][0]
    [problem] = error["problems"]
    assert problem["rule"] == "order_missing" and problem["path"] == "workflows[0].steps[3]"
    plan = api_as(admin_user).post("/definitions/import?dry_run=1", data)
    assert plan.status_code == 422  # a dry run refuses the same way


def test_a_dry_runs_plan_lists_each_error_with_its_rule(api_as, admin_user, sales):
    from ciclo.configurator.definitions import plan_import

    data = export_bundle()
    data["workflows"][0]["steps"][3]["next_order"] = 99
    assert plan_import(data).as_dict()["errors"] == [
        {
            "rule": "order_missing",
            "path": "workflows[0].steps[3]",
            "message": "Step 15: the next order 99 does not exist.",
        }
    ]


def test_malformed_yaml_is_a_400(api_as, admin_user, db):
    response = post_yaml(api_as(admin_user), "ciclo_definitions: 1\nworkflows: [\n")
    error = assert_error(response, 400, "malformed_yaml")
    assert "line 3" in error["message"]


def test_malformed_json_is_a_400(api_as, admin_user, db):
    response = api_as(admin_user).post("/definitions/import", raw='{"ciclo_definitions": 1,')
    assert_error(response, 400, "malformed_json")


def test_another_content_type_is_a_415(api_as, admin_user, db):
    response = post_yaml(api_as(admin_user), "ciclo_definitions: 1\n", "text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_import_needs_a_token(anonymous, db):
    assert_error(anonymous.post("/definitions/import", {"ciclo_definitions": 1}), 401, "not_authenticated")


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_import_is_for_administrators_only(api_as, request, sales, role):
    data = export_bundle()
    data["responsibility_centers"][0]["description"] = "Mudou"
    response = api_as(request.getfixturevalue(role)).post("/definitions/import", data)
    assert_error(response, 403, "forbidden")
    assert ResponsibilityCenter.objects.get(code="1").description == "Prospecção"


def test_import_takes_only_post(api_as, admin_user, db):
    assert_error(api_as(admin_user).get("/definitions/import"), 405, "method_not_allowed")


def test_the_plan_is_json(api_as, admin_user, sales):
    response = api_as(admin_user).post("/definitions/import?dry_run=true", export_bundle())
    assert response.status_code == 200
    assert set(response.body) == {"valid", "applied", "counts", "items", "errors"}
    assert response.body["errors"] == []
    json.dumps(response.body)


# ---- values the loaders cannot read as such -----------------------------------------------------

LONG = "9" * 5000  # beyond Python's own limit (4,300 digits) for reading an integer
PRIORITY = "    priority: 2\n"


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-45"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_yaml_date_that_does_not_exist_is_a_422_naming_its_path(api_as, admin_user, db, day, dry_run):
    text = SALES.read_text(encoding="utf-8").replace(PRIORITY, f"{PRIORITY}    active_from: {day}\n", 1)
    response = post_yaml(api_as(admin_user), text, **({"dry_run": 1} if dry_run else {}))
    error = assert_error(response, 422, "invalid")
    assert error["fields"] == {
        "service_types[1].active_from": [
            f"There is no day {day} in the calendar: write a date that exists, as YYYY-MM-DD."
        ]
    }
    assert not Workflow.objects.exists()


def test_a_yaml_integer_of_thousands_of_digits_is_a_422_naming_its_path(api_as, admin_user, db):
    text = SALES.read_text(encoding="utf-8").replace(PRIORITY, f"    priority: {LONG}\n", 1)
    error = assert_error(post_yaml(api_as(admin_user), text), 422, "invalid")
    assert error["fields"] == {
        "service_types[1].priority": ["This number has 5000 digits: a number in a definitions file has at most 100."]
    }
    assert not Workflow.objects.exists()


def test_a_json_integer_of_thousands_of_digits_is_a_422_naming_its_path(api_as, admin_user, sales):
    data = export_bundle()
    data["service_types"][0]["priority"] = 123456789
    raw = json.dumps(data).replace("123456789", LONG)
    error = assert_error(api_as(admin_user).post("/definitions/import", raw=raw), 422, "invalid")
    assert list(error["fields"]) == ["service_types[0].priority"]
    assert history_is_empty()


def test_a_json_version_of_thousands_of_digits_is_a_422(api_as, admin_user, db):
    raw = f'{{"ciclo_definitions": {LONG}}}'
    error = assert_error(api_as(admin_user).post("/definitions/import?dry_run=1", raw=raw), 422, "invalid")
    assert list(error["fields"]) == ["ciclo_definitions"]

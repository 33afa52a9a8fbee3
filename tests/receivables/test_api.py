"""PUT /receivables, reading receivables, payments, statuses and kinds over the API, per role."""

from __future__ import annotations

import json

import pytest

from ciclo.accounts.models import UserCompany
from ciclo.accounts.roles import Role
from ciclo.collections.models import Payment, Receivable
from ciclo.configurator.models import CrmOptions
from tests.api.helpers import assert_error, history_is_empty
from tests.factory import make_user


@pytest.fixture
def loader(api_as, supervisor):
    return api_as(supervisor)


def test_admins_and_supervisors_load_receivables(ledger, api_as, admin_user, supervisor):
    for i, user in enumerate([admin_user, supervisor]):
        response = api_as(user).put("/receivables", [ledger.row(document=f"D{i}")])
        assert response.status_code == 200, response.body
        assert response.body == {
            "created": 1,
            "changed": 0,
            "unchanged": 0,
            "refused": [],
            "applied": True,
            "dry_run": False,
        }
    assert Receivable.objects.count() == 2


def test_agents_may_not_load_receivables(ledger, api_as, agent):
    assert_error(api_as(agent).put("/receivables", [ledger.row()]), 403, "forbidden")
    assert not Receivable.objects.exists()


def test_without_a_token_it_is_401(ledger, api_as):
    assert_error(api_as(None).put("/receivables", [ledger.row()]), 401, "not_authenticated")


def test_a_load_is_idempotent(ledger, loader):
    body = [ledger.row(), ledger.row(instalment="2")]
    assert loader.put("/receivables", body).body["created"] == 2
    again = loader.put("/receivables", body).body
    assert (again["created"], again["changed"], again["unchanged"]) == (0, 0, 2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_date": "01/11/2026"}, "0.due_date"),
        ({"due_date": "2026-02-30"}, "0.due_date"),
        ({"issue_date": "1800-01-01"}, "0.issue_date"),
        ({"amount": "-1.00"}, "0.amount"),
        ({"amount": -1}, "0.amount"),
        ({"open_balance": "10.001"}, "0.open_balance"),
        ({"open_balance": 10.001}, "0.open_balance"),
        ({"amount": "1e5"}, "0.amount"),
        ({"amount": True}, "0.amount"),
        ({"person": "12"}, "0.person"),
        ({"document": ""}, "0.document"),
        ({"document": "x" * 41}, "0.document"),
        ({"color": "blue"}, "0.color"),
        ({"kind": None}, "0.kind"),
    ],
)
def test_a_row_the_schema_forbids_is_a_422_naming_it_and_nothing_is_written(ledger, loader, change, field):
    body = [ledger.row(document="GOOD"), ledger.row(**change)][::-1]
    error = assert_error(loader.put("/receivables", body), 422, "invalid", field)
    assert list(error["fields"]) == [field]
    assert not Receivable.objects.exists()
    assert history_is_empty()


def test_a_missing_field_is_named(ledger, loader):
    row = ledger.row()
    del row["due_date"]
    assert_error(loader.put("/receivables", [row]), 422, "invalid", "0.due_date")


def test_a_body_that_is_not_a_list_of_rows_is_refused(ledger, loader):
    assert_error(loader.put("/receivables", ledger.row()), 422, "invalid", "body")
    assert_error(loader.put("/receivables", ["row"]), 422, "invalid", "0.__all__")
    assert_error(loader.put("/receivables", raw="[{"), 400, "malformed_json")
    assert_error(loader.put("/receivables", raw='[{"amount": NaN}]'), 400, "malformed_json")


def test_more_than_10000_rows_are_refused_whole(ledger, loader):
    body = [ledger.row(document=f"D{i}") for i in range(10_001)]
    error = assert_error(loader.put("/receivables", body), 422, "invalid", "body")
    assert "10,000" in error["fields"]["body"][0]
    assert not Receivable.objects.exists()


def test_rows_breaking_a_rule_of_the_data_are_refused_and_the_others_applied(ledger, loader):
    body = [
        ledger.row(document="A"),
        ledger.row(document="B", company="NOPE"),
        ledger.row(document="C", person=999_999),
        ledger.row(document="D", kind="fiado"),
        ledger.row(document="E", administrative_status="7"),
        ledger.row(document="F", issue_date="2026-12-01"),
        ledger.row(document="A"),
        ledger.row(document="G"),
    ]
    report = loader.put("/receivables", body).body
    assert report["created"] == 1
    assert [(r["row"], r["field"]) for r in report["refused"]] == [
        (0, "document"),
        (1, "company"),
        (2, "person"),
        (3, "kind"),
        (4, "administrative_status"),
        (5, "due_date"),
        (6, "document"),
    ]
    assert report["applied"] is True
    assert list(Receivable.objects.values_list("document", flat=True)) == ["G"]


def test_all_or_nothing_refuses_the_whole_load(ledger, loader):
    body = [ledger.row(document="A"), ledger.row(document="B", company="NOPE")]
    error = assert_error(loader.put("/receivables?all_or_nothing=true", body), 422, "invalid", "1.company")
    assert "nothing was written" in error["message"]
    assert not Receivable.objects.exists()
    assert loader.put("/receivables?all_or_nothing=true", body[:1]).body["created"] == 1


def test_a_dry_run_writes_nothing(ledger, loader):
    report = loader.put("/receivables?dry_run=true", [ledger.row()]).body
    assert report["created"] == 1 and report["applied"] is False and report["dry_run"] is True
    assert not Receivable.objects.exists()


def test_wrong_method_is_405(loader):
    assert_error(loader.delete("/receivables"), 405, "method_not_allowed")
    assert_error(loader.call("PATCH", "/receivables/1", {}), 405, "method_not_allowed")


# ---- reading --------------------------------------------------------------------------------


@pytest.fixture
def loaded(ledger, loader):
    body = [
        ledger.row(document="A", due_date="2026-10-15"),
        ledger.row(document="B", person=ledger.bruno.pk, open_balance="0"),
        ledger.row(document="C", company=ledger.branch.code, kind="descontado", administrative_status="1.2"),
    ]
    assert loader.put("/receivables", body).body["created"] == 3
    return {r.document: r for r in Receivable.objects.all()}


def test_any_role_reads_receivables_with_filters_and_pages(loaded, ledger, api_as, agent):
    api = api_as(agent)
    listed = api.get("/receivables").body
    assert [r["document"] for r in listed["items"]] == ["A", "B", "C"] and listed["next_cursor"] is None
    item = listed["items"][2]
    assert item["company"]["code"] == "FIL" and item["kind"]["code"] == "descontado"
    assert item["administrative_status"] == {"code": "1.2", "description": "Acordo", "enters_collection": True}
    assert item["amount"] == "1500.00"
    assert [r["document"] for r in api.get("/receivables", open="true").body["items"]] == ["A", "C"]
    assert [r["document"] for r in api.get("/receivables", open="false").body["items"]] == ["B"]
    assert [r["document"] for r in api.get("/receivables", company="FIL").body["items"]] == ["C"]
    assert [r["document"] for r in api.get("/receivables", person=ledger.bruno.pk).body["items"]] == ["B"]
    assert [r["document"] for r in api.get("/receivables", due_to="2026-10-31").body["items"]] == ["A"]
    page = api.get("/receivables", limit=2).body
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = api.get("/receivables", limit=2, cursor=page["next_cursor"]).body
    assert [r["document"] for r in rest["items"]] == ["C"] and rest["next_cursor"] is None
    assert_error(api.get("/receivables", cursor="garbage"), 422, "invalid", "cursor")


def test_a_receivable_by_id_and_a_404(loaded, api_as, agent):
    api = api_as(agent)
    found = api.get(f"/receivables/{loaded['A'].pk}").body
    assert found["document"] == "A" and found["payments"] == []
    assert_error(api.get("/receivables/999999"), 404, "not_found")


def test_a_user_restricted_to_some_companies_sees_only_theirs(loaded, ledger, api_as):
    CrmOptions.objects.filter(pk=CrmOptions.current().pk).update(access_control_user_company=True)
    agent = make_user("restricted_agent", Role.AGENT)
    UserCompany.objects.create(user=agent, company=ledger.company)
    api = api_as(agent)
    assert [r["document"] for r in api.get("/receivables").body["items"]] == ["A", "B"]
    assert_error(api.get(f"/receivables/{loaded['C'].pk}"), 404)


def test_the_list_reads_the_same_queries_whatever_it_shows(ledger, loader, django_assert_max_num_queries):
    loader.put("/receivables", [ledger.row(document=f"D{i}") for i in range(30)])
    with django_assert_max_num_queries(8):
        assert len(loader.get("/receivables").body["items"]) == 30


# ---- payments -------------------------------------------------------------------------------


def test_a_payment_lowers_the_open_balance(loaded, loader):
    receivable = loaded["A"]
    response = loader.post(f"/receivables/{receivable.pk}/payments", {"paid_on": "2026-11-02", "amount": "500.25"})
    assert response.status_code == 201, response.body
    assert response.body["payment"]["amount"] == "500.25" and response.body["payment"]["source"] == "api"
    assert response.body["receivable"]["open_balance"] == "999.75"
    assert [p["amount"] for p in response.body["receivable"]["payments"]] == ["500.25"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"paid_on": "2026-11-02", "amount": "1500.01"}, "amount"),
        ({"paid_on": "2026-11-02", "amount": "0"}, "amount"),
        ({"paid_on": "2026-11-02", "amount": "1.001"}, "amount"),
        ({"paid_on": "2999-11-02", "amount": "1"}, "paid_on"),
        ({"paid_on": "02/11/2026", "amount": "1"}, "paid_on"),
        ({"paid_on": "2026-11-02", "amount": "1", "note": "x"}, "note"),
    ],
)
def test_a_bad_payment_is_a_422_on_its_field(loaded, loader, body, field):
    assert_error(loader.post(f"/receivables/{loaded['A'].pk}/payments", body), 422, "invalid", field)
    assert not Payment.objects.exists()


def test_agents_record_no_payments_and_an_unknown_receivable_is_404(loaded, api_as, agent, loader):
    body = {"paid_on": "2026-11-02", "amount": "1"}
    assert_error(api_as(agent).post(f"/receivables/{loaded['A'].pk}/payments", body), 403, "forbidden")
    assert_error(loader.post("/receivables/999999/payments", body), 404, "not_found")
    assert not Payment.objects.exists()


# ---- statuses and kinds ---------------------------------------------------------------------


def test_administrative_statuses_by_code_with_enters_collection(ledger, api_as, agent):
    api = api_as(agent)
    listed = api.get("/administrative-statuses").body
    assert [(s["code"], s["kind"], s["parent"], s["enters_collection"]) for s in listed] == [
        ("1", "synthetic", None, True),
        ("1.1", "analytical", "1", False),
        ("1.2", "analytical", "1", True),
    ]
    assert api.get("/administrative-statuses/1.1").body["enters_collection"] is False
    assert_error(api.get("/administrative-statuses/9"), 404, "not_found")


def test_collection_kinds(ledger, api_as, agent):
    kinds = api_as(agent).get("/collection-kinds").body
    assert [(k["code"], k["collected"]) for k in kinds] == [("descontado", False), ("normal", True)]


def test_the_schema_types_the_rows(db):
    from ciclo.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    body = schema["paths"]["/api/v1/receivables"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["maxItems"] == 10_000
    assert set(body["items"]["properties"]) == {
        "company",
        "document",
        "instalment",
        "person",
        "issue_date",
        "due_date",
        "amount",
        "open_balance",
        "kind",
        "administrative_status",
    }
    assert body["items"]["additionalProperties"] is False
    json.dumps(schema)


# ---- administrative statuses: the configuration home ----------------------------------------


def test_an_administrator_creates_changes_and_deletes_statuses_with_history(ledger, api_as, admin_user):
    from django.contrib.contenttypes.models import ContentType

    from ciclo.collections.models import AdministrativeStatus
    from ciclo.history.models import Change

    api = api_as(admin_user)
    created = api.post(
        "/administrative-statuses", {"code": "1.3", "description": "Protesto", "enters_collection": False}
    )
    assert created.status_code == 201, created.body
    assert (created.body["parent"], created.body["kind"], created.body["enters_collection"]) == (
        "1",
        "analytical",
        False,
    )
    changed = api.patch("/administrative-statuses/1.3", {"enters_collection": True, "description": "Em protesto"})
    assert changed.status_code == 200 and changed.body["enters_collection"] is True
    assert api.patch("/administrative-statuses/1.3", {"active": False}).body["active"] is False
    replaced = api.put("/administrative-statuses/1.3", {"code": "1.3", "description": "Protestado"})
    assert replaced.body["description"] == "Protestado" and replaced.body["active"] is True
    history = Change.objects.filter(content_type=ContentType.objects.get_for_model(AdministrativeStatus))
    assert history.filter(object_id=str(created.body["id"])).count() == 4
    assert api.delete("/administrative-statuses/1.3").status_code == 204
    assert not AdministrativeStatus.objects.filter(code="1.3").exists()


def test_statuses_in_use_keep_their_rules(ledger, api_as, admin_user, loader):
    loader.put("/receivables", [ledger.row(administrative_status="1.2")])
    api = api_as(admin_user)
    assert_error(api.patch("/administrative-statuses/1.2", {"kind": "synthetic"}), 422, "invalid", "kind")
    assert_error(api.delete("/administrative-statuses/1.2"), 409, "in_use")
    assert_error(api.delete("/administrative-statuses/1"), 409, "in_use")
    assert_error(api.post("/administrative-statuses", {"code": "1.2", "description": "Outra"}), 422, "invalid", "code")
    assert_error(api.post("/administrative-statuses", {"code": "1.9", "description": "X", "colour": "red"}), 422)
    assert_error(api.patch("/administrative-statuses/9.9", {"active": False}), 404, "not_found")


@pytest.mark.parametrize("role", ["supervisor", "agent"])
def test_only_administrators_change_statuses(ledger, api_as, request, role):
    api = api_as(request.getfixturevalue(role))
    assert_error(api.post("/administrative-statuses", {"code": "1.5", "description": "X"}), 403, "forbidden")
    assert_error(api.patch("/administrative-statuses/1.2", {"active": False}), 403, "forbidden")
    assert_error(api.delete("/administrative-statuses/1.2"), 403, "forbidden")

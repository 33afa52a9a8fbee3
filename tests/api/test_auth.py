"""Tokens, the `ciclo token` command, the docs, and the error shape of every refusal."""

from __future__ import annotations

import hashlib
import io

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from ciclo.accounts.models import ApiToken
from ciclo.accounts.roles import Role
from ciclo.accounts.tokens import authenticate, create_token, revoke_token
from ciclo.history.models import Change
from tests.api.helpers import Api, assert_error
from tests.factory import make_user


def test_a_token_is_kept_only_as_its_hash(agent):
    token, raw = create_token(agent, name="integração")
    assert raw.startswith(token.prefix + "_")
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.prefix, token.key_hash, token.name}
    assert Change.objects.filter(object_id=str(token.pk), action=Change.Action.CREATED).exists()


def test_the_me_endpoint_tells_the_tokens_user_and_role(api_as, supervisor):
    response = api_as(supervisor).get("/me")
    assert response.status_code == 200
    body = {k: v for k, v in response.body.items() if k != "calendar_url"}  # tests/api/test_me.py
    assert body == {"id": supervisor.pk, "username": "supervisor_t", "role": "supervisor"}


def test_using_a_token_records_when_at_most_once_a_minute(agent):
    token, raw = create_token(agent)
    with time_machine.travel("2026-03-02 10:00:00-03:00", tick=False):
        assert authenticate(raw) == token
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with time_machine.travel("2026-03-02 10:00:30-03:00", tick=False):
        authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at == first
    with time_machine.travel("2026-03-02 10:02:00-03:00", tick=False):
        authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at > first


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ciclo_nothing_here", "Basic dXNlcjpwdw==", "Token abc", "Bearer " + "x" * 5000],
)
def test_a_missing_or_bad_token_is_401(db, header):
    api = Api(None)
    if header is not None:
        api.headers = {"Authorization": header}
    response = api.get("/tickets")
    error = assert_error(response, 401, "not_authenticated")
    assert "Bearer" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(agent):
    token, raw = create_token(agent)
    assert revoke_token(token) is True
    assert revoke_token(token) is False
    assert_error(Api(raw).get("/me"), 401)
    assert Change.objects.filter(object_id=str(token.pk), action=Change.Action.DEACTIVATED).count() == 1


def test_an_inactive_users_token_is_401(agent):
    raw = create_token(agent)[1]
    agent.is_active = False
    agent.save()
    assert_error(Api(raw).get("/me"), 401)


def test_a_user_without_a_role_is_403(db):
    user = make_user("norole", Role.AGENT)
    user.groups.clear()
    assert_error(Api(create_token(user)[1]).get("/me"), 403, "forbidden")


# ---- the command ------------------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_creates_a_token_that_works_and_prints_it_once(agent):
    out, err = run("create", "agent_t", "--name", "ERP")
    raw = out.strip()
    assert Api(raw).get("/me").status_code == 200
    token = ApiToken.objects.get()
    assert token.name == "ERP" and token.user == agent
    assert token.prefix in err and raw not in err
    listing, _err = run("list")
    assert token.prefix in listing and raw not in listing and "agent_t" in listing


def test_the_command_revokes_by_prefix_or_id(agent):
    token1, raw1 = create_token(agent)
    token2, raw2 = create_token(agent)
    out, _err = run("revoke", token1.prefix)
    assert "revoked" in out
    run("revoke", str(token2.pk))
    assert_error(Api(raw1).get("/me"), 401)
    assert_error(Api(raw2).get("/me"), 401)
    out, _err = run("revoke", token1.prefix.removeprefix("ciclo_"))
    assert "already" in out


def test_the_command_lists_one_users_tokens(agent, supervisor):
    create_token(agent, name="mine")
    create_token(supervisor, name="theirs")
    out, _err = run("list", "agent_t")
    assert "mine" in out and "theirs" not in out


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("create", "nobody"), "USERNAME"),
        (("list", "nobody"), "USERNAME"),
        (("revoke", "ciclo_zzzzzzzz"), "PREFIX_OR_ID"),
        (("revoke", "999999"), "PREFIX_OR_ID"),
    ],
)
def test_the_command_names_the_bad_argument(db, args, names):
    with pytest.raises(CommandError) as err:
        run(*args)
    assert names in str(err.value)
    assert not ApiToken.objects.exists()


def test_the_command_refuses_an_inactive_user(agent):
    agent.is_active = False
    agent.save()
    with pytest.raises(CommandError, match="USERNAME"):
        run("create", "agent_t")


# ---- docs and the error shape -----------------------------------------------------------------


def test_the_openapi_schema_and_docs_are_served_without_a_cdn(db):
    client = Api(None).client
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/tickets" in schema.json()["paths"]
    assert schema.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html and "http://" not in html
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-init.js"):
        asset = client.get(f"/api/v1/docs/assets/{name}")
        assert asset.status_code == 200 and b"".join(asset.streaming_content)
    assert_error(Api(None).get("/docs/assets/secret.py"), 404)


def test_malformed_json_is_400_in_the_error_shape(api_as, agent):
    api = api_as(agent)
    assert_error(api.post("/tickets", raw="{not json"), 400, "malformed_json")
    assert_error(api.post("/tickets", raw='{"person": NaN}'), 400, "malformed_json")
    assert_error(api.post("/tickets", raw="\xff\xfe"), 400, "malformed_json")


def test_ninjas_validation_errors_name_the_field(api_as, agent):
    api = api_as(agent)
    error = assert_error(api.post("/tickets", {"person": "x"}), 422, "invalid")
    assert {"person", "service_type", "subject", "company"} <= set(error["fields"])
    error = assert_error(api.get("/tickets", limit=0), 422, "invalid", "limit")
    error = assert_error(api.get("/tickets/abc"), 422, "invalid", "id")
    error = assert_error(api.post("/tickets", [1, 2]), 422, "invalid")


def test_an_unknown_endpoint_and_a_wrong_method_have_the_shape(api_as, agent):
    api = api_as(agent)
    assert_error(api.get("/no/such/thing"), 404, "not_found")
    error = assert_error(api.delete("/me"), 405, "method_not_allowed")
    assert "DELETE" in error["message"]


def test_ids_beyond_64_bits_are_422_not_500(api_as, agent):
    assert_error(api_as(agent).get(f"/tickets/{2**70}"), 422, "invalid", "id")


def operations() -> list[tuple[str, str]]:
    from ciclo.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    return [
        (method.upper(), path.removeprefix("/api/v1"))
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.mark.parametrize(("method", "path"), operations())
def test_every_operation_needs_a_token(db, method, path):
    path = path.replace("{id}", "1").replace("{code}", "1")
    assert_error(Api(None).call(method, path, {}), 401, "not_authenticated")


def test_an_unexpected_error_is_logged_and_a_500_in_the_shape(api_as, agent, monkeypatch):
    from ciclo.api import errors, people
    from tests.factory import make_person

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    logged = []
    monkeypatch.setattr(people, "person_out", explode)
    monkeypatch.setattr(errors.logger, "exception", lambda *args: logged.append(args))
    make_person()
    error = assert_error(api_as(agent).get("/people"), 500, "server_error")
    assert "boom" not in error["message"]
    assert logged and "/api/v1/people" in logged[0]


def test_writes_need_no_csrf_token_only_the_api_token(admin_user):
    from django.test import Client

    api = Api(create_token(admin_user)[1])
    api.client = Client(enforce_csrf_checks=True)
    response = api.post("/config/crs", {"code": "4", "description": "Pós-venda"})
    assert response.status_code == 201, response.body

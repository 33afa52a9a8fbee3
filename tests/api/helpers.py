"""The API as a client sees it, for the API tests."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class Api:
    """The API as one user sees it: JSON in, (status, JSON) out."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, *, raw: str | None = None, **params: Any) -> Any:
        url = f"/api/v1{path}"
        if method == "GET":
            response = self.client.get(url, params, headers=self.headers)
        else:
            data = raw if raw is not None else ("" if body is None else json.dumps(body, default=str))
            response = self.client.generic(method, url, data, content_type="application/json", headers=self.headers)
        response.body = response.json() if response.content and "json" in response["Content-Type"] else None
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, **params)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)


def assert_error(response: Any, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    """The response is an error of the documented shape; returns its `error` object."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    error = response.body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert field in error["fields"], error
    return error


def history_is_empty() -> bool:
    """No Change row but those of the tests' own API tokens."""
    from django.contrib.contenttypes.models import ContentType

    from ciclo.accounts.models import ApiToken
    from ciclo.history.models import Change

    return not Change.objects.exclude(content_type=ContentType.objects.get_for_model(ApiToken)).exists()

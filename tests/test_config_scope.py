"""A request reads the configuration's version once (ConfigScopeMiddleware, configurator.cache)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from ciclo.configurator import cache
from ciclo.configurator.middleware import ConfigScopeMiddleware
from ciclo.configurator.models import ConfigVersion, ResponsibilityCenter


def version_reads(queries: list[dict[str, Any]]) -> int:
    return sum(
        "configurator_configversion" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT") for q in queries
    )


def serve(view: Any) -> HttpResponse:
    return ConfigScopeMiddleware(view)(RequestFactory().get("/"))


def test_a_request_reads_the_version_once(sales):
    seen = []

    def view(request: HttpRequest) -> HttpResponse:
        with CaptureQueriesContext(connection) as ctx:
            for _i in range(5):
                seen.append(cache.config())
        seen.append(version_reads(ctx.captured_queries))
        return HttpResponse()

    serve(view)
    *configs, reads = seen
    assert reads == 1
    assert all(c is configs[0] for c in configs)
    assert cache._request.get() is None


def test_a_request_keeps_its_version_while_another_one_changes_it(sales):
    def view(request: HttpRequest) -> HttpResponse:
        before = cache.config()
        ConfigVersion.objects.filter(pk=1).update(token="made-elsewhere")  # as another process's change would
        assert cache.config() is before
        return HttpResponse()

    serve(view)
    assert cache.config().version == "made-elsewhere"  # the next request (or code outside one) sees it


def test_a_request_that_changes_the_configuration_sees_its_change(sales):
    def view(request: HttpRequest) -> HttpResponse:
        assert "7" not in cache.config().cr_ids
        cr = ResponsibilityCenter.objects.get(code="3")
        cr.code = "7"
        cr.save()  # bumps the version
        assert cache.request_version() == ConfigVersion.objects.get(pk=1).token
        cfg = cache.config()
        assert cfg.cr_ids["7"] == cr.pk and "3" not in cfg.cr_ids
        ResponsibilityCenter.objects.filter(pk=cr.pk).update(description="Outra")  # queryset writes bump too
        assert cache.config() is not cfg
        return HttpResponse()

    serve(view)


def test_a_version_read_with_the_user_is_kept_and_not_replaced(sales):
    current = ConfigVersion.objects.get(pk=1).token

    def view(request: HttpRequest) -> HttpResponse:
        cache.remember_version(current)
        cache.remember_version("another")  # the first one read is the request's
        with CaptureQueriesContext(connection) as ctx:
            assert cache.config().version == current
        assert version_reads(ctx.captured_queries) == 0
        return HttpResponse()

    serve(view)


def test_the_scope_is_reset_when_the_view_fails(sales):
    def view(request: HttpRequest) -> HttpResponse:
        cache.config()
        assert cache.request_version() is not None
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        serve(view)
    assert cache._request.get() is None
    assert cache.request_version() is None


def test_outside_a_request_remembering_does_nothing(sales):
    cache.remember_version("ignored")
    assert cache._request.get() is None
    assert cache.config().version == ConfigVersion.objects.get(pk=1).token

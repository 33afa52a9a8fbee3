"""Every template is read from disk and compiled once per process (Django's cached loader), whatever DEBUG says:
a page renders its compiled templates instead of parsing them again on each request."""

from __future__ import annotations

from django.template import engines
from django.template.loaders.cached import Loader


def test_templates_are_compiled_once_per_process():
    engine = engines["django"].engine  # type: ignore[attr-defined]
    (loader,) = engine.template_loaders
    assert isinstance(loader, Loader)
    assert engine.get_template("tickets/home.html") is engine.get_template("tickets/home.html")

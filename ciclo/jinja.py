"""The Jinja2 environment of the few templates that render many rows (Django's Jinja2 backend).

Django's template language spends most of a long list's time looking values up and escaping them
one by one; Jinja2 compiles a template to Python and escapes through MarkupSafe. Only the loops of
the longest lists are Jinja2 templates (`<app>/jinja2/…`); what they show arrives ready (text,
formatted dates, URLs), translated by the view, so they need no tags, filters or catalog of their own.
Their HTML is inserted, already escaped, into the page's Django template.
"""

from __future__ import annotations

from typing import Any

from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from jinja2 import Environment, StrictUndefined


def environment(**options: Any) -> Environment:
    # A name the view did not give is an error, not an empty string.
    return Environment(**{**options, "undefined": StrictUndefined})


def render_rows(template_name: str, context: dict[str, Any]) -> SafeString:
    """A Jinja2 template's HTML, to be shown as it is by a Django template (Jinja2 escaped its values)."""
    return mark_safe(engines["jinja2"].get_template(template_name).render(context))

"""The cycle form as a browser posts it: every field the page shows, as it shows it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from django.test import Client
from django.urls import reverse


class _CycleForm(HTMLParser):
    """The fields of the page's cycle form, with what a browser would send for each (not disabled ones)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_form = False
        self.fields: list[tuple[str, str]] = []
        self.disabled_depth = 0
        self.depth = 0
        self.textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and "/answers" in a.get("action", ""):
            self.in_form = True
            return
        if not self.in_form:
            return
        if tag == "fieldset":
            self.depth += 1
            if "disabled" in a and not self.disabled_depth:
                self.disabled_depth = self.depth
        if self.disabled_depth or "disabled" in a or "name" not in a:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            if kind in ("submit", "button"):
                return
            self.fields.append((a["name"], a.get("value", "on" if kind in ("radio", "checkbox") else "")))
        elif tag == "textarea":
            self.textarea = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "fieldset" and self.in_form:
            if self.disabled_depth == self.depth:
                self.disabled_depth = 0
            self.depth -= 1
        elif tag == "textarea" and self.textarea is not None:
            name, parts = self.textarea
            self.fields.append((name, "".join(parts).removeprefix("\n")))
            self.textarea = None


def page_fields(html: str) -> dict[str, list[str]]:
    parser = _CycleForm()
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    return fields


def cycle_fields(client: Client, ticket_id: int, **headers: Any) -> dict[str, list[str]]:
    """What the browser would post if the user pressed Save right after opening the ticket page."""
    response = client.get(reverse("ticket", args=[ticket_id]), **headers)
    assert response.status_code == 200
    return page_fields(response.content.decode())


def post_cycle(client: Client, ticket_id: int, fields: dict[str, list[str]], **headers: Any) -> Any:
    return client.post(reverse("ticket_answers", args=[ticket_id]), fields, HTTP_HX_REQUEST="true", **headers)

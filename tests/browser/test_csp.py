"""Under the Content-Security-Policy, Chromium blocks nothing on Ciclo's pages, the admin's and the API docs'."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import ConsoleMessage, Page, expect

from ciclo.configurator.models import ServiceType
from ciclo.security import CONTENT_SECURITY_POLICY
from tests.browser.conftest import log_in
from tests.factory import SalesSetup, make_person, make_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Runs before any of the page's own scripts (Playwright injects it past the policy).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const what = `${e.violatedDirective} blocked ${e.blockedURI || "inline"}`;
  window.__cspViolations.push(`${what} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


class Violations:
    """Every policy violation Chromium reports, as an event or on the console."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, url
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, url
        self.page.wait_for_load_state("networkidle")
        self.check(url)

    def check(self, where: str) -> None:
        events = self.page.evaluate("window.__cspViolations || []")
        assert (events, self.console) == ([], []), where


@pytest.fixture
def violations(page: Page) -> Violations:
    return Violations(page)


def test_ciclos_pages_run_under_the_policy(page, live_server, agent, sales: SalesSetup, violations: Violations):
    ticket = make_ticket(sales, agent, subject="Venda de ERP", person=make_person(name="Marcos Alves"))
    violations.visit(f"{live_server.url}/accounts/login/")
    log_in(page, live_server, "agent_t")
    violations.check("home after logging in")
    for path in ("/", "/tickets/", f"/tickets/{ticket.pk}/", "/tickets/new/", "/accounts/password/"):
        violations.visit(live_server.url + path)

    # htmx at work: the query page's live filter, the new ticket's person search and its results.
    page.goto(f"{live_server.url}/tickets/")
    page.fill("#f-person", "marc")
    expect(page.get_by_test_id("results-table")).to_contain_text("Venda de ERP")
    violations.check("query page filtered")
    page.goto(f"{live_server.url}/tickets/new/")
    page.locator("[hx-get*='people/search']").first.fill("Marcos")
    result = page.locator("#person-results [data-person-id]").first
    expect(result).to_be_visible()
    result.click()
    expect(page.get_by_test_id("person-chosen")).to_contain_text("Marcos Alves")
    violations.check("new ticket, person chosen")


def test_the_language_menu_switches_without_an_inline_handler(page, live_server, agent, violations: Violations):
    log_in(page, live_server, "agent_t")
    expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    page.select_option("#language", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    violations.check("after switching the language")


def test_the_admin_and_the_api_docs_run_under_the_policy(page, live_server, sales: SalesSetup, violations: Violations):
    root = User.objects.create_superuser("root_t", password="ciclo-test-pw")
    log_in(page, live_server, "root_t")
    service_type = ServiceType.objects.first()
    assert service_type is not None
    for path in (
        "/admin/",
        "/admin/configurator/servicetype/",  # colour swatches
        f"/admin/configurator/servicetype/{service_type.pk}/change/",
        "/admin/configurator/workflow/add/",  # inline formsets
        "/admin/auth/user/add/",
        f"/admin/auth/user/{root.pk}/change/",  # collapsed fieldsets, the filter widget of groups
        "/admin/history/change/",  # date hierarchy, filters
        "/admin/accounts/apitoken/add/",
    ):
        violations.visit(live_server.url + path)

    # A token is shown once, on a page of Ciclo's own inside the admin.
    page.select_option("#id_user", label="root_t")
    page.fill("#id_name", "ERP")
    page.click("input[name=_save]")
    expect(page.locator("code.ciclo-new-token")).to_contain_text("ciclo_")
    violations.check("token created")

    violations.visit(f"{live_server.url}/api/v1/docs")
    expect(page.locator("#swagger-ui .swagger-ui").first).to_be_visible()  # Swagger UI has drawn the page
    violations.check("API docs rendered")

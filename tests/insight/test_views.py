"""The insight pages and exports, per role: supervisors and admins see them, agents are refused."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from ciclo.tickets.answering import AnswerInput, save_answers
from tests.insight.history import at, move_on, open_at

PAGES = ["insight_phases", "insight_funnel", "insight_people", "insight_answers"]
NOW = at(20, 12)


@pytest.fixture
def history(sales, supervisor):
    with time_machine.travel(at(1), tick=False):
        a = open_at(sales, supervisor, at(2))
        open_at(sales, supervisor, at(3))
        save_answers(a, [AnswerInput(sales.q_single.pk, [sales.o_site.pk])], by=supervisor, at=at(4))
        move_on(a, supervisor, at(5))
    return a


def period(**extra):
    return {"start": "2026-03-01", "end": "2026-03-20", **extra}


@pytest.mark.parametrize("name", PAGES)
@time_machine.travel(NOW, tick=False)
def test_supervisors_and_admins_see_each_dashboard(client, history, sales, supervisor, admin_user, name):
    for user in (supervisor, admin_user):
        client.force_login(user)
        response = client.get(reverse(name), period(workflow=sales.workflow.pk, cycle=sales.cycle.pk))
        assert response.status_code == 200
        body = response.content.decode()
        assert 'data-testid="chart"' in body and "<svg" in body
        assert 'data-testid="table-' in body  # the numbers under the charts
        assert reverse("insight_phases") in body  # the menu's item


@time_machine.travel(NOW, tick=False)
def test_the_phases_page_shows_the_workflows_numbers(client, history, sales, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("insight_phases"), period(workflow=sales.workflow.pk))
    table = response.context["tables"]["phases"]
    assert [row[:2] for row in table.rows] == [
        ["Prospecção", 1],
        ["Proposta enviada", 1],
        ["Negociação", 0],
        ["Encerrado", 0],
    ]


@pytest.mark.parametrize("name", PAGES)
def test_agents_are_refused(client, agent, outsider, name):
    client.force_login(agent)
    assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("insight_export_csv", args=["phases"])).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_log_in_first(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_menu_has_insight_for_supervisors_only(client, supervisor, agent):
    client.force_login(agent)
    assert reverse("insight_phases") not in client.get(reverse("home")).content.decode()
    client.force_login(supervisor)
    assert reverse("insight_phases") in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_wrong_method(client, supervisor, name):
    client.force_login(supervisor)
    assert client.post(reverse(name)).status_code == 405


@time_machine.travel(NOW, tick=False)
def test_bad_filters_are_named_and_nothing_is_measured(client, history, supervisor, sales):
    client.force_login(supervisor)
    response = client.get(
        reverse("insight_funnel"), {"workflow": "abc", "start": "31/02/2026", "end": "2026-03-01", "user": "999999"}
    )
    assert response.status_code == 200
    errors = response.context["errors"]
    assert set(errors) == {"workflow", "start", "user"}
    assert "is not a date" in errors["start"][0]
    assert response.context["report"] is None
    response = client.get(reverse("insight_funnel"), {"start": "2026-03-10", "end": "2026-03-01"})
    assert "ends before it starts" in response.context["errors"]["end"][0]


@time_machine.travel(NOW, tick=False)
def test_htmx_filter_change_renders_the_results_only(client, history, supervisor, sales):
    client.force_login(supervisor)
    response = client.get(
        reverse("insight_phases"),
        period(workflow=sales.workflow.pk),
        headers={"HX-Request": "true", "HX-Target": "insight-results"},
    )
    body = response.content.decode()
    assert body.startswith('<div id="insight-results"') and "<form" not in body


@pytest.mark.parametrize("measure", ["phases", "funnel", "people", "answers"])
@time_machine.travel(NOW, tick=False)
def test_csv_and_xlsx_exports_hold_the_numbers(client, history, supervisor, sales, measure):
    client.force_login(supervisor)
    params = period(workflow=sales.workflow.pk, cycle=sales.cycle.pk)
    response = client.get(reverse("insight_export_csv", args=[measure]), params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff")), delimiter=";"))
    assert len(rows) > 2
    response = client.get(reverse("insight_export_xlsx", args=[measure]), params)
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.sheetnames
    if measure == "phases":
        assert rows[2][:2] == ["Prospecção", "1"]
        sheet = workbook[workbook.sheetnames[0]]
        assert [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))][:2] == ["Prospecção", 1]


def test_an_unknown_export_is_not_found(client, supervisor):
    client.force_login(supervisor)
    assert client.get(reverse("insight_export_csv", args=["nothing"])).status_code == 404


def test_an_export_with_bad_filters_is_refused_with_the_page(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("insight_export_csv", args=["phases"]), {"start": "x", "end": "y"})
    assert response.status_code == 400 and "is not a date" in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
@time_machine.travel(NOW, tick=False)
def test_the_queries_do_not_grow_with_the_tickets(client, history, sales, supervisor, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(supervisor)
    params = period(workflow=sales.workflow.pk, cycle=sales.cycle.pk)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(name), params).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    with time_machine.travel(at(1), tick=False):
        for day in (2, 3, 4, 5):
            t = open_at(sales, supervisor, at(day))
            save_answers(t, [AnswerInput(sales.q_number.pk, str(day))], by=supervisor, at=at(day, 10))
            move_on(t, supervisor, at(day + 2))
    assert count() == few


@time_machine.travel(NOW, tick=False)
def test_names_are_escaped_in_the_charts(client, history, sales, supervisor):
    sales.cr_prospect.description = '<script>alert("x")</script>'
    sales.cr_prospect.save()
    client.force_login(supervisor)
    body = client.get(reverse("insight_phases"), period(workflow=sales.workflow.pk)).content.decode()
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body

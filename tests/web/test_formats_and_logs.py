"""Point by point: dates shown as they are parsed, one time format per language, the lockout page and the
lockout library in pt-BR, the favicon, and a refused request logged as one line."""

from __future__ import annotations

import datetime as dt
import io
import logging
import logging.config
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import formats, translation

from ciclo.tickets import query
from ciclo.tickets.models import Scenario
from ciclo.tickets.values import parse_date
from tests.factory import make_ticket, make_user

SP = ZoneInfo("America/Sao_Paulo")
DAY = dt.date(2026, 4, 5)  # 5 April: day first, it cannot pass for 4 May
MOMENT = dt.datetime(2026, 4, 5, 15, 30, tzinfo=SP)


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_a_date_is_shown_as_it_is_parsed_day_first(language):
    with translation.override(language):
        shown = formats.date_format(DAY, "SHORT_DATE_FORMAT")
        assert shown == "05/04/2026"
        assert parse_date(shown) == DAY  # the answers' parser
        parsed, errors = query.parse_filter({"opened_from": shown})  # the query filter's
        assert not errors and parsed.opened_from == DAY
        # Django's own form fields read what is shown too.
        assert any(dt.datetime.strptime(shown, f).date() == DAY for f in formats.get_format("DATE_INPUT_FORMATS"))


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_one_24_hour_time_format_per_language(language):
    with translation.override(language):
        assert formats.time_format(MOMENT.time(), "TIME_FORMAT") == "15:30"
        assert formats.date_format(MOMENT.replace(tzinfo=None), "SHORT_DATETIME_FORMAT") == "05/04/2026 15:30"


def test_long_dates_name_the_month_in_each_language():
    with translation.override("en"):
        assert formats.date_format(DAY, "DATE_FORMAT") == "5 April 2026"
    with translation.override("pt-br"):
        assert formats.date_format(DAY, "DATE_FORMAT") == "5 de Abril de 2026"  # Django's month names


def test_the_query_page_shows_english_dates_day_first(client, sales, agent, settings):
    make_ticket(sales, agent, at=MOMENT, next_contact_at=MOMENT)
    client.force_login(agent)
    html = client.get("/tickets/", {"cols": "number,opened"}, headers={"accept-language": "en"}).content.decode()
    assert "05/04/2026 15:30" in html and "04/05/2026" not in html


@pytest.mark.django_db
def test_the_lockout_page_links_back_to_the_login_form(client):
    AccessAttempt.objects.all().delete()
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "ninguem", "password": "errada"})
    response = client.post(reverse("login"), {"username": "ninguem", "password": "errada"})
    assert response.status_code == 429
    assert f'href="{reverse("login")}"' in response.content.decode()


def test_the_lockout_librarys_admin_speaks_portuguese(client: Client, admin_user):
    """django-axes ships no pt-BR: Ciclo's second catalog (ciclo/locale_vendor) translates what the admin shows."""
    AccessAttempt.objects.create(
        username="ninguem",
        ip_address="10.0.0.1",
        user_agent="x",
        http_accept="*/*",
        path_info="/",
        failures_since_start=3,
    )
    client.force_login(admin_user)
    pt = {"accept-language": "pt-BR"}
    index = client.get("/admin/", headers=pt).content.decode()
    assert "Tentativas de acesso" in index and "Access attempts" not in index
    changelist = client.get("/admin/axes/accessattempt/", headers=pt).content.decode()
    for text in ("Endereço IP", "Acessos com falha", "Hora da tentativa"):
        assert text in changelist
    for text in ("IP Address", "Failed Logins", "Attempt Time", ">Username<", ">User Agent<"):
        assert text not in changelist


def test_browsers_asking_for_favicon_ico_get_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/ciclo/favicon.svg"
    found = finders.find("ciclo/favicon.svg")
    assert found and "<svg" in Path(found).read_text()


def test_every_page_links_the_icon(client, agent):
    client.force_login(agent)
    assert '<link rel="icon" href="/static/ciclo/favicon.svg" type="image/svg+xml">' in client.get("/").content.decode()


@pytest.fixture
def server_log():
    """What the console handler of settings.LOGGING writes, as `ciclo run` would print it."""
    stream = io.StringIO()
    config = {**django_settings.LOGGING}
    config["handlers"] = {name: {**h, "stream": stream} for name, h in config["handlers"].items()}
    logging.config.dictConfig(config)
    yield stream
    logging.config.dictConfig(django_settings.LOGGING)


def test_a_403_is_logged_as_one_line_without_a_traceback(client, agent, server_log):
    # A view that raises PermissionDenied: deleting another user's (shared) scenario.
    scenario = Scenario.objects.create(owner=make_user("dono_t"), name="Dele", shared=True)
    client.force_login(agent)
    response = client.post(reverse("scenario_delete", args=[scenario.pk]))
    assert response.status_code == 403
    logged = server_log.getvalue()
    assert f"Forbidden (Permission denied): /tickets/scenarios/{scenario.pk}/delete/" in logged
    assert "Traceback" not in logged


def test_a_404_is_one_line_and_a_500_keeps_its_traceback(client, agent, server_log):
    client.force_login(agent)
    assert client.get("/tickets/999999/").status_code == 404
    logger = logging.getLogger("django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})
    logged = server_log.getvalue()
    assert "Not Found: /tickets/999999/" in logged
    before_500 = logged.split("Internal Server Error", 1)[0]
    assert "Traceback" not in before_500
    assert "RuntimeError: boom" in logged

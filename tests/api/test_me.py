"""GET /api/v1/me: the token's user, their role and their calendar feed's address."""

from __future__ import annotations

import icalendar
from django.test import Client

from ciclo.reminders.feeds import renew_feed, revoke_feed
from tests.api.helpers import assert_error


def test_me_names_the_user_their_role_and_their_calendar_url(api_as, agent):
    body = api_as(agent).get("/me").body
    assert body["id"] == agent.pk and body["username"] == "agent_t" and body["role"] == "agent"
    url = body["calendar_url"]
    assert url.startswith("http://testserver/calendar/feed.ics?key=")
    # The address is the feed itself: a calendar application reads it without a token.
    response = Client().get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert icalendar.Calendar.from_ical(response.content)["PRODID"]


def test_the_calendar_url_is_null_when_revoked_and_new_when_renewed(api_as, supervisor):
    api = api_as(supervisor)
    first = api.get("/me").body["calendar_url"]
    revoke_feed(supervisor, by=supervisor)
    assert api.get("/me").body["calendar_url"] is None
    renew_feed(supervisor, by=supervisor)
    renewed = api.get("/me").body["calendar_url"]
    assert renewed and renewed != first


def test_me_needs_a_token_and_takes_only_get(api_as, anonymous, agent):
    assert_error(anonymous.get("/me"), 401, "not_authenticated")
    assert_error(api_as(agent).post("/me", {}), 405, "method_not_allowed")

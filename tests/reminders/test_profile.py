"""The profile page: the calendar feed's address (renewed, turned off), the reminder's lead time and the
language, per role: allowed, refused, wrong method, bad input, and the history row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ciclo.accounts.models import Profile
from ciclo.history.models import Change
from ciclo.reminders.feeds import calendar_settings, feed_path
from ciclo.reminders.models import CalendarSettings

ROLES = ["agent", "supervisor", "admin_user"]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_their_own_feed_address_on_their_profile(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.get(reverse("profile"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="http://testserver{feed_path(user)}"' in html
    assert 'data-testid="feed-renew"' in html and 'data-testid="feed-revoke"' in html
    assert 'name="lead_minutes"' in html and 'value="15"' in html


def test_the_profile_asks_a_login_and_a_role(client, agent):
    assert client.get(reverse("profile")).status_code == 302
    agent.groups.clear()
    client.force_login(agent)
    assert client.get(reverse("profile")).status_code == 403


def test_renewing_gives_a_new_address_and_kills_the_old_one(client, agent):
    old = feed_path(agent)
    client.force_login(agent)
    response = client.post(reverse("calendar_feed_renew"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("profile")
    new = feed_path(agent)
    assert new != old and f"http://testserver{new}" in response.content.decode()
    client.logout()
    assert client.get(old).status_code == 404 and client.get(new).status_code == 200
    assert Change.objects.filter(content_type__model="calendarsettings", action=Change.Action.CHANGED).count() == 1


def test_turning_the_address_off_shows_it_off_until_renewed(client, agent):
    path = feed_path(agent)
    client.force_login(agent)
    response = client.post(reverse("calendar_feed_revoke"), follow=True)
    html = response.content.decode()
    assert 'data-testid="feed-off"' in html and path not in html
    assert client.get(path).status_code == 404
    again = client.post(reverse("calendar_feed_revoke"), follow=True)
    assert "already turned off" in again.content.decode()
    assert Change.objects.filter(content_type__model="calendarsettings", action=Change.Action.DEACTIVATED).count() == 1


@pytest.mark.parametrize("name", ["calendar_feed_renew", "calendar_feed_revoke"])
def test_renew_and_revoke_take_only_post_by_a_user_with_a_role(client, agent, name):
    token = calendar_settings(agent).feed_token
    assert client.post(reverse(name)).status_code == 302  # to the login
    client.force_login(agent)
    assert client.get(reverse(name)).status_code == 405
    agent.groups.clear()
    assert client.post(reverse(name)).status_code == 403
    assert CalendarSettings.objects.get(user=agent).feed_token == token


def test_a_user_sets_their_lead_time_and_language_with_history_rows(client, agent):
    client.force_login(agent)
    response = client.post(reverse("profile"), {"lead_minutes": "30", "language": "pt-br"})
    assert response.status_code == 302
    assert CalendarSettings.objects.get(user=agent).lead_minutes == 30
    assert Profile.objects.get(user=agent).language == "pt-br"
    rows = {c.content_type.model: c for c in Change.objects.filter(action=Change.Action.CHANGED)}
    assert rows["calendarsettings"].changes["lead_minutes"] == [15, 30] and rows["calendarsettings"].by == agent
    assert rows["profile"].changes["language"] == ["", "pt-br"]
    # The same values again change nothing and write no row.
    client.post(reverse("profile"), {"lead_minutes": "30", "language": "pt-br"})
    assert Change.objects.filter(action=Change.Action.CHANGED).count() == 2


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lead_minutes": "0", "language": ""}, "lead_minutes"),
        ({"lead_minutes": "1441", "language": ""}, "lead_minutes"),
        ({"lead_minutes": "quinze", "language": ""}, "lead_minutes"),
        ({"lead_minutes": "-5", "language": ""}, "lead_minutes"),
        ({"lead_minutes": "10", "language": "fr"}, "language"),
        ({"language": ""}, "lead_minutes"),
    ],
)
def test_bad_input_is_named_on_its_field_and_changes_nothing(client, agent, data, field):
    client.force_login(agent)
    response = client.post(reverse("profile"), data)
    assert response.status_code == 422
    assert field in response.context["errors"]
    assert 'class="invalid-feedback"' in response.content.decode()
    assert calendar_settings(agent).lead_minutes == 15
    assert not Profile.objects.filter(user=agent).exclude(language="").exists()
    assert not Change.objects.filter(action=Change.Action.CHANGED).exists()


def test_the_profile_refuses_other_methods(client, agent):
    client.force_login(agent)
    assert client.put(reverse("profile")).status_code == 405

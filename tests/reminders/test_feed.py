"""The calendar feed: a private URL per user, parsed back with icalendar; one appointment as .ics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import pytest
import time_machine
from django.urls import reverse

from ciclo.accounts.roles import Role
from ciclo.agenda.appointments import cancel_appointment, change_appointment
from ciclo.history.models import Change
from ciclo.reminders.feeds import calendar_settings, feed_path, renew_feed, revoke_feed
from ciclo.reminders.models import CalendarSettings
from tests.factory import make_ticket, make_user
from tests.reminders.conftest import at, make_appointment

NOW = at(3, 9)


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(NOW, tick=False):
        yield


def feed(client: Any, user: Any) -> icalendar.Calendar:
    response = client.get(feed_path(user))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return icalendar.Calendar.from_ical(response.content)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_the_feed_lists_the_users_appointments_from_30_days_back_to_180_ahead(client, agent, supervisor):
    inside = [
        make_appointment(agent, NOW - dt.timedelta(days=29), title="Há 29 dias"),
        make_appointment(agent, NOW + dt.timedelta(hours=1), title="Daqui a pouco"),
        make_appointment(agent, NOW + dt.timedelta(days=179), title="Daqui a 179 dias"),
    ]
    make_appointment(agent, NOW - dt.timedelta(days=31), title="Há 31 dias")
    make_appointment(agent, NOW + dt.timedelta(days=181), title="Daqui a 181 dias")
    make_appointment(supervisor, NOW + dt.timedelta(hours=2), title="Do supervisor")

    found = events(feed(client, agent))  # no login: the token is the key
    assert set(found) == {str(a.uid) for a in inside}
    assert [str(e["SUMMARY"]) for e in found.values()] == ["Há 29 dias", "Daqui a pouco", "Daqui a 179 dias"]


def test_each_event_carries_its_times_in_sao_paulo_its_ticket_and_its_state(client, sales, agent):
    ticket = make_ticket(sales, agent, subject="Quer um ERP")
    appointment = make_appointment(
        agent,
        at(3, 14, 30),
        minutes=45,
        title="Visita",
        ticket=ticket,
        channel="visit",
        place="Rua A, 10",
        notes="Levar proposta",
    )
    calendar = feed(client, agent)
    [tz] = calendar.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "America/Sao_Paulo"
    event = events(calendar)[str(appointment.uid)]
    start = event.decoded("DTSTART")
    assert start == at(3, 14, 30) and str(start.tzinfo) == "America/Sao_Paulo"
    assert event["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert event.decoded("DTEND") == at(3, 15, 15)
    assert str(event["LOCATION"]) == "Rua A, 10"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("SEQUENCE") == 0
    assert str(event["URL"]) == f"http://testserver/tickets/{ticket.pk}/"
    description = str(event["DESCRIPTION"])
    assert f"Ticket {ticket.pk}: Quer um ERP" in description and "Levar proposta" in description
    assert ticket.person.name in description


def test_a_moved_appointment_keeps_its_uid_with_a_new_sequence_and_last_modified(client, agent):
    appointment = make_appointment(agent, at(4, 10))
    before = events(feed(client, agent))[str(appointment.uid)]
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        change_appointment(appointment, by=agent, version=0, start=at(4, 11))
        after = events(feed(client, agent))[str(appointment.uid)]
    assert after.decoded("SEQUENCE") == before.decoded("SEQUENCE") + 1 == 1
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    assert after.decoded("DTSTART") == at(4, 11)


def test_a_cancelled_appointment_stays_in_the_feed_as_cancelled(client, agent):
    appointment = make_appointment(agent, at(4, 10))
    cancel_appointment(appointment, by=agent, reason="Cliente desmarcou")
    event = events(feed(client, agent))[str(appointment.uid)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 1


def test_a_revoked_feed_is_404_and_a_renewed_one_has_a_new_url(client, agent):
    make_appointment(agent, at(4, 10))
    old = feed_path(agent)
    secrets = [calendar_settings(agent).feed_token]
    assert client.get(old).status_code == 200
    renew_feed(agent, by=agent)
    new = feed_path(agent)
    secrets.append(calendar_settings(agent).feed_token)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert revoke_feed(agent, by=agent) is True
    assert feed_path(agent) is None
    assert client.get(new).status_code == 404
    assert revoke_feed(agent, by=agent) is False
    # The history says when, never the secret.
    changes = Change.objects.filter(object_id=str(agent.pk), content_type__model="calendarsettings")
    assert [c.action for c in changes.order_by("at", "id")] == [Change.Action.CHANGED, Change.Action.DEACTIVATED]
    assert changes.order_by("at", "id")[0].changes["feed_renewed"] == [False, True]
    assert not any(secret in str(c.changes) for c in changes for secret in secrets)


def test_an_unknown_token_and_an_inactive_users_feed_are_404(client, agent):
    path = feed_path(agent)
    assert client.get(reverse("calendar_feed"), {"key": "x" * 43}).status_code == 404
    assert client.get(reverse("calendar_feed")).status_code == 404
    assert client.get(reverse("calendar_feed"), {"key": "x" * 500}).status_code == 404
    agent.is_active = False
    agent.save()
    assert client.get(path).status_code == 404


def test_the_feed_takes_no_post(client, agent):
    assert client.post(feed_path(agent)).status_code == 405


def test_the_feed_is_written_in_the_users_language(client, sales, agent):
    from ciclo.accounts.models import Profile

    Profile.objects.create(user=agent, language="pt-br")
    ticket = make_ticket(sales, agent, subject="Quer um ERP")
    appointment = make_appointment(agent, at(4, 10), ticket=ticket, channel="visit")
    event = events(feed(client, agent))[str(appointment.uid)]
    # The channel's name comes from the catalog (the feed's own sentences join it with the merge of their PO).
    assert str(event["LOCATION"]) == "Visita"


def test_every_user_has_a_feed_until_they_revoke_it(agent):
    assert not CalendarSettings.objects.filter(user=agent).exists()
    made = calendar_settings(agent)
    assert made.feed_token and made.lead_minutes == 15
    assert calendar_settings(agent).feed_token == made.feed_token


# ---- one appointment as .ics -----------------------------------------------------------------


def test_one_appointment_downloads_as_ics_for_its_user_and_their_supervisor(client, agent, supervisor):
    appointment = make_appointment(agent, at(4, 10), title="Reunião")
    url = reverse("appointment_ics", args=[appointment.pk])
    for user in (agent, supervisor):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        [event] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
        assert str(event["UID"]) == str(appointment.uid) and str(event["SUMMARY"]) == "Reunião"


def test_one_appointment_is_404_for_another_agent_and_asks_a_login(client, agent, outsider):
    appointment = make_appointment(agent, at(4, 10))
    url = reverse("appointment_ics", args=[appointment.pk])
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("appointment_ics", args=[10**12])).status_code == 404


def test_one_appointment_takes_no_post(client, agent):
    appointment = make_appointment(agent, at(4, 10))
    client.force_login(agent)
    assert client.post(reverse("appointment_ics", args=[appointment.pk])).status_code == 405


def test_a_user_without_role_has_no_feed(client, db):
    user = make_user("norole", Role.AGENT)
    path = feed_path(user)
    user.groups.clear()
    assert client.get(path).status_code == 404


def test_the_feed_written_again_shows_every_change_since_the_last_request(client, sales, agent):
    ticket = make_ticket(sales, agent, subject="Quer um ERP")
    kept = make_appointment(agent, at(4, 10), ticket=ticket, title="Primeira")
    other = make_appointment(agent, at(5, 10), title="Segunda")
    first = events(feed(client, agent))
    # A subject renamed, an appointment moved: the next request shows both, the rest as it was.
    type(ticket).objects.filter(pk=ticket.pk).update(subject="Quer um CRM")
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        change_appointment(other, by=agent, version=0, start=at(5, 11))
        second = events(feed(client, agent))
    assert "Quer um CRM" in str(second[str(kept.uid)]["DESCRIPTION"])
    assert second[str(other.uid)].decoded("DTSTART") == at(5, 11)
    assert first[str(other.uid)].decoded("DTSTART") == at(5, 10)


def test_the_feeds_secret_is_never_in_the_path_that_logs_write(client, agent, caplog):
    token = calendar_settings(agent).feed_token
    path = feed_path(agent)
    assert token not in path.split("?")[0]
    revoke_feed(agent, by=agent)
    with caplog.at_level("WARNING"):
        assert client.get(path).status_code == 404
    assert caplog.records and all(token not in r.getMessage() for r in caplog.records)

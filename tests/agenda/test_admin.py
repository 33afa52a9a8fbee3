"""The admin shows appointments with their history, read-only, to those who may use it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from ciclo.agenda.appointments import change_appointment, create_appointment

pytestmark = pytest.mark.django_db


def test_the_admin_lists_and_shows_an_appointment_with_its_history_read_only(client, admin_user, agent):
    start = timezone.now() + dt.timedelta(days=1)
    appointment = create_appointment(
        user=agent, start=start, end=start + dt.timedelta(hours=1), title="Visita", by=agent
    )
    change_appointment(appointment, by=agent, title="Visita técnica")
    client.force_login(admin_user)
    listing = client.get(reverse("admin:agenda_appointment_changelist"))
    assert listing.status_code == 200 and "Visita técnica" in listing.content.decode()
    page = client.get(reverse("admin:agenda_appointment_change", args=[appointment.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "Visita técnica" in html and "appointment change" in html.lower()
    assert 'name="_save"' not in html  # nothing is changed here
    assert client.get(reverse("admin:agenda_appointment_add")).status_code == 403
    assert client.post(reverse("admin:agenda_appointment_delete", args=[appointment.pk])).status_code == 403


def test_an_agent_has_no_admin(client, agent):
    client.force_login(agent)
    response = client.get(reverse("admin:agenda_appointment_changelist"))
    assert response.status_code in (302, 403)

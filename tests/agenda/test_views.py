"""The agenda's pages per role: the calendars, the panel, the forms; allowed, refused, wrong method, bad input,
and the history each change leaves."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ciclo.agenda.appointments import create_appointment
from ciclo.agenda.models import Appointment, AppointmentChange
from ciclo.tickets.models import Channel, Ticket
from tests.factory import make_ticket

pytestmark = pytest.mark.django_db

SP = ZoneInfo("America/Sao_Paulo")
NOW = dt.datetime(2026, 12, 9, 15, 0, tzinfo=SP)  # a Wednesday
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _afternoon():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SP)


def make(user, day=10, hour=10, title="Visita", **kw):
    return create_appointment(
        user=user, start=at(day, hour), end=at(day, hour) + dt.timedelta(hours=1), title=title, by=user, **kw
    )


def shown(response) -> list[str]:
    return [item.title for d in response.context["days"] for item in d.items]


# ---- the calendars -----------------------------------------------------------------------------------


def test_the_week_shows_the_users_own_appointments_monday_to_sunday(client, agent, outsider):
    make(agent, 7, 9, "Segunda")
    make(agent, 13, 18, "Domingo")
    make(agent, 14, 9, "Semana que vem")
    make(outsider, 10, 9, "De outro")
    client.force_login(agent)
    response = client.get(reverse("agenda_week"))
    assert response.status_code == 200
    assert shown(response) == ["Segunda", "Domingo"]
    days = response.context["days"]
    assert [d.date for d in days] == [dt.date(2026, 12, 7) + dt.timedelta(days=i) for i in range(7)]
    assert [d.today for d in days].index(True) == 2
    html = response.content.decode()
    assert "07/12/2026" in html and "09:00–10:00" in html and "De outro" not in html
    assert response.context["title"] == "Week of 07/12/2026 to 13/12/2026"


def test_previous_next_and_today(client, agent):
    make(agent, 16, 9, "Próxima")
    client.force_login(agent)
    response = client.get(reverse("agenda_week"))
    assert response.context["next_url"] == "/agenda/?date=2026-12-16"
    assert response.context["previous_url"] == "/agenda/?date=2026-12-02"
    assert response.context["today_url"] == "/agenda/"
    nxt = client.get(response.context["next_url"])
    assert shown(nxt) == ["Próxima"] and not nxt.context["is_today_shown"]
    assert nxt.context["today_url"] == "/agenda/"
    assert client.get("/agenda/month/?date=2026-12-31").context["next_url"] == "/agenda/month/?date=2027-01-01"
    assert client.get("/agenda/day/?date=2026-12-31").context["next_url"] == "/agenda/day/?date=2027-01-01"


def test_a_bad_date_shows_today(client, agent):
    client.force_login(agent)
    for raw in ("31/02/2026", "2026-02-31", "amanhã", "9" * 30):
        response = client.get(reverse("agenda_week"), {"date": raw})
        assert response.status_code == 200 and response.context["day"] == NOW.date()


def test_day_and_month(client, agent):
    make(agent, 9, 9, "Hoje")
    make(agent, 10, 9, "Amanhã")
    for n in range(5):
        make(agent, 22, 8 + n, f"Dia cheio {n}")
    make(agent, 30, 22, "Fim do mês")
    client.force_login(agent)
    assert shown(client.get(reverse("agenda_day"))) == ["Hoje"]
    month = client.get(reverse("agenda_month"))
    days = month.context["days"]
    assert days[0].date == dt.date(2026, 11, 30) and days[-1].date == dt.date(2027, 1, 3)
    full = next(d for d in days if d.date == dt.date(2026, 12, 22))
    assert len(full.shown) == 3 and full.more == 2
    assert "2 more" in month.content.decode()


def test_an_appointment_across_midnight_shows_on_both_days(client, agent):
    create_appointment(user=agent, start=at(9, 22), end=at(10, 2), title="Plantão", by=agent)
    client.force_login(agent)
    days = {d.date.day: d for d in client.get(reverse("agenda_week")).context["days"]}
    assert [i.time for i in days[9].items] == ["22:00 →"] and [i.time for i in days[10].items] == ["→ 02:00"]


def test_cancelled_are_hidden_unless_asked(client, agent):
    from ciclo.agenda.appointments import cancel_appointment

    cancel_appointment(make(agent, title="Desmarcada"), by=agent)
    client.force_login(agent)
    assert shown(client.get(reverse("agenda_week"))) == []
    assert shown(client.get(reverse("agenda_week"), {"cancelled": "1"})) == ["Desmarcada"]


def test_an_agent_cannot_open_someone_elses_calendar(client, agent, outsider):
    make(outsider, title="Do outro")
    client.force_login(agent)
    response = client.get(reverse("agenda_week"), {"user": outsider.pk})
    assert response.context["chosen"] == [agent.pk] and shown(response) == []
    assert response.context["team"] == []


def test_a_supervisor_picks_team_calendars(client, agent, outsider, supervisor):
    make(agent, title="Do agente")
    make(outsider, title="Do outro")
    make(supervisor, title="Minha")
    client.force_login(supervisor)
    assert shown(client.get(reverse("agenda_week"))) == ["Minha"]
    response = client.get(reverse("agenda_week"), {"user": [agent.pk, outsider.pk]})
    assert sorted(shown(response)) == ["Do agente", "Do outro"]
    items = [i for d in response.context["days"] for i in d.items]
    assert {i.colour for i in items} == {0, 1} and all(i.user for i in items)
    assert 'data-testid="agenda-team"' in response.content.decode()
    # the navigation keeps the calendars chosen
    assert f"user={agent.pk}" in response.context["next_url"] and f"user={outsider.pk}" in response.context["next_url"]


def test_the_calendars_need_a_login_and_take_only_get(client, agent):
    for name in ("agenda_week", "agenda_day", "agenda_month"):
        assert client.get(reverse(name)).status_code == 302
    client.force_login(agent)
    for name in ("agenda_week", "agenda_day", "agenda_month"):
        assert client.post(reverse(name)).status_code == 405


def test_the_week_makes_the_same_queries_whatever_it_holds(client, sales, agent, supervisor):
    client.force_login(supervisor)
    client.get(reverse("agenda_week"))  # the session's first request may write it
    counts = []
    for n in (1, 12):
        for i in range(n):
            make_ticket(sales, agent, next_contact_at=at(7 + i % 7, 8 + i % 9))
            make(agent, 7 + i % 7, 9 + i % 9, f"Visita {i}")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse("agenda_week"), {"user": [agent.pk, supervisor.pk]})
        assert len(shown(response)) == {1: 2, 12: 26}[n]
        counts.append(len(ctx))
    # the session, the user and role, the team, the appointments
    assert counts[0] == counts[1], counts


# ---- the panel -----------------------------------------------------------------------------------------


def test_the_panel_shows_the_tickets_header_and_cycle_answerable(client, sales, agent):
    ticket = make_ticket(sales, agent, subject="Venda de ERP", next_contact_at=at(10, 9))
    appointment = ticket.appointments.get()
    client.force_login(agent)
    response = client.get(reverse("agenda_appointment", args=[appointment.pk]), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="ticket-header"' in html and "Venda de ERP" in html and "Prospecção" in html
    assert f'hx-post="/tickets/{ticket.pk}/answers/"' in html and sales.q_text.text in html
    assert 'data-testid="save-answers"' in html
    assert "<html" not in html  # a fragment
    assert "10/12/2026 09:00–09:30" in html
    # without htmx, a page of its own
    assert "<html" in client.get(reverse("agenda_appointment", args=[appointment.pk])).content.decode()


def test_the_panel_shows_the_cycle_read_only_to_who_may_not_work_the_ticket(client, sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    sales.cr_prospect.members.add(supervisor)  # only the supervisor works this phase now
    client.force_login(agent)
    response = client.get(reverse("agenda_appointment", args=[ticket.appointments.get().pk]), **HX)
    html = response.content.decode()
    assert sales.q_text.text in html and 'data-testid="save-answers"' not in html


def test_someone_elses_appointment_is_not_found_for_an_agent_but_opens_for_a_supervisor(
    client, agent, outsider, supervisor
):
    theirs = make(outsider)
    client.force_login(agent)
    for name in ("agenda_appointment", "agenda_edit"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("agenda_done", "agenda_cancel", "agenda_edit"):
        assert client.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Appointment.Status.PLANNED and theirs.sequence == 0
    client.force_login(supervisor)
    assert client.get(reverse("agenda_appointment", args=[theirs.pk])).status_code == 200


# ---- creating and changing -----------------------------------------------------------------------------


def form(**kw):
    data = {
        "title": "Visita",
        "start_date": "2026-12-11",
        "start_time": "14:00",
        "end_date": "",
        "end_time": "15:30",
        "channel": "visit",
        "place": "Rua A, 1",
        "notes": "",
        "person": "",
        "ticket": "",
    }
    data.update(kw)
    return data


def test_create_an_appointment(client, agent):
    client.force_login(agent)
    assert client.get(reverse("agenda_new"), {"date": "2026-12-11"}).status_code == 200
    response = client.post(reverse("agenda_new"), form(user=agent.pk))
    assert response.status_code == 302 and response["Location"] == "/agenda/?date=2026-12-11"
    appointment = Appointment.objects.get()
    assert appointment.user == agent and appointment.start == at(11, 14) and appointment.end == at(11, 15, 30)
    assert appointment.channel == Channel.VISIT and appointment.place == "Rua A, 1"
    change = appointment.changes.get()
    assert change.kind == AppointmentChange.Kind.CREATED and change.by == agent


def test_create_with_htmx_sends_the_browser_to_the_week(client, agent):
    client.force_login(agent)
    response = client.post(reverse("agenda_new"), form(user=agent.pk), **HX)
    assert response["HX-Redirect"] == "/agenda/?date=2026-12-11"


def test_bad_input_names_its_field_and_saves_nothing(client, agent):
    client.force_login(agent)
    response = client.post(reverse("agenda_new"), form(user=agent.pk, end_time="13:00"))
    assert response.status_code == 422
    assert response.context["form"].errors == {"end_time": ["The end must be after the start."]}
    response = client.post(reverse("agenda_new"), form(user=agent.pk, title="", start_date="31/02/2026"))
    assert response.status_code == 422
    assert response.context["form"].errors["start_date"] == ["Give the date as dd/mm/yyyy."]
    response = client.post(reverse("agenda_new"), form(user=agent.pk, title="  ", ticket="99999", channel="pombo"))
    errors = response.context["form"].errors
    assert errors["ticket"] == ["There is no ticket #99999."]
    response = client.post(reverse("agenda_new"), form(user=agent.pk, title="  ", channel="pombo"))
    errors = response.context["form"].errors
    assert errors["title"] == ["Give the appointment a title."] and errors["channel"] == ["“pombo” is not a channel."]
    # htmx: the form comes back (200, for htmx to swap it) with its errors beside the fields
    response = client.post(reverse("agenda_new"), form(user=agent.pk, end_time="13:00"), **HX)
    assert response.status_code == 200 and 'data-testid="error-end_time"' in response.content.decode()
    assert not Appointment.objects.exists() and not AppointmentChange.objects.exists()


def test_an_agent_cannot_put_an_appointment_on_someone_elses_agenda(client, agent, outsider):
    client.force_login(agent)
    response = client.post(reverse("agenda_new"), form(user=outsider.pk))
    assert response.status_code == 422
    assert response.context["form"].errors["user"]
    assert not Appointment.objects.exists()


def test_a_supervisor_puts_one_on_a_team_members_agenda(client, agent, supervisor):
    client.force_login(supervisor)
    response = client.post(reverse("agenda_new"), form(user=agent.pk))
    assert response.status_code == 302 and response["Location"] == f"/agenda/?date=2026-12-11&user={agent.pk}"
    appointment = Appointment.objects.get()
    assert appointment.user == agent and appointment.created_by == supervisor


def test_the_forms_take_get_and_post_only(client, agent):
    appointment = make(agent)
    client.force_login(agent)
    assert client.put(reverse("agenda_new")).status_code == 405
    assert client.delete(reverse("agenda_edit", args=[appointment.pk])).status_code == 405
    assert client.get(reverse("agenda_done", args=[appointment.pk])).status_code == 405
    assert client.get(reverse("agenda_cancel", args=[appointment.pk])).status_code == 405


def test_reschedule_a_next_contact_moves_the_tickets_next_contact(client, sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    appointment = ticket.appointments.get()
    client.force_login(agent)
    assert client.get(reverse("agenda_edit", args=[appointment.pk]), **HX).status_code == 200
    data = form(
        user=agent.pk,
        title=appointment.title,
        start_date="2026-12-15",
        start_time="16:00",
        end_date="2026-12-15",
        end_time="16:30",
        channel="phone",
        place="",
        person=str(ticket.person_id),
        ticket=str(ticket.pk),
        version="0",
    )
    response = client.post(reverse("agenda_edit", args=[appointment.pk]), data)
    assert response.status_code == 302 and response["Location"] == "/agenda/?date=2026-12-15"
    ticket.refresh_from_db()
    appointment.refresh_from_db()
    assert ticket.next_contact_at == at(15, 16) and appointment.start == at(15, 16)
    assert ticket.notes.order_by("id").last().text.startswith("Next contact moved in the agenda")
    assert appointment.changes.last().by == agent
    # the same form again, from the old version: a conflict, nothing changed
    response = client.post(reverse("agenda_edit", args=[appointment.pk]), {**data, "start_time": "17:00"})
    assert response.status_code == 409 and "Someone else changed this appointment" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.start == at(15, 16)


def test_done_and_cancel_with_history_and_the_already_done_case(client, agent):
    one, two = make(agent, title="Um"), make(agent, title="Dois")
    client.force_login(agent)
    response = client.post(reverse("agenda_done", args=[one.pk]), {"version": "0"}, **HX)
    assert response.status_code == 200 and "agenda-changed" in response["HX-Trigger"]
    assert 'data-testid="panel-success"' in response.content.decode()
    one.refresh_from_db()
    assert one.status == Appointment.Status.DONE and one.changes.last().kind == AppointmentChange.Kind.DONE
    response = client.post(reverse("agenda_done", args=[one.pk]))
    assert response.status_code == 422 and "already done" in response.content.decode()
    response = client.post(reverse("agenda_cancel", args=[two.pk]), {"reason": "Cliente pediu", "version": "0"})
    assert response.status_code == 200
    two.refresh_from_db()
    assert two.status == Appointment.Status.CANCELLED and two.changes.last().reason == "Cliente pediu"
    response = client.post(reverse("agenda_cancel", args=[two.pk]), {"version": "0"})
    assert response.status_code == 409


def test_a_supervisor_marks_a_team_members_appointment_done(client, agent, supervisor):
    appointment = make(agent)
    client.force_login(supervisor)
    assert client.post(reverse("agenda_done", args=[appointment.pk])).status_code == 200
    assert appointment.changes.last().by == supervisor


def test_the_panel_history_names_who_changed_what(client, agent):
    from ciclo.agenda.appointments import change_appointment

    appointment = make(agent)
    change_appointment(appointment, by=agent, start=at(12, 8))
    client.force_login(agent)
    html = client.get(reverse("agenda_appointment", args=[appointment.pk]), **HX).content.decode()
    assert "10/12/2026 10:00 → 12/12/2026 08:00" in html and "agent_t" in html


def test_the_new_form_takes_the_ticket_from_the_address(client, sales, agent):
    ticket = make_ticket(sales, agent)
    client.force_login(agent)
    response = client.get(reverse("agenda_new"), {"ticket": ticket.pk, "date": "2026-12-11", "hour": "16"})
    assert response.context["form"].initial["ticket"] == str(ticket.pk)
    assert response.context["form"].initial["start_time"] == dt.time(16)
    response = client.post(reverse("agenda_new"), form(user=agent.pk, ticket=str(ticket.pk)))
    assert response.status_code == 302
    manual = Appointment.objects.get(source=Appointment.Source.MANUAL)
    assert manual.ticket == ticket and manual.person_id == Ticket.objects.get(pk=ticket.pk).person_id


def test_a_months_day_counts_what_it_does_not_show(client, agent):
    from ciclo.agenda.appointments import cancel_appointment

    for n in range(4):
        make(agent, 22, 8 + n, f"Cedo {n}")
    create_appointment(user=agent, start=at(21, 20), end=at(22, 22), title="Plantão longo", by=agent)
    cancel_appointment(make(agent, 22, 20, "Desmarcada"), by=agent)
    client.force_login(agent)
    days = {d.date: d for d in client.get(reverse("agenda_month")).context["days"]}
    the_21st, the_22nd = days[dt.date(2026, 12, 21)], days[dt.date(2026, 12, 22)]
    assert [i.title for i in the_21st.shown] == ["Plantão longo"] and the_21st.more == 0
    # the long one started the day before: it comes first; five in all, the cancelled one not counted
    assert [i.title for i in the_22nd.shown] == ["Plantão longo", "Cedo 0", "Cedo 1"] and the_22nd.more == 2

"""/api/v1/appointments: a range of an agenda, making and changing appointments, as the web allows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciclo.agenda.appointments import create_appointment
from ciclo.agenda.models import Appointment, AppointmentChange
from tests.api.helpers import assert_error
from tests.factory import make_person, make_ticket

SP = ZoneInfo("America/Sao_Paulo")
MONDAY = dt.datetime(2026, 12, 7, 9, 0, tzinfo=SP)


def make(user, start=MONDAY, minutes=30, by=None, **kw):
    kw.setdefault("title", "Ligar")
    return create_appointment(user=user, start=start, end=start + dt.timedelta(minutes=minutes), by=by or user, **kw)


def week(**kw):
    return {"start": MONDAY.isoformat(), "end": (MONDAY + dt.timedelta(days=7)).isoformat(), **kw}


# ---- GET: a range ---------------------------------------------------------------------------------


def test_the_range_lists_the_users_own_appointments_in_time_order(api_as, agent, supervisor):
    later = make(agent, MONDAY + dt.timedelta(days=2), title="Quarta")
    first = make(agent, MONDAY, title="Segunda")
    make(agent, MONDAY + dt.timedelta(days=8), title="Fora")
    make(supervisor, MONDAY, title="Do supervisor")
    response = api_as(agent).get("/appointments", **week())
    assert response.status_code == 200, response.body
    items = response.body["items"]
    assert [i["id"] for i in items] == [first.pk, later.pk]
    item = items[0]
    assert item["uid"] == str(first.uid) and item["user"] == {"id": agent.pk, "username": "agent_t"}
    assert item["status"] == "planned" and item["source"] == "manual" and item["sequence"] == 0
    assert dt.datetime.fromisoformat(item["start"]) == MONDAY


def test_a_supervisor_reads_a_team_members_agenda_an_agent_may_not(api_as, agent, supervisor, outsider):
    mine = make(agent)
    assert [i["id"] for i in api_as(supervisor).get("/appointments", **week(user="agent_t")).body["items"]] == [mine.pk]
    assert_error(api_as(outsider).get("/appointments", **week(user="agent_t")), 403, "forbidden")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": MONDAY.isoformat()}, "end"),  # not after the start
        ({"end": (MONDAY + dt.timedelta(days=400)).isoformat()}, "end"),
        ({"start": "2026-12-07T09:00:00"}, "start"),  # no offset
        ({"start": "amanhã"}, "start"),
        ({"user": "nobody"}, "user"),
    ],
)
def test_a_bad_range_is_422_naming_the_parameter(api_as, agent, params, field):
    assert_error(api_as(agent).get("/appointments", **week(**params)), 422, "invalid", field)


def test_the_range_needs_start_and_end(api_as, agent):
    assert_error(api_as(agent).get("/appointments", start=MONDAY.isoformat()), 422, "invalid", "end")


def test_the_range_reads_the_same_queries_for_2_and_20_appointments(api_as, agent, sales):
    api = api_as(agent)
    api.get("/me")  # the token's first use writes last_used_at
    ticket = make_ticket(sales, agent)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/appointments", **week()).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        make(agent, MONDAY + dt.timedelta(hours=i), ticket=ticket if i else None)
    small = count()
    for i in range(18):
        make(agent, MONDAY + dt.timedelta(days=1, hours=i), person=make_person())
    assert count() == small


def test_the_list_needs_a_token(anonymous):
    assert_error(anonymous.get("/appointments", **week()), 401)


# ---- POST ---------------------------------------------------------------------------------------


def test_an_agent_makes_an_appointment_on_their_agenda_with_a_ticket(api_as, agent, sales):
    ticket = make_ticket(sales, agent)
    body = {
        "start": MONDAY.isoformat(),
        "end": (MONDAY + dt.timedelta(hours=1)).isoformat(),
        "title": "Visita",
        "ticket": ticket.pk,
        "channel": "visit",
        "place": "Rua A, 10",
    }
    response = api_as(agent).post("/appointments", body)
    assert response.status_code == 201, response.body
    made = Appointment.objects.get(pk=response.body["id"])
    assert (made.user, made.ticket, made.person, made.channel) == (agent, ticket, ticket.person, "visit")
    assert response.body["ticket"] == {"id": ticket.pk, "subject": ticket.subject}
    assert response.body["person"] == {"id": ticket.person.pk, "name": ticket.person.name}
    assert AppointmentChange.objects.get(appointment=made).kind == AppointmentChange.Kind.CREATED


def test_a_supervisor_makes_one_on_an_agents_agenda_an_agent_not_on_anothers(api_as, agent, supervisor, outsider):
    body = {"start": MONDAY.isoformat(), "end": (MONDAY + dt.timedelta(hours=1)).isoformat(), "title": "Reunião"}
    made = api_as(supervisor).post("/appointments", {**body, "user": "agent_t"})
    assert made.status_code == 201 and made.body["user"]["username"] == "agent_t"
    assert made.body["created_by"]["username"] == "supervisor_t"
    assert_error(api_as(outsider).post("/appointments", {**body, "user": "agent_t"}), 403, "forbidden")
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": MONDAY.isoformat()}, "end"),
        ({"title": ""}, "title"),
        ({"channel": "pombo"}, "channel"),
        ({"ticket": 10**12}, "ticket"),
        ({"person": 10**12}, "person"),
        ({"user": "nobody"}, "user"),
        ({"colour": "red"}, "colour"),
        ({"start": 1765000000}, "start"),
    ],
)
def test_a_bad_appointment_is_422_naming_the_field_and_nothing_is_made(api_as, agent, change, field):
    body = {"start": MONDAY.isoformat(), "end": (MONDAY + dt.timedelta(hours=1)).isoformat(), "title": "Ligar"}
    assert_error(api_as(agent).post("/appointments", {**body, **change}), 422, "invalid", field)
    assert not Appointment.objects.exists()


def test_a_ticket_the_user_may_not_see_is_refused(api_as, agent, sales, settings):
    from ciclo.accounts.models import UserCompany
    from ciclo.configurator.models import CrmOptions
    from tests.factory import make_company

    ticket = make_ticket(sales, agent)
    CrmOptions.objects.update_or_create(pk=1, defaults={"access_control_user_company": True})
    UserCompany.objects.create(user=agent, company=make_company())
    body = {"start": MONDAY.isoformat(), "end": (MONDAY + dt.timedelta(hours=1)).isoformat(), "title": "Ligar"}
    assert_error(api_as(agent).post("/appointments", {**body, "ticket": ticket.pk}), 422, "invalid", "ticket")


# ---- PATCH --------------------------------------------------------------------------------------


def test_moving_an_appointment_bumps_its_sequence_and_keeps_its_length(api_as, agent):
    made = make(agent, minutes=45)
    new_start = MONDAY + dt.timedelta(days=1)
    response = api_as(agent).patch(f"/appointments/{made.pk}", {"sequence": 0, "start": new_start.isoformat()})
    assert response.status_code == 200, response.body
    assert response.body["sequence"] == 1
    assert dt.datetime.fromisoformat(response.body["end"]) == new_start + dt.timedelta(minutes=45)
    change = AppointmentChange.objects.filter(appointment=made, kind=AppointmentChange.Kind.CHANGED).get()
    assert set(change.changes) == {"start", "end"} and change.by == agent


def test_a_stale_sequence_is_409_and_changes_nothing(api_as, agent):
    made = make(agent)
    api = api_as(agent)
    assert api.patch(f"/appointments/{made.pk}", {"sequence": 0, "title": "Primeiro"}).status_code == 200
    error = assert_error(api.patch(f"/appointments/{made.pk}", {"sequence": 0, "title": "Segundo"}), 409, "conflict")
    assert "sequence" in error["fields"]
    made.refresh_from_db()
    assert (made.title, made.sequence) == ("Primeiro", 1)


def test_a_patch_cancels_or_marks_done(api_as, agent):
    api = api_as(agent)
    first, second = make(agent), make(agent, MONDAY + dt.timedelta(hours=2))
    cancelled = api.patch(f"/appointments/{first.pk}", {"sequence": 0, "status": "cancelled", "reason": "Desmarcou"})
    assert cancelled.status_code == 200 and cancelled.body["status"] == "cancelled"
    assert AppointmentChange.objects.get(appointment=first, kind="cancelled").reason == "Desmarcou"
    done = api.patch(f"/appointments/{second.pk}", {"sequence": 0, "status": "done"})
    assert done.status_code == 200 and done.body["status"] == "done"
    # Already cancelled: a 422 on the status.
    assert_error(
        api.patch(f"/appointments/{first.pk}", {"sequence": 1, "status": "cancelled"}), 422, "invalid", "status"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x"}, "sequence"),  # the sequence is required
        ({"sequence": 0, "title": None}, "title"),
        ({"sequence": 0, "status": "planned"}, "status"),
        ({"sequence": 0, "status": "done", "title": "x"}, "status"),
        ({"sequence": 0, "reason": "sem status"}, "reason"),
        ({"sequence": "0", "title": "x"}, "sequence"),
    ],
)
def test_a_bad_patch_is_422_naming_the_field(api_as, agent, body, field):
    made = make(agent)
    assert_error(api_as(agent).patch(f"/appointments/{made.pk}", body), 422, "invalid", field)
    made.refresh_from_db()
    assert made.sequence == 0


def test_another_agents_appointment_is_404_a_supervisor_changes_it(api_as, agent, supervisor, outsider):
    made = make(agent)
    assert_error(api_as(outsider).get(f"/appointments/{made.pk}"), 404, "not_found")
    assert_error(api_as(outsider).patch(f"/appointments/{made.pk}", {"sequence": 0, "title": "x"}), 404)
    response = api_as(supervisor).patch(f"/appointments/{made.pk}", {"sequence": 0, "title": "Pelo supervisor"})
    assert response.status_code == 200 and response.body["title"] == "Pelo supervisor"
    assert api_as(agent).get(f"/appointments/{made.pk}").body["title"] == "Pelo supervisor"


def test_moving_a_tickets_next_contact_appointment_moves_the_tickets_next_contact(api_as, agent, sales):
    ticket = make_ticket(sales, agent, next_contact_at=MONDAY, next_contact_user=agent)
    appointment = Appointment.objects.get(ticket=ticket, source=Appointment.Source.NEXT_CONTACT)
    new_start = MONDAY + dt.timedelta(days=2)
    response = api_as(agent).patch(
        f"/appointments/{appointment.pk}", {"sequence": appointment.sequence, "start": new_start.isoformat()}
    )
    assert response.status_code == 200, response.body
    ticket.refresh_from_db()
    assert ticket.next_contact_at == new_start


def test_the_methods_the_endpoint_lacks_are_405(api_as, agent):
    made = make(agent)
    assert_error(api_as(agent).delete(f"/appointments/{made.pk}"), 405, "method_not_allowed")

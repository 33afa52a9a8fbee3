"""A ticket keeps one next-contact appointment however many write at once (PostgreSQL: real row locks)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ciclo.agenda.appointments import AppointmentConflict, change_appointment, sync_next_contact
from ciclo.agenda.models import Appointment
from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket
from tests.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TZ = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL (make test runs the suite there too)")


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, tzinfo=TZ)


def test_two_inserts_of_a_tickets_next_contact_at_once_one_is_refused(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    Appointment.objects.filter(ticket=ticket).update(status=Appointment.Status.DONE)

    def insert(hour):
        def job():
            with transaction.atomic():
                return Appointment.objects.create(
                    user=agent,
                    start=at(11, hour),
                    end=at(11, hour + 1),
                    title="Retorno",
                    ticket_id=ticket.pk,
                    source=Appointment.Source.NEXT_CONTACT,
                    created_by=agent,
                )

        return job

    results = run_at_once([insert(9), insert(10)])
    assert sum(isinstance(r, Appointment) for r in results) == 1, results
    assert sum(isinstance(r, IntegrityError) for r in results) == 1, results
    assert Appointment.objects.filter(ticket=ticket, status=Appointment.Status.PLANNED).count() == 1


def test_syncs_at_once_leave_one_planned_appointment(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    # as if the next contact had been called off at another time: each sync would put it back
    Appointment.objects.filter(ticket=ticket).update(status=Appointment.Status.CANCELLED, start=at(1, 9), end=at(1, 10))
    results = run_at_once([lambda: sync_next_contact(Ticket.objects.get(pk=ticket.pk), by=agent) for _ in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Appointment.objects.filter(ticket=ticket, status=Appointment.Status.PLANNED).count() == 1


def test_notes_at_once_each_moving_the_next_contact_leave_one_appointment(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))

    def job(n):
        return lambda: record_note(
            Ticket.objects.get(pk=ticket.pk),
            by=supervisor if n % 2 else agent,
            text=f"nota {n}",
            next_contact_at=at(11 + n, 9),
            at=at(8, 9),
        )

    results = run_at_once([job(n) for n in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    ticket.refresh_from_db()
    appointment = Appointment.objects.get(ticket=ticket)
    assert appointment.status == Appointment.Status.PLANNED
    assert appointment.start == ticket.next_contact_at and appointment.sequence == 4


def test_a_move_in_the_agenda_and_a_note_at_once_agree(sales, agent):
    """The move takes the ticket's row before the appointment's, as the engine does: no deadlock, and the
    ticket's next contact and its appointment end the same, whichever came last."""
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    appointment = Appointment.objects.get(ticket=ticket)

    results = run_at_once(
        [
            lambda: change_appointment(Appointment.objects.get(pk=appointment.pk), by=agent, start=at(20, 9)),
            lambda: record_note(
                Ticket.objects.get(pk=ticket.pk), by=agent, text="x", next_contact_at=at(21, 9), at=at(8, 9)
            ),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    ticket.refresh_from_db()
    appointment.refresh_from_db()
    assert Appointment.objects.filter(ticket=ticket, status=Appointment.Status.PLANNED).count() == 1
    assert appointment.start == ticket.next_contact_at


def test_two_changes_from_the_same_read_exactly_one_wins(agent):
    from ciclo.agenda.appointments import create_appointment

    appointment = create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Visita", by=agent)

    def job(n):
        return lambda: change_appointment(
            Appointment.objects.get(pk=appointment.pk), by=agent, version=0, notes=f"versão {n}"
        )

    results = run_at_once([job(n) for n in range(4)])
    assert sum(isinstance(r, Appointment) for r in results) == 1, results
    assert sum(isinstance(r, AppointmentConflict) for r in results) == 3, results
    appointment.refresh_from_db()
    assert appointment.sequence == 1 and appointment.changes.count() == 2

"""The agenda's rules: a ticket's next contact on the agenda, appointments by hand, who may change what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ciclo.agenda.appointments import (
    AppointmentConflict,
    AppointmentInvalid,
    AppointmentNotAllowed,
    appointments_between,
    cancel_appointment,
    change_appointment,
    create_appointment,
    mark_done,
    sync_next_contact,
    visible_users,
)
from ciclo.agenda.models import Appointment, AppointmentChange
from ciclo.tickets.answering import AnswerInput, save_answers
from ciclo.tickets.models import Channel, Note, Ticket
from ciclo.tickets.routing import move_to_step, record_note
from tests.factory import make_person, make_ticket

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A time in December 2026, São Paulo."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def next_contacts(ticket: Ticket):
    return Appointment.objects.filter(ticket=ticket, source=Appointment.Source.NEXT_CONTACT).order_by("id")


def planned(ticket: Ticket) -> Appointment:
    return next_contacts(ticket).get(status=Appointment.Status.PLANNED)


# ---- a ticket's next contact on the agenda ----------------------------------------------------------


def test_opening_puts_the_next_contact_on_the_next_contact_users_agenda(sales, agent, supervisor):
    ticket = make_ticket(sales, supervisor, next_contact_at=at(10, 9), next_contact_user=agent, subject="ERP novo")
    appointment = planned(ticket)
    assert appointment.user == agent
    assert appointment.start == at(10, 9) and appointment.end == at(10, 9, 30)
    assert appointment.title == "ERP novo" and appointment.person_id == ticket.person_id
    assert appointment.created_by == supervisor and appointment.sequence == 0
    change = appointment.changes.get()
    assert change.kind == AppointmentChange.Kind.CREATED and change.by == supervisor
    assert change.changes["start"] == [None, at(10, 9).isoformat()]


def test_a_later_note_that_changes_the_next_contact_moves_the_appointment(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    first = planned(ticket)
    record_note(ticket, by=supervisor, text="Ligar depois", next_contact_at=at(12, 15), at=at(8, 10))
    assert next_contacts(ticket).count() == 1
    moved = planned(ticket)
    assert moved.pk == first.pk and moved.uid == first.uid
    assert moved.start == at(12, 15) and moved.end == at(12, 15, 30)
    assert moved.sequence == 1
    change = moved.changes.order_by("id").last()
    assert change.kind == AppointmentChange.Kind.CHANGED and change.by == supervisor
    assert change.changes["start"] == [at(10, 9).isoformat(), at(12, 15).isoformat()]
    assert change.sequence == 1


def test_a_note_giving_the_next_contact_to_someone_else_moves_it_to_their_agenda(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    record_note(ticket, by=agent, text="Passo ao supervisor", next_contact_user=supervisor, at=at(8, 10))
    appointment = planned(ticket)
    assert appointment.user == supervisor and appointment.start == at(10, 9)
    assert next_contacts(ticket).count() == 1
    assert appointment.changes.last().changes == {"user": [agent.pk, supervisor.pk]}


def test_a_note_that_keeps_the_next_contact_changes_nothing(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    record_note(ticket, by=supervisor, text="Só uma observação", at=at(8, 10))
    appointment = planned(ticket)
    assert appointment.sequence == 0 and appointment.changes.count() == 1


def test_the_call_on_the_day_marks_it_done_and_the_next_contact_gets_its_own(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    first = planned(ticket)
    record_note(ticket, by=agent, text="Falei com o cliente", next_contact_at=at(17, 10), at=at(10, 9, 5))
    first.refresh_from_db()
    assert first.status == Appointment.Status.DONE and first.start == at(10, 9) and first.sequence == 1
    assert first.changes.last().kind == AppointmentChange.Kind.DONE
    second = planned(ticket)
    assert second.pk != first.pk and second.start == at(17, 10) and second.user == agent


def test_the_call_without_a_new_next_contact_marks_it_done_and_puts_nothing_new(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    record_note(ticket, by=agent, text="Falei com o cliente", at=at(10, 11))
    assert [a.status for a in next_contacts(ticket)] == [Appointment.Status.DONE]
    # and running the sync again changes nothing
    sync_next_contact(ticket, by=agent)
    assert [a.status for a in next_contacts(ticket)] == [Appointment.Status.DONE]


def test_a_note_by_someone_else_on_the_day_is_not_the_users_call(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    record_note(ticket, by=supervisor, text="Cliente ligou", next_contact_at=at(11, 9), at=at(10, 8))
    assert [(a.status, a.start) for a in next_contacts(ticket)] == [(Appointment.Status.PLANNED, at(11, 9))]


def test_a_note_the_day_before_moves_it_and_is_not_the_call(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    record_note(ticket, by=agent, text="Adiantei", next_contact_at=at(11, 9), at=at(9, 17))
    assert [(a.status, a.start) for a in next_contacts(ticket)] == [(Appointment.Status.PLANNED, at(11, 9))]


def test_closing_the_ticket_cancels_its_appointment(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    save_answers(ticket, [AnswerInput(sales.q_single.pk, [sales.o_site.pk], 0)], by=agent)
    record_note(ticket, by=agent, text="Proposta", move_on=True, next_contact_at=at(15, 9), at=at(9, 8))
    record_note(ticket, by=agent, text="Fechou", move_on=True, choices={sales.decision.pk: sales.yes.pk}, at=at(9, 9))
    ticket.refresh_from_db()
    assert ticket.is_closed
    appointment = next_contacts(ticket).get()
    assert appointment.status == Appointment.Status.CANCELLED and appointment.sequence == 2
    last = appointment.changes.last()
    assert last.kind == AppointmentChange.Kind.CANCELLED and last.reason == "The ticket was closed."


def test_a_supervisor_move_to_the_closing_phase_cancels_it(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    move_to_step(ticket, sales.step_closed, by=supervisor, reason="Desistiu")
    assert next_contacts(ticket).get().status == Appointment.Status.CANCELLED


def test_the_database_refuses_a_second_planned_next_contact_of_a_ticket(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            user=agent,
            start=at(11, 9),
            end=at(11, 10),
            title="Outro",
            ticket=ticket,
            source=Appointment.Source.NEXT_CONTACT,
            created_by=agent,
        )
    # a manual one about the same ticket is fine
    create_appointment(user=agent, start=at(11, 9), end=at(11, 10), title="Visita", ticket=ticket, by=agent)
    assert Appointment.objects.filter(ticket=ticket).count() == 2


def test_sync_is_idempotent(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    for _ in range(3):
        sync_next_contact(ticket, by=agent)
    assert next_contacts(ticket).count() == 1 and planned(ticket).sequence == 0


# ---- moving a next-contact appointment moves the ticket's next contact -----------------------------


def test_moving_the_next_contact_appointment_changes_the_tickets_next_contact(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    appointment = planned(ticket)
    version = ticket.version
    change_appointment(appointment, by=agent, version=0, start=at(11, 14))
    ticket.refresh_from_db()
    assert ticket.next_contact_at == at(11, 14) and ticket.version == version + 1
    appointment.refresh_from_db()
    assert appointment.start == at(11, 14) and appointment.end == at(11, 14, 30)  # the same length
    assert appointment.status == Appointment.Status.PLANNED and appointment.sequence == 1
    assert next_contacts(ticket).count() == 1
    # the ticket's side of the history: a note, by the user, of the System channel
    note = ticket.notes.order_by("id").last()
    assert note.author == agent and note.channel == Channel.SYSTEM and note.kind == Note.Kind.CONTACT
    assert note.next_contact_at == at(11, 14)
    assert "10/12/2026 09:00" in note.text and "11/12/2026 14:00" in note.text
    # the appointment's
    change = appointment.changes.last()
    assert change.by == agent and change.changes["start"] == [at(10, 9).isoformat(), at(11, 14).isoformat()]


def test_a_supervisor_moves_a_next_contact_to_another_users_agenda(sales, agent, supervisor):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    appointment = planned(ticket)
    change_appointment(appointment, by=supervisor, user=supervisor)
    ticket.refresh_from_db()
    assert ticket.next_contact_user == supervisor
    assert planned(ticket).user == supervisor


def test_moving_a_next_contact_of_a_phase_the_user_may_not_work_changes_nothing(sales, agent, outsider):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9), next_contact_user=outsider)
    sales.cr_prospect.members.add(agent)
    appointment = planned(ticket)
    with pytest.raises(AppointmentNotAllowed):
        change_appointment(appointment, by=outsider, start=at(11, 9))
    appointment.refresh_from_db()
    ticket.refresh_from_db()
    assert appointment.start == at(10, 9) and appointment.sequence == 0
    assert ticket.next_contact_at == at(10, 9)
    assert appointment.changes.count() == 1


def test_a_next_contact_stays_with_its_ticket(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    other = make_ticket(sales, agent, next_contact_at=at(10, 9))
    with pytest.raises(AppointmentInvalid) as err:
        change_appointment(planned(ticket), by=agent, ticket=other)
    assert err.value.errors["ticket"] == ["A ticket's next contact stays with its ticket."]


# ---- appointments by hand ----------------------------------------------------------------------------


def test_an_appointment_by_hand_with_its_history(sales, agent):
    person = make_person(name="Maria Souza")
    appointment = create_appointment(
        user=agent,
        start=at(14, 10),
        end=at(14, 11),
        title="  Visita à fábrica ",
        person=person,
        place="Rua das Flores, 10",
        channel=Channel.VISIT,
        by=agent,
    )
    assert appointment.title == "Visita à fábrica" and appointment.source == Appointment.Source.MANUAL
    assert appointment.status == Appointment.Status.PLANNED and appointment.uid
    change = appointment.changes.get()
    assert change.kind == AppointmentChange.Kind.CREATED
    assert change.changes["title"] == [None, "Visita à fábrica"] and change.changes["person"] == [None, person.pk]


def test_an_appointment_about_a_ticket_takes_the_tickets_person(sales, agent):
    ticket = make_ticket(sales, agent)
    appointment = create_appointment(
        user=agent, start=at(14, 10), end=at(14, 11), title="Demo", ticket=ticket, by=agent
    )
    assert appointment.person_id == ticket.person_id


def test_bad_values_are_refused_field_by_field_and_nothing_is_saved(sales, agent):
    with pytest.raises(AppointmentInvalid) as err:
        create_appointment(
            user=agent, start=at(14, 10), end=at(14, 9), title=" ", channel="pombo", place="x" * 201, by=agent
        )
    assert set(err.value.errors) == {"end", "title", "channel", "place"}
    assert err.value.errors["end"] == ["The end must be after the start."]
    with pytest.raises(AppointmentInvalid) as err:
        create_appointment(user=agent, start=at(1, 10), end=at(14, 9), title="Feira", by=agent)
    assert err.value.errors["end"] == ["An appointment lasts at most 7 days."]
    with pytest.raises(AppointmentInvalid) as err:
        create_appointment(user=agent, start=dt.datetime(2026, 12, 1, 9), end=at(1, 10), title="Sem fuso", by=agent)
    assert list(err.value.errors) == ["start"]
    ticket = make_ticket(sales, agent)
    with pytest.raises(AppointmentInvalid) as err:
        create_appointment(
            user=agent, start=at(1, 9), end=at(1, 10), title="Outra", ticket=ticket, person=make_person(), by=agent
        )
    assert err.value.errors["person"] == ["The person must be the ticket's person."]
    assert not Appointment.objects.filter(source=Appointment.Source.MANUAL).exists()
    assert not AppointmentChange.objects.filter(appointment__source=Appointment.Source.MANUAL).exists()


def test_moving_by_hand_keeps_the_length_and_writes_old_and_new(agent):
    appointment = create_appointment(user=agent, start=at(14, 10), end=at(14, 11, 30), title="Visita", by=agent)
    change_appointment(appointment, by=agent, version=0, start=at(15, 8), notes="Levar contrato")
    assert appointment.start == at(15, 8) and appointment.end == at(15, 9, 30) and appointment.sequence == 1
    change = appointment.changes.last()
    assert change.changes == {
        "start": [at(14, 10).isoformat(), at(15, 8).isoformat()],
        "end": [at(14, 11, 30).isoformat(), at(15, 9, 30).isoformat()],
        "notes": ["", "Levar contrato"],
    }


def test_a_stale_sequence_is_a_conflict_never_an_overwrite(agent):
    appointment = create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Visita", by=agent)
    change_appointment(appointment, by=agent, version=0, notes="Primeira")
    with pytest.raises(AppointmentConflict) as err:
        change_appointment(Appointment.objects.get(pk=appointment.pk), by=agent, version=0, notes="Segunda")
    assert err.value.current_sequence == 1
    with pytest.raises(AppointmentConflict):
        cancel_appointment(appointment, by=agent, version=0)
    appointment.refresh_from_db()
    assert appointment.notes == "Primeira" and appointment.status == Appointment.Status.PLANNED


def test_an_unchanged_save_writes_nothing(agent):
    appointment = create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Visita", by=agent)
    change_appointment(appointment, by=agent, version=0, title="Visita", start=at(14, 10))
    assert appointment.sequence == 0 and appointment.changes.count() == 1


def test_cancel_and_done_with_their_history_and_the_already_done_case(agent):
    one = create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Visita", by=agent)
    cancel_appointment(one, by=agent, reason="Cliente viajou")
    one.refresh_from_db()
    assert one.status == Appointment.Status.CANCELLED and one.sequence == 1
    change = one.changes.last()
    assert change.kind == AppointmentChange.Kind.CANCELLED and change.reason == "Cliente viajou"
    assert change.changes == {"status": ["planned", "cancelled"]}
    with pytest.raises(AppointmentInvalid) as err:
        cancel_appointment(one, by=agent)
    assert err.value.errors == {"status": ["The appointment is already cancelled."]}
    with pytest.raises(AppointmentInvalid):
        change_appointment(one, by=agent, title="De novo")
    two = create_appointment(user=agent, start=at(15, 10), end=at(15, 11), title="Ligação", by=agent)
    mark_done(two, by=agent)
    assert Appointment.objects.get(pk=two.pk).status == Appointment.Status.DONE
    with pytest.raises(AppointmentInvalid) as err:
        mark_done(two, by=agent)
    assert err.value.errors == {"status": ["The appointment is already done."]}


def test_a_done_next_contact_is_not_put_back_by_a_later_sync(sales, agent):
    ticket = make_ticket(sales, agent, next_contact_at=at(10, 9))
    mark_done(planned(ticket), by=agent)
    record_note(ticket, by=agent, text="Observação", at=at(9, 8))
    assert [a.status for a in next_contacts(ticket)] == [Appointment.Status.DONE]
    record_note(ticket, by=agent, text="Remarcado", next_contact_at=at(20, 9), at=at(9, 9))
    assert planned(ticket).start == at(20, 9)


# ---- who may -----------------------------------------------------------------------------------------


def test_an_agent_manages_only_their_own_agenda(agent, outsider, supervisor):
    with pytest.raises(AppointmentNotAllowed):
        create_appointment(user=outsider, start=at(14, 10), end=at(14, 11), title="Visita", by=agent)
    theirs = create_appointment(user=outsider, start=at(14, 10), end=at(14, 11), title="Visita", by=outsider)
    for action in (
        lambda: change_appointment(theirs, by=agent, title="Minha"),
        lambda: cancel_appointment(theirs, by=agent),
        lambda: mark_done(theirs, by=agent),
        lambda: change_appointment(
            create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Minha", by=agent),
            by=agent,
            user=outsider,
        ),
    ):
        with pytest.raises(AppointmentNotAllowed):
            action()
    theirs.refresh_from_db()
    assert theirs.title == "Visita" and theirs.status == Appointment.Status.PLANNED


def test_a_supervisor_manages_the_teams_agendas(agent, supervisor):
    appointment = create_appointment(user=agent, start=at(14, 10), end=at(14, 11), title="Visita", by=supervisor)
    assert appointment.created_by == supervisor
    change_appointment(appointment, by=supervisor, title="Visita técnica")
    mark_done(appointment, by=supervisor)
    assert appointment.changes.filter(by=supervisor).count() == 3


def test_visible_users(agent, outsider, supervisor, admin_user):
    assert list(visible_users(agent)) == [agent]
    team = set(visible_users(supervisor))
    assert {agent, outsider, supervisor, admin_user} <= team
    assert set(visible_users(admin_user)) == team


def test_appointments_between_reads_those_that_overlap(agent, outsider):
    def make(start, end, title, user=agent):
        return create_appointment(user=user, start=start, end=end, title=title, by=user)

    make(at(6, 9), at(6, 10), "antes")
    make(at(6, 23), at(7, 1), "atravessa a meia-noite")
    make(at(7, 9), at(7, 10), "dentro")
    make(at(7, 9), at(7, 10), "de outro", user=outsider)
    make(at(13, 23, 30), at(14, 0, 30), "no fim")
    make(at(14, 0), at(14, 1), "depois")
    make(at(1, 9), at(8, 9), "a semana")
    found = appointments_between([agent], at(7, 0), at(14, 0))
    assert [a.title for a in found] == ["a semana", "atravessa a meia-noite", "dentro", "no fim"]
    assert [a.title for a in appointments_between([agent, outsider], at(7, 0), at(8, 0))] == [
        "a semana",
        "atravessa a meia-noite",
        "dentro",
        "de outro",
    ]

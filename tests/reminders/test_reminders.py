"""Reminders before appointments: queued by the sweep once, sent by a task through a real SMTP server
(aiosmtpd), dropped when the appointment moved, was cancelled or has started since it was queued."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from ciclo.accounts.models import Profile
from ciclo.accounts.roles import Role
from ciclo.agenda.appointments import cancel_appointment, change_appointment, mark_done
from ciclo.mail.models import Message
from ciclo.reminders import tasks
from ciclo.reminders.models import CalendarSettings, Sent
from ciclo.reminders.preferences import change_preferences
from ciclo.reminders.sending import dismiss_notice, due_reminders, notices, sweep_reminders
from tests.factory import make_ticket, make_user
from tests.reminders.conftest import at, make_appointment

TEN = at(3, 10)


@pytest.fixture
def ana(db):
    return make_user("ana", Role.AGENT, email="ana@example.com", first_name="Ana")


def sweep(when: dt.datetime) -> int:
    with time_machine.travel(when, tick=False):
        return sweep_reminders(tasks.send_reminder)


def work(when: dt.datetime, run_worker: Any, capture: Any) -> None:
    """The worker runs, at `when`, what is queued: the reminders' tasks, then the e-mails they queued."""
    with time_machine.travel(when, tick=False):
        with capture(execute=True):
            run_worker()
        run_worker()


def test_a_reminder_goes_out_once_lead_time_before_the_appointment(
    inbox, ana, sales, run_worker, django_capture_on_commit_callbacks
):
    ticket = make_ticket(sales, ana, subject="Quer um ERP")
    appointment = make_appointment(ana, TEN, title="Ligar para a Ana", ticket=ticket, place="Sala 2")
    assert sweep(at(3, 9, 44)) == 0  # 16 minutes before: not yet
    assert sweep(at(3, 9, 45)) == 1
    assert sweep(at(3, 9, 46)) == 0  # queued already
    work(at(3, 9, 46), run_worker, django_capture_on_commit_callbacks)

    [mail] = inbox.received
    assert mail.rcpt_tos == ["ana@example.com"]
    assert mail.message["Subject"] == "Reminder: Ligar para a Ana at 10:00"
    text, html = mail.part("plain"), mail.part("html")
    assert "Your appointment starts in 14 minutes:" in text and "Sala 2" in text
    assert f"https://ciclo.example.com/tickets/{ticket.pk}/" in text
    assert f'href="https://ciclo.example.com/tickets/{ticket.pk}/"' in html and "Quer um ERP" in html
    [row] = Sent.objects.all()
    assert (row.status, row.sequence, row.appointment_id) == (Sent.Status.SENT, 0, appointment.pk)
    assert row.message is not None and row.message.status == Message.Status.SENT

    # A second sweep, or the task run again, sends nothing more.
    assert sweep(at(3, 9, 50)) == 0
    assert tasks.send_reminder.call(row.pk) == "already done"
    work(at(3, 9, 50), run_worker, django_capture_on_commit_callbacks)
    assert len(inbox.received) == 1


def test_the_reminder_is_in_the_recipients_language(inbox, ana, run_worker, django_capture_on_commit_callbacks):
    Profile.objects.create(user=ana, language="pt-br")
    make_appointment(ana, TEN)
    sweep(at(3, 9, 50))
    work(at(3, 9, 50), run_worker, django_capture_on_commit_callbacks)
    [mail] = inbox.received
    assert '<html lang="pt-br">' in mail.part("html")
    assert Message.objects.get().language == "pt-br"


def test_each_user_has_their_own_lead_time(inbox, ana, run_worker, django_capture_on_commit_callbacks):
    change_preferences(ana, by=ana, lead_minutes="60", language="")
    make_appointment(ana, TEN)
    assert sweep(at(3, 8, 59)) == 0
    assert sweep(at(3, 9, 0)) == 1


def test_an_appointment_moved_since_it_was_queued_is_not_reminded_until_its_new_time(
    inbox, ana, run_worker, django_capture_on_commit_callbacks
):
    appointment = make_appointment(ana, TEN)
    assert sweep(at(3, 9, 50)) == 1
    with time_machine.travel(at(3, 9, 51), tick=False):
        change_appointment(appointment, by=ana, version=0, start=at(3, 15))
    work(at(3, 9, 52), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    [dropped] = Sent.objects.all()
    assert (dropped.status, dropped.reason) == (Sent.Status.DROPPED, Sent.Reason.MOVED)

    # At its new time, its new sequence is reminded.
    assert sweep(at(3, 14, 50)) == 1
    work(at(3, 14, 50), run_worker, django_capture_on_commit_callbacks)
    [mail] = inbox.received
    assert "at 15:00" in mail.message["Subject"]
    assert Sent.objects.get(status=Sent.Status.SENT).sequence == 1


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        (lambda a, by: cancel_appointment(a, by=by, reason="Desmarcou"), Sent.Reason.CANCELLED),
        (lambda a, by: mark_done(a, by=by), Sent.Reason.DONE),
    ],
)
def test_a_cancelled_or_done_appointment_is_not_reminded(
    inbox, ana, run_worker, django_capture_on_commit_callbacks, finish, reason
):
    appointment = make_appointment(ana, TEN)
    sweep(at(3, 9, 50))
    finish(appointment, ana)
    work(at(3, 9, 51), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    assert Sent.objects.get().reason == reason
    assert sweep(at(3, 9, 52)) == 0  # a cancelled appointment is never due


def test_no_burst_after_downtime_a_started_appointments_reminder_is_dropped(
    inbox, ana, run_worker, django_capture_on_commit_callbacks
):
    started = make_appointment(ana, TEN, title="Já começou")
    coming = make_appointment(ana, at(3, 10, 20), title="Ainda vem")
    later = make_appointment(ana, at(3, 9, 55), title="Perdido")
    assert sweep(at(3, 9, 50)) == 2  # 10:00 and 09:55 are due; 10:20 not yet
    # The workers were down until 10:10: both have started, neither goes out.
    work(at(3, 10, 10), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    assert set(Sent.objects.values_list("appointment_id", "reason")) == {
        (started.pk, Sent.Reason.STARTED),
        (later.pk, Sent.Reason.STARTED),
    }
    # The scheduler was down too: its catch-up sweep at 10:10 queues only what has not started.
    assert [d["id"] for d in due_reminders(at=at(3, 10, 10))] == [coming.pk]


def test_an_inactive_users_appointments_are_not_reminded(ana):
    make_appointment(ana, TEN)
    ana.is_active = False
    ana.save()
    assert sweep(at(3, 9, 50)) == 0


def test_a_user_without_an_address_still_gets_the_notice(inbox, run_worker, django_capture_on_commit_callbacks):
    bob = make_user("bob", Role.AGENT)
    appointment = make_appointment(bob, TEN)
    sweep(at(3, 9, 50))
    work(at(3, 9, 50), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    [notice] = notices(bob, at=at(3, 9, 51))
    assert notice["appointment"] == appointment.pk and notice["minutes_left"] == 9


# ---- the home page's notice ---------------------------------------------------------------------


def test_the_notice_shows_on_the_home_page_until_dismissed(
    client, inbox, ana, agent, run_worker, django_capture_on_commit_callbacks
):
    appointment = make_appointment(ana, TEN, title="Ligar para a Ana")
    sweep(at(3, 9, 50))
    work(at(3, 9, 50), run_worker, django_capture_on_commit_callbacks)
    client.force_login(ana)
    with time_machine.travel(at(3, 9, 52), tick=False):
        html = client.get(reverse("home")).content.decode()
        assert 'data-testid="reminder-notice"' in html and "Ligar para a Ana" in html
        [notice] = notices(ana)
        # Only its user dismisses it; the wrong method is refused.
        client.force_login(agent)
        assert client.post(reverse("reminder_dismiss", args=[notice["id"]])).status_code == 404
        client.force_login(ana)
        assert client.get(reverse("reminder_dismiss", args=[notice["id"]])).status_code == 405
        response = client.post(reverse("reminder_dismiss", args=[notice["id"]]), headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert notices(ana) == []
        assert 'data-testid="reminder-notice"' not in client.get(reverse("home")).content.decode()
        assert dismiss_notice(ana, notice["id"]) is False
    assert appointment.pk


def test_a_notice_goes_when_its_appointment_moves_or_is_over(
    inbox, ana, run_worker, django_capture_on_commit_callbacks
):
    appointment = make_appointment(ana, TEN)
    sweep(at(3, 9, 50))
    work(at(3, 9, 50), run_worker, django_capture_on_commit_callbacks)
    assert len(notices(ana, at=at(3, 9, 55))) == 1
    assert notices(ana, at=at(3, 10, 15))[0]["started"] is True  # still on, until it ends
    assert notices(ana, at=at(3, 10, 30)) == []
    with time_machine.travel(at(3, 9, 56), tick=False):
        change_appointment(appointment, by=ana, version=0, title="Outro assunto")
    assert notices(ana, at=at(3, 9, 57)) == []


def test_the_lead_time_defaults_to_15_minutes(ana):
    assert not CalendarSettings.objects.filter(user=ana).exists()
    make_appointment(ana, TEN)
    assert due_reminders(at=at(3, 9, 44)) == []
    assert len(due_reminders(at=at(3, 9, 45))) == 1

"""The morning digest: the day's follow-up list by e-mail, once per user and day, never for an earlier day."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ciclo.accounts.roles import Role
from ciclo.jobs import schedules
from ciclo.jobs.models import ScheduledRun
from ciclo.jobs.scheduler import perform, schedule_due
from ciclo.reminders import tasks
from ciclo.reminders.models import Sent
from ciclo.reminders.sending import sweep_digests
from tests.factory import make_ticket, make_user
from tests.reminders.conftest import at


@pytest.fixture
def ana(db):
    return make_user("ana", Role.AGENT, email="ana@example.com", first_name="Ana")


@pytest.fixture
def only_digests(settings):
    settings.CICLO_SCHEDULES = {job.name: "off" for job in schedules.JOBS} | {"send_digests": "daily 07:00"}


def work(when, run_worker, capture):
    with time_machine.travel(when, tick=False):
        with capture(execute=True):
            run_worker()
        run_worker()


def contacts(selling, user):
    with time_machine.travel(at(1, 12), tick=False):
        overdue = make_ticket(selling, user, subject="Atrasado", next_contact_at=at(2, 10), next_contact_user=user)
        today = make_ticket(selling, user, subject="Para hoje", next_contact_at=at(3, 15), next_contact_user=user)
        make_ticket(selling, user, subject="Amanhã", next_contact_at=at(4, 9), next_contact_user=user)
    return overdue, today


def test_the_digest_lists_the_days_overdue_and_due_contacts_once(
    inbox, ana, selling, only_digests, run_worker, django_capture_on_commit_callbacks
):
    overdue, today = contacts(selling, ana)
    with time_machine.travel(at(3, 7), tick=False):
        [run] = schedule_due(by="test")
        perform(run.pk)
        assert tasks.send_digests.call().startswith("Queued 0")  # the same day again: the ledger has it
    work(at(3, 7, 1), run_worker, django_capture_on_commit_callbacks)

    [mail] = inbox.received
    assert mail.rcpt_tos == ["ana@example.com"]
    assert mail.message["Subject"] == "Your follow-up for 03/12/2026: 1 contact today, 1 overdue"
    text, html = mail.part("plain"), mail.part("html")
    assert "Good morning, Ana." in text
    assert f"#{overdue.pk} {overdue.person.name} · Atrasado" in text
    assert f"#{today.pk} {today.person.name} · Para hoje" in text and "15:00" in text
    assert "Amanhã" not in text
    assert f'href="https://ciclo.example.com/tickets/{today.pk}/"' in html
    assert "https://ciclo.example.com/followup/" in text
    [row] = Sent.objects.filter(kind=Sent.Kind.DIGEST)
    assert (row.user, row.day, row.status) == (ana, dt.date(2026, 12, 3), Sent.Status.SENT)
    assert ScheduledRun.objects.get().outcome == ScheduledRun.Outcome.SUCCEEDED


def test_nothing_due_sends_no_digest(inbox, ana, selling, run_worker, django_capture_on_commit_callbacks):
    with time_machine.travel(at(3, 7), tick=False):
        assert sweep_digests(tasks.send_digest, day=dt.date(2026, 12, 3)) == 1
    work(at(3, 7, 1), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    assert Sent.objects.get().reason == Sent.Reason.NOTHING_DUE


def test_a_digest_queued_for_a_day_that_is_over_is_not_sent(
    inbox, ana, selling, run_worker, django_capture_on_commit_callbacks
):
    contacts(selling, ana)
    with time_machine.travel(at(3, 7), tick=False):
        sweep_digests(tasks.send_digest, day=dt.date(2026, 12, 3))
    # The workers were down until the next morning.
    work(at(4, 6, 30), run_worker, django_capture_on_commit_callbacks)
    assert inbox.received == []
    assert Sent.objects.get().reason == Sent.Reason.DAY_OVER


def test_the_catch_up_run_of_an_earlier_day_queues_no_digest(ana, selling, only_digests):
    contacts(selling, ana)
    # The scheduler was down from before 07:00 yesterday until 06:30 today: its one catch-up run is
    # for yesterday's period, whose digest is not for today.
    with time_machine.travel(at(3, 6, 30), tick=False):
        [run] = schedule_due(by="test")
        assert run.period_start == at(2, 7)
        result = perform(run.pk)
    assert "earlier day" in result
    assert not Sent.objects.exists()


def test_users_without_an_address_or_a_role_get_no_digest(ana, db):
    make_user("semmail", Role.AGENT)
    norole = make_user("norole", Role.AGENT, email="norole@example.com")
    norole.groups.clear()
    with time_machine.travel(at(3, 7), tick=False):
        assert sweep_digests(tasks.send_digest, day=dt.date(2026, 12, 3)) == 1
    assert list(Sent.objects.values_list("user__username", flat=True)) == ["ana"]

"""The phase ledger: a stay per phase, written with each move, and the same rows rebuilt from the moves."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from ciclo.insight.ledger import rebuild
from ciclo.insight.models import PhaseStay
from ciclo.sales.models import DayOff
from tests.insight.history import at, jump, move_on, open_at

FIELDS = (
    "ticket_id",
    "cr_id",
    "workflow_id",
    "step_id",
    "move_id",
    "entered_at",
    "entered_by_id",
    "left_at",
    "left_by_id",
    "seconds",
    "business_days",
)


def ledger() -> list[tuple]:
    return list(PhaseStay.objects.order_by("ticket_id", "entered_at", "id").values_list(*FIELDS))


@pytest.fixture
def history(sales, supervisor, admin_user):
    """Ticket A: opened Mon 2 Mar 09:00 by the supervisor, moved on Thu 5 Mar 09:00 by the admin, then
    "Não" on Mon 9 Mar 15:00 (to negotiation, where it still is). Ticket B: opened Thu 2 Apr, moved on
    Mon 6 Apr with Good Friday (3 Apr) between. Ticket C: opened, closed by a supervisor's jump."""
    a = open_at(sales, supervisor, at(2))
    move_on(a, admin_user, at(5))
    move_on(a, supervisor, at(9, 15), choices={sales.decision.pk: sales.no.pk})
    b = open_at(sales, supervisor, at(2, month=4))
    move_on(b, supervisor, at(6, month=4))
    c = open_at(sales, supervisor, at(10))
    jump(c, supervisor, sales.step_closed, at(10, 17))
    return a, b, c


def test_each_move_ends_a_stay_and_starts_one(history, sales, supervisor, admin_user):
    a, _, _ = history
    stays = list(PhaseStay.objects.filter(ticket=a).order_by("entered_at"))
    assert [s.cr_id for s in stays] == [sales.cr_prospect.pk, sales.cr_proposal.pk, sales.cr_negotiation.pk]
    prospect, proposal, negotiation = stays
    assert (prospect.entered_at, prospect.left_at) == (at(2), at(5))
    assert (prospect.entered_by, prospect.left_by) == (supervisor, admin_user)
    assert prospect.seconds == 3 * 86400
    assert prospect.business_days == 3  # Tue, Wed, Thu
    assert proposal.seconds == 4 * 86400 + 6 * 3600  # Thu 09:00 to Mon 15:00
    assert proposal.business_days == 2  # Fri, Mon
    assert negotiation.left_at is None and negotiation.seconds is None and negotiation.business_days is None
    assert negotiation.step == sales.step_negotiation and negotiation.workflow == sales.workflow
    assert negotiation.move == a.moves.order_by("-at").first()


def test_business_days_skip_national_holidays_and_days_off(history, sales):
    _, b, _ = history
    first = PhaseStay.objects.filter(ticket=b).order_by("entered_at").first()
    assert first.business_days == 1  # Good Friday, the weekend, then Monday


def test_a_days_off_of_the_company_counts_too(sales, supervisor):
    DayOff.objects.create(date=at(4).date(), company=sales.company, description="Inventário")
    t = open_at(sales, supervisor, at(2))
    move_on(t, supervisor, at(5))
    assert PhaseStay.objects.filter(ticket=t, left_at__isnull=False).get().business_days == 2


def test_a_closed_ticket_stays_in_its_closing_phase(history, sales):
    _, _, c = history
    closing = PhaseStay.objects.get(ticket=c, left_at__isnull=True)
    assert closing.cr == sales.cr_closed and closing.entered_at == at(10, 17)


def test_one_open_stay_per_ticket(history, sales, supervisor):
    a, _, _ = history
    open_stay = PhaseStay.objects.get(ticket=a, left_at__isnull=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhaseStay.objects.create(
            ticket=a,
            cr=sales.cr_prospect,
            workflow=sales.workflow,
            step=sales.step_prospect,
            move=a.moves.order_by("at")
            .first()
            .__class__.objects.create(
                ticket=a, to_step=sales.step_prospect, to_cr=sales.cr_prospect, by=supervisor, at=at(20)
            ),
            entered_at=at(20),
            entered_by=supervisor,
        )
    assert PhaseStay.objects.filter(ticket=a, left_at__isnull=True).get() == open_stay


def test_the_rebuild_equals_the_ledger_written_live(history):
    live = ledger()
    assert len(live) == 7
    PhaseStay.objects.all().delete()
    assert rebuild() == 7
    assert ledger() == live


def test_the_rebuild_replaces_a_damaged_ledger(history):
    live = ledger()
    PhaseStay.objects.filter(left_at__isnull=False).update(seconds=1, business_days=99)
    PhaseStay.objects.filter(left_at__isnull=True).first().delete()
    rebuild()
    assert ledger() == live


def test_the_command_rebuilds_with_a_progress_bar(history):
    live = ledger()
    PhaseStay.objects.all().delete()
    out, err = io.StringIO(), io.StringIO()
    call_command("insight", "rebuild", stdout=out, stderr=err)
    assert ledger() == live
    assert "7 stays written." in out.getvalue()
    assert "100%" in err.getvalue()

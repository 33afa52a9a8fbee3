"""Who may work a CR, who a ticket can be given to, which types a ticket can be opened with: each
written once (ResponsibilityCenter.objects.workable_by, access.assignable_users,
ServiceType.objects.openable), and the engine keeps to the same rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models.signals import post_save
from django.utils import timezone

from ciclo.accounts.roles import Role, role_of
from ciclo.configurator.models import ResponsibilityCenter, ServiceType
from ciclo.tickets.access import assignable_users, check_can_work, is_assignable, work_refusal
from ciclo.tickets.errors import InvalidInput, NotAllowed
from ciclo.tickets.models import Note, PhaseMove, Ticket
from ciclo.tickets.routing import record_note
from tests.factory import make_ticket, make_user


@pytest.fixture
def ticket(sales, agent):
    return make_ticket(sales, agent)


def test_who_may_work_a_cr(sales, agent, outsider, supervisor, admin_user, django_user_model):
    nobody = django_user_model.objects.create_user("nobody")
    sales.cr_proposal.members.set([agent])
    crs = ResponsibilityCenter.objects
    everything = set(crs.values_list("code", flat=True))
    assert set(crs.workable_by(agent).values_list("code", flat=True)) == everything
    assert set(crs.workable_by(outsider).values_list("code", flat=True)) == everything - {"2"}
    assert set(crs.workable_by(supervisor).values_list("code", flat=True)) == everything
    assert set(crs.workable_by(admin_user).values_list("code", flat=True)) == everything
    assert not crs.workable_by(nobody).exists()


def test_the_engine_and_the_page_keep_to_who_may_work_the_cr(sales, agent, outsider, supervisor, ticket):
    sales.cr_prospect.members.set([agent])
    check_can_work(agent, ticket)
    check_can_work(supervisor, ticket)
    with pytest.raises(NotAllowed):
        check_can_work(outsider, ticket)
    assert "Prospecção" in work_refusal(outsider, ticket) and work_refusal(agent, ticket) == ""
    with pytest.raises(NotAllowed):
        record_note(ticket, by=outsider, text="Liguei")


def test_assignable_users_are_the_active_users_with_a_role(agent, supervisor, admin_user, django_user_model):
    django_user_model.objects.create_user("no_role")
    root = django_user_model.objects.create_superuser("root_no_groups")
    make_user("gone", Role.AGENT, is_active=False)
    assignable = list(assignable_users())
    assert [u.username for u in assignable] == sorted(["agent_t", "supervisor_t", "admin_t", "root_no_groups"])
    assert root in assignable
    everyone = django_user_model.objects.all()
    assert {u.pk for u in everyone if is_assignable(u)} == {u.pk for u in assignable}
    assert {u.pk for u in everyone if role_of(u) is not None} == {u.pk for u in assignable}


def test_a_ticket_is_not_given_to_a_user_without_a_role(sales, agent, ticket, django_user_model):
    no_role = django_user_model.objects.create_user("no_role")
    with pytest.raises(InvalidInput) as err:
        record_note(ticket, by=agent, text="Liguei", next_contact_user=no_role)
    assert set(err.value.errors) == {"next_contact_user"}
    with pytest.raises(InvalidInput) as err:
        make_ticket(sales, agent, next_contact_user=no_role)
    assert set(err.value.errors) == {"next_contact_user"}
    assert Note.objects.filter(ticket=ticket).count() == 1


@pytest.mark.parametrize(
    ("changes", "openable"),
    [
        ({}, True),
        ({"active_from": dt.date(2026, 1, 1)}, True),
        ({"active_from": dt.date(2026, 3, 1)}, False),
        ({"active": False}, False),
        ({"workflow": None}, False),
        ({"kind": ServiceType.Kind.SYNTHETIC}, False),
    ],
)
def test_openable_types_and_the_engine_agree(sales, changes, openable):
    on = dt.date(2026, 2, 1)
    ServiceType.objects.filter(pk=sales.type.pk).update(**changes)
    service_type = ServiceType.objects.get(pk=sales.type.pk)
    assert ServiceType.objects.openable(on).filter(pk=service_type.pk).exists() is openable
    assert (service_type.opening_refusal(on) == "") is openable


def test_the_new_ticket_form_offers_only_openable_types(client, sales, agent):
    ServiceType.objects.create(code="1.2", description="Inativo", workflow=sales.workflow, active=False)
    later = timezone.localdate() + dt.timedelta(days=3)
    ServiceType.objects.create(code="1.3", description="Futuro", workflow=sales.workflow, active_from=later)
    client.force_login(agent)
    offered = client.get("/tickets/new/").context["form"].fields["service_type"].queryset
    assert list(offered) == list(ServiceType.objects.openable()) == [sales.type]


def test_the_engines_writes_send_the_models_signals(sales, agent):
    """Written through the ORM, the engine's rows send post_save like any model's."""
    saved: list[type] = []

    def receiver(sender: type, **kwargs: object) -> None:
        saved.append(sender)

    for model in (Ticket, Note, PhaseMove):
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"test-{model.__name__}")
    try:
        ticket = make_ticket(sales, agent)
        record_note(ticket, by=agent, text="Liguei")
    finally:
        for model in (Ticket, Note, PhaseMove):
            post_save.disconnect(sender=model, dispatch_uid=f"test-{model.__name__}")
    assert saved == [Ticket, Note, PhaseMove, Note, Ticket]  # opened; a note recorded

"""`ciclo demo`: a realistic Brazilian demo, loaded once however often it runs.

Its configuration is a definitions bundle loaded through the import, its tickets are made through the engine.

The demo is loaded once for the module (it takes seconds) inside a transaction
that is rolled back when the module ends; each test runs in a savepoint of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone, translation

from ciclo.accounts.roles import Role, role_of
from ciclo.configurator.definitions import canonical, export_bundle, parse
from ciclo.configurator.models import (
    AnswerType,
    CrmOptions,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.configurator.specs import validate_workflow
from ciclo.demo_data import DAYS_BACK, DEMO_PASSWORD, TICKETS, definitions_text, person_defs
from ciclo.history.models import Change
from ciclo.people.documents import is_valid_cnpj, is_valid_cpf
from ciclo.people.models import Company, Person
from ciclo.tickets.models import (
    Answer,
    AnswerRevision,
    CrUnlock,
    MoveDecision,
    Note,
    PhaseMove,
    Ticket,
)


def _run_demo(**options: Any) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("demo", force=True, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _state() -> dict[str, tuple[int, Any]]:
    """Count and highest id of every model: any row written would change one of them (a model keyed by
    uuid, which has no order, by its count and its set of keys)."""
    state: dict[str, tuple[int, Any]] = {}
    for model in apps.get_models():
        rows = model._default_manager
        if isinstance(model._meta.pk, models.UUIDField):
            state[model._meta.label] = (rows.count(), frozenset(rows.values_list("pk", flat=True)))
        else:
            state[model._meta.label] = (rows.count(), rows.aggregate(m=Max("pk"))["m"])
    return state


@dataclass
class Loaded:
    first: str
    second: str
    before: dict[str, tuple[int, Any]]
    after: dict[str, tuple[int, Any]]
    existing_cr: int


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[Loaded]:
    with django_db_blocker.unblock(), transaction.atomic():
        # Part of the configuration is already there: the demo must use it, not duplicate it.
        existing = ResponsibilityCenter.objects.create(
            code="3.92", description="Enviada ao jurídico", closes_process=True
        )
        first = _run_demo()
        before = _state()
        second = _run_demo()
        after = _state()
        yield Loaded(first, second, before, after, existing.pk)
        transaction.set_rollback(True)


@pytest.fixture
def loaded(demo: Loaded, db: None) -> Loaded:
    return demo


def test_running_it_again_changes_nothing_and_says_so(loaded: Loaded) -> None:
    assert loaded.after == loaded.before
    assert "The demo is already loaded: nothing changed." in loaded.second
    assert "Loaded" not in loaded.second


def test_a_second_run_writes_no_history_row(loaded: Loaded) -> None:
    assert loaded.after["history.Change"] == loaded.before["history.Change"]


def test_the_configuration_is_the_bundle_with_its_members(loaded: Loaded) -> None:
    bundle = canonical(parse(definitions_text()))
    members = {c["code"]: c.pop("members") for c in bundle["responsibility_centers"] if "members" in c}

    assert export_bundle() == bundle  # the export leaves members out: they are usernames
    assert members == {
        code: sorted(ResponsibilityCenter.objects.get(code=code).members.values_list("username", flat=True))
        for code in members
    }


def test_each_definition_it_made_has_its_history_row_by_the_admin(loaded: Loaded) -> None:
    admin = User.objects.get(username="admin")
    created = Change.objects.filter(action=Change.Action.CREATED, by=admin)
    for model in (ResponsibilityCenter, Workflow, ServiceCycle, ServiceType):
        made = {str(pk) for pk in model._default_manager.values_list("pk", flat=True)}
        if model is ResponsibilityCenter:
            made.remove(str(loaded.existing_cr))  # it was there before the demo: found, not made
        recorded = created.filter(content_type=ContentType.objects.get_for_model(model))
        assert set(recorded.values_list("object_id", flat=True)) == made, model
    options = Change.objects.get(content_type=ContentType.objects.get_for_model(CrmOptions))
    assert options.by == admin
    assert options.changes["collection_analytical_type"] == [None, ServiceType.objects.get(code="3.1").pk]


def test_it_puts_an_edited_definition_back_as_the_bundle_has_it(loaded: Loaded) -> None:
    ResponsibilityCenter.objects.filter(code="1.02").update(description="Proposta")
    last = Change.objects.aggregate(last=Max("pk"))["last"]

    output = _run_demo()

    assert "1 demo definition put back as the demo's file has it." in output
    assert ResponsibilityCenter.objects.get(code="1.02").description == "Proposta enviada"
    [change] = Change.objects.filter(pk__gt=last)
    assert change.changes["description"] == ["Proposta", "Proposta enviada"]
    assert change.by == User.objects.get(username="admin")


def test_the_first_run_says_what_it_loaded_and_shows_the_logins(loaded: Loaded) -> None:
    assert f"Loaded {TICKETS} tickets:" in loaded.first
    assert "Created: " in loaded.first
    for output in (loaded.first, loaded.second):
        for username in ("admin", "supervisor", "agente1", "agente2"):
            assert f"{username} / {DEMO_PASSWORD}" in output


def test_it_completes_an_existing_configuration_without_duplicating_it(loaded: Loaded) -> None:
    assert list(ResponsibilityCenter.objects.filter(code="3.92").values_list("pk", flat=True)) == [loaded.existing_cr]
    assert Ticket.objects.filter(cr_id=loaded.existing_cr).exists()


def test_it_fills_missing_crm_options_without_loading_tickets_again(loaded: Loaded) -> None:
    CrmOptions.objects.update(collection_synthetic_type=None, collection_analytical_type=None)
    tickets = Ticket.objects.count()

    output = _run_demo()

    options = CrmOptions.current()
    assert options.collection_synthetic_type.code == "3"  # type: ignore[union-attr]
    assert options.collection_analytical_type.code == "3.1"  # type: ignore[union-attr]
    assert options.collection_days_overdue == 5
    assert Ticket.objects.count() == tickets
    assert "Created: 1 CRM options." in output
    assert "Loaded" not in output


def test_it_refuses_to_run_with_debug_off_unless_forced(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"), translation.override("en"):
        call_command("demo", stdout=StringIO())


def test_the_four_users_exist_with_their_roles_and_the_demo_password(loaded: Loaded) -> None:
    roles = {
        u.username: role_of(u) for u in User.objects.filter(username__in=["admin", "supervisor", "agente1", "agente2"])
    }
    assert roles == {"admin": Role.ADMIN, "supervisor": Role.SUPERVISOR, "agente1": Role.AGENT, "agente2": Role.AGENT}
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password(DEMO_PASSWORD)
    assert all(u.email.endswith("@exemplo.com.br") and u.first_name and u.last_name for u in User.objects.all())


def test_agents_are_members_of_their_crs_and_closing_crs_have_none(loaded: Loaded) -> None:
    agente1, agente2 = User.objects.get(username="agente1"), User.objects.get(username="agente2")
    assert set(agente1.responsibility_centers.values_list("code", flat=True)) == {"1.01", "1.02", "1.03"}
    assert set(agente2.responsibility_centers.values_list("code", flat=True)) == {"2.01", "2.02", "2.03"}
    closing = ResponsibilityCenter.objects.filter(closes_process=True)
    assert closing.count() >= 3
    assert not closing.filter(members__isnull=False).exists()


def test_two_companies_with_valid_cnpjs(loaded: Loaded) -> None:
    companies = list(Company.objects.filter(code__in=["01", "02"]))
    assert len(companies) == 2
    assert all(is_valid_cnpj(c.cnpj) for c in companies)


def test_every_workflow_and_service_type_validates(loaded: Loaded) -> None:
    for code in ("vendas", "suporte", "cobranca"):
        workflow = Workflow.objects.get(code=code)
        assert validate_workflow(workflow) == []
        assert all(order % 5 == 0 for order in workflow.steps.values_list("order", flat=True))
        assert workflow.steps.filter(kind=WorkflowStep.Kind.DECISION).exists()
    types = ServiceType.objects.filter(code__in=["1", "1.1", "1.2", "2", "2.1", "2.2", "3", "3.1"])
    assert types.count() == 8
    for service_type in types:
        service_type.full_clean()
    assert {t.category for t in types} == set(ServiceType.Category.values)
    options = CrmOptions.current()
    assert (options.collection_synthetic_type.code, options.collection_analytical_type.code) == ("3", "3.1")  # type: ignore[union-attr]


def test_the_sales_decision_routes_to_won_and_to_negotiation(loaded: Loaded) -> None:
    decision = WorkflowStep.objects.get(workflow__code="vendas", question="O cliente aceitou a proposta?")
    steps = {s.order: s for s in WorkflowStep.objects.filter(workflow__code="vendas").select_related("cr")}
    targets = {o.label: steps[o.target_order].cr.description for o in decision.options.all()}  # type: ignore[union-attr]
    assert targets == {"Sim": "Venda ganha", "Não": "Negociação"}


def test_the_sales_cycle_asks_every_answer_type(loaded: Loaded) -> None:
    questions = Question.objects.filter(cycle__code="ciclo-vendas")
    assert set(questions.values_list("answer_type", flat=True)) == set(AnswerType.values)
    assert questions.filter(required=True).exists()
    assert questions.filter(options__checked_by_default=True).exists()
    assert questions.filter(options__asks_complement=True).exists()


def test_people_have_valid_documents_and_contacts(loaded: Loaded) -> None:
    people = Person.objects.filter(document__in=[d.document for d in person_defs()])
    assert people.count() >= 200
    for person in people:
        if person.kind == Person.Kind.INDIVIDUAL:
            assert is_valid_cpf(person.document), person
        else:
            assert is_valid_cnpj(person.document), person
        assert " " in person.name and person.city and len(person.state) == 2
    assert people.filter(kind=Person.Kind.LEGAL, contacts__isnull=False).exists()
    assert people.filter(kind=Person.Kind.INDIVIDUAL).count() > people.filter(kind=Person.Kind.LEGAL).count() > 0
    assert people.filter(phones__isnull=False).distinct().count() == people.count()
    assert people.filter(emails__isnull=False).exists()


def test_tickets_sit_in_every_phase_of_every_workflow(loaded: Loaded) -> None:
    assert Ticket.objects.count() >= TICKETS
    for step in WorkflowStep.objects.filter(workflow__code__in=["vendas", "suporte", "cobranca"], kind="cr"):
        assert Ticket.objects.filter(workflow=step.workflow, cr=step.cr).exists(), step
    assert Ticket.objects.open().exists()
    assert Ticket.objects.closed().filter(closed_at__isnull=False).exists()
    assert set(Ticket.objects.values_list("service_type__code", flat=True)) == {"1.1", "1.2", "2.1", "2.2", "3.1"}


def test_tickets_carry_notes_moves_decisions_and_answer_history(loaded: Loaded) -> None:
    assert Note.objects.filter(kind=Note.Kind.CONTACT).count() > Ticket.objects.count()
    assert PhaseMove.objects.filter(kind=PhaseMove.Kind.MOVE).exists()
    assert PhaseMove.objects.filter(kind=PhaseMove.Kind.JUMP).exists()  # supervisor moves
    assert PhaseMove.objects.exclude(overrode_required=[]).exists()
    assert MoveDecision.objects.exists()
    assert set(Answer.objects.values_list("answer_type", flat=True)) == set(AnswerType.values)
    assert Answer.objects.filter(choices__complement__gt="").exists()
    assert AnswerRevision.objects.filter(version__gte=3).exists()  # some answers changed twice
    assert CrUnlock.objects.exists()


def test_dates_spread_over_the_last_months_and_next_contacts_around_today(loaded: Loaded) -> None:
    now = timezone.now()
    opened = list(Ticket.objects.values_list("opened_at", flat=True))
    assert min(opened) >= now - dt.timedelta(days=DAYS_BACK + 4)
    assert max(opened) <= now
    assert len({(now - at).days // 30 for at in opened}) >= 4
    assert not Note.objects.filter(created_at__gt=now).exists()

    today = timezone.localdate()
    due = [timezone.localdate(at) for at in Ticket.objects.open().values_list("next_contact_at", flat=True)]
    assert any(d < today for d in due)
    assert any(d == today for d in due)
    assert any(d > today for d in due)
    users = set(Ticket.objects.open().values_list("next_contact_user__username", flat=True))
    assert users == {"agente1", "agente2", "supervisor"}


def test_the_insight_summaries_it_leaves_equal_a_recount(loaded: Loaded) -> None:
    """The demo writes through the engine: every summary the dashboards read was kept as it went."""
    from ciclo.insight import summaries

    kept = summaries.stored()
    assert all(kept[name] for name in ("PhaseTally", "OpenTally", "AnswerTally", "NoteTally", "SalesTally"))
    assert kept == summaries.counted(summaries.recount())

"""A plain factory for tests: make_* functions with sensible defaults, overridable by keyword."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import User

from ciclo.accounts.roles import Role, set_role
from ciclo.configurator.models import (
    AnswerType,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.people.documents import cnpj_check_digits, cpf_check_digits
from ciclo.people.models import Company, Person
from ciclo.tickets.models import Ticket
from ciclo.tickets.opening import open_ticket

_seq = itertools.count(1)


def make_user(username: str | None = None, role: Role = Role.AGENT, **kw: Any) -> User:
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(username=username, password="ciclo-test-pw", **kw)
    set_role(user, role)
    return user


def make_cpf() -> str:
    return cpf_check_digits(f"{next(_seq) + 100000000:09d}")


def make_cnpj() -> str:
    return cnpj_check_digits(f"{next(_seq) + 10000000:08d}0001")


def make_person(**kw: Any) -> Person:
    kw.setdefault("name", f"Pessoa {next(_seq)}")
    kw.setdefault("document", make_cpf())
    return Person.objects.create(**kw)


def make_company(**kw: Any) -> Company:
    n = next(_seq)
    kw.setdefault("code", f"E{n}")
    kw.setdefault("name", f"Empresa {n}")
    return Company.objects.create(**kw)


def make_cr(code: str | None = None, **kw: Any) -> ResponsibilityCenter:
    code = code or f"{next(_seq)}"
    kw.setdefault("description", f"CR {code}")
    return ResponsibilityCenter.objects.create(code=code, **kw)


class SalesSetup:
    """A sales workflow with a decision, a cycle with every answer type, and an analytical type.

    Workflow "vendas":
      0  CR 1 Prospecção           → 5
      5  CR 2 Proposta enviada     → 10
      10 decision "Fechou negócio?"  Sim → 20, Não → 15
      15 CR 3 Negociação           → 10
      20 CR 9 Encerrado (closes)
    """

    def __init__(self) -> None:
        self.cr_prospect = make_cr("1", description="Prospecção")
        self.cr_proposal = make_cr("2", description="Proposta enviada")
        self.cr_negotiation = make_cr("3", description="Negociação")
        self.cr_closed = make_cr("9", description="Encerrado", closes_process=True)
        self.workflow = Workflow.objects.create(code="vendas", description="Vendas")
        w = self.workflow
        self.step_prospect = WorkflowStep.objects.create(
            workflow=w, order=0, kind="cr", cr=self.cr_prospect, next_order=5
        )
        self.step_proposal = WorkflowStep.objects.create(
            workflow=w, order=5, kind="cr", cr=self.cr_proposal, next_order=10
        )
        self.decision = WorkflowStep.objects.create(workflow=w, order=10, kind="decision", question="Fechou negócio?")
        self.yes = DecisionOption.objects.create(step=self.decision, label="Sim", target_order=20, position=1)
        self.no = DecisionOption.objects.create(step=self.decision, label="Não", target_order=15, position=2)
        self.step_negotiation = WorkflowStep.objects.create(
            workflow=w, order=15, kind="cr", cr=self.cr_negotiation, next_order=10
        )
        self.step_closed = WorkflowStep.objects.create(workflow=w, order=20, kind="cr", cr=self.cr_closed)
        self.cycle = ServiceCycle.objects.create(code="ciclo-vendas", description="Ciclo de vendas")
        c = self.cycle
        cr1 = self.cr_prospect
        self.q_text = Question.objects.create(
            cycle=c, cr=cr1, code="1.01", text="Contato", answer_type=AnswerType.SHORT_TEXT
        )
        self.q_memo = Question.objects.create(
            cycle=c, cr=cr1, code="1.02", text="Necessidade", answer_type=AnswerType.LONG_TEXT
        )
        self.q_number = Question.objects.create(
            cycle=c, cr=cr1, code="1.03", text="Funcionários", answer_type=AnswerType.NUMBER, min_value=0
        )
        self.q_money = Question.objects.create(
            cycle=c, cr=cr1, code="1.04", text="Orçamento", answer_type=AnswerType.MONEY
        )
        self.q_date = Question.objects.create(
            cycle=c, cr=cr1, code="1.05", text="Data da visita", answer_type=AnswerType.DATE
        )
        self.q_time = Question.objects.create(
            cycle=c, cr=cr1, code="1.06", text="Hora da visita", answer_type=AnswerType.TIME
        )
        self.q_single = Question.objects.create(
            cycle=c, cr=cr1, code="1.07", text="Origem", answer_type=AnswerType.SINGLE_CHOICE, required=True
        )
        self.o_site = Option.objects.create(question=self.q_single, label="Site", position=1)
        self.o_referral = Option.objects.create(
            question=self.q_single, label="Indicação", position=2, asks_complement=True
        )
        self.q_multi = Question.objects.create(
            cycle=c, cr=cr1, code="1.08", text="Interesses", answer_type=AnswerType.MULTIPLE_CHOICE
        )
        self.o_erp = Option.objects.create(question=self.q_multi, label="ERP", position=1, checked_by_default=True)
        self.o_crm = Option.objects.create(question=self.q_multi, label="CRM", position=2)
        self.o_other = Option.objects.create(question=self.q_multi, label="Outro", position=3, asks_complement=True)
        self.q_proposal = Question.objects.create(
            cycle=c, cr=self.cr_proposal, code="2.01", text="Valor da proposta", answer_type=AnswerType.MONEY
        )
        self.q_closed = Question.objects.create(
            cycle=c, cr=self.cr_closed, code="9.01", text="Avaliação", answer_type=AnswerType.SHORT_TEXT
        )
        self.group = ServiceType.objects.create(code="1", description="Vendas", kind=ServiceType.Kind.SYNTHETIC)
        self.type = ServiceType.objects.create(
            code="1.1",
            description="Venda nova",
            kind=ServiceType.Kind.ANALYTICAL,
            category=ServiceType.Category.SALES,
            workflow=w,
            cycle=c,
            days_to_next_contact=2,
            priority=2,
        )
        self.company = make_company()


def make_ticket(setup: SalesSetup, by: User, **kw: Any) -> Ticket:
    kw.setdefault("person", make_person())
    kw.setdefault("service_type", setup.type)
    kw.setdefault("subject", "Interesse no ERP")
    kw.setdefault("company", setup.company)
    return open_ticket(by=by, **kw)

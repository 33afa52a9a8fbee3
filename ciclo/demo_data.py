"""A realistic Brazilian demo: its configuration, people and tickets, loaded idempotently.

The configuration (CRs, workflows, cycles, service types) is the definitions bundle
``ciclo/definitions/demo.yaml``, loaded through the definitions import as the demo's
admin: every item passes the configurator's rules and gets its history row, and
importing it over a configuration that already matches changes nothing. Users and
companies are found by username and code, people by their CPF/CNPJ; only the
missing ones are made, people through ``create_person``. Tickets are made only
through the engine (open_ticket, record_note, move_to_step, save_answers,
unlock_phase), so they carry the notes, moves, decisions and answer history a real
one would; they are loaded once: when the demo people already have the demo's
tickets, none are made.

Everything random comes from seeded generators, so two loads on the same day
make the same demo; dates are spread over the last DAYS_BACK days before now.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from ciclo.accounts.roles import Role, set_role
from ciclo.agenda.appointments import create_appointment
from ciclo.agenda.models import Appointment
from ciclo.configurator.changes import ConfigurationInvalid, save_crm_options
from ciclo.configurator.definitions import DefinitionsInvalid, apply_import, parse
from ciclo.configurator.models import (
    AnswerType,
    CrmOptions,
    DecisionOption,
    Option,
    Question,
    ResponsibilityCenter,
    ServiceCycle,
    ServiceType,
    Workflow,
    WorkflowStep,
)
from ciclo.history.models import Change, record_change
from ciclo.people.changes import create_person
from ciclo.people.documents import cnpj_check_digits, cpf_check_digits
from ciclo.people.models import Company, ContactPerson, Email, Person, Phone
from ciclo.people.text import fold
from ciclo.sales.contacts import OutcomeInput, update_sales_fields
from ciclo.sales.models import Environment, LostReason, Outcome
from ciclo.tickets.answering import AnswerInput, unlock_phase
from ciclo.tickets.answering import save_answers as engine_save_answers
from ciclo.tickets.errors import TicketError
from ciclo.tickets.models import Channel, Ticket
from ciclo.tickets.opening import open_ticket
from ciclo.tickets.routing import move_to_step, record_note

T = TypeVar("T")

# Shown by `ciclo demo` and `make run`: these accounts are for a demo only.
DEMO_PASSWORD = "ciclo-demo"
DEFINITIONS = "definitions/demo.yaml"  # in the ciclo package
INDIVIDUALS = 140
LEGAL_ENTITIES = 60
TICKETS = 500
DAYS_BACK = 120
PEOPLE_SEED = 2024_0501
TICKETS_SEED = 2024_0917
MAX_EVENTS = 8
FORGOTTEN = 0.05  # the chance, at each contact, that a ticket is left aside (its next contact goes stale)
# Sales details are drawn from a generator of their own, so the tickets' lives stay as they were.
SALES_SEED = 2026_1120
ENVIRONMENTS = ["Planilhas", "ERP concorrente", "Sistema próprio", "Nenhum sistema", "ERP desatualizado"]
LOST_REASONS = ["Preço", "Escolheu um concorrente", "Sem orçamento neste ano", "Projeto adiado", "Sem resposta"]
SALES_LOST_CR = "1.92"  # the demo's "Venda perdida": a sale closed there is lost, anywhere else won
WON_TEXTS = ["Contrato assinado.", "Fechou com desconto à vista.", "Implantação começa no mês que vem."]
LOST_TEXTS = ["Cliente não respondeu mais.", "Preferiu ficar com o sistema atual.", "Orçamento cortado."]


class DemoError(Exception):
    """The demo cannot be loaded (a refused definition, a refusal of the engine)."""


# ---------------------------------------------------------------------------
# Users and the user's own company (Portuguese data: what a Brazilian company would have)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserDef:
    username: str
    first_name: str
    last_name: str
    role: Role


# The bundle names agente1 and agente2 as members of their CRs: they are made before it is imported.
USERS = [
    UserDef("admin", "Helena", "Duarte", Role.ADMIN),
    UserDef("supervisor", "Roberto", "Azevedo", Role.SUPERVISOR),
    UserDef("agente1", "Camila", "Nogueira", Role.AGENT),
    UserDef("agente2", "Diego", "Figueiredo", Role.AGENT),
]

# The user's own company: one CNPJ root, the head office (0001) and a branch (0002).
_COMPANY_ROOT = "45987321"
COMPANIES = [
    ("01", "Aurora Sistemas de Gestão Ltda — Matriz São Paulo", cnpj_check_digits(f"{_COMPANY_ROOT}0001")),
    ("02", "Aurora Sistemas de Gestão Ltda — Filial Campinas", cnpj_check_digits(f"{_COMPANY_ROOT}0002")),
]

# The bundle's collection types, set in the CRM options.
COLLECTION_SYNTHETIC, COLLECTION_ANALYTICAL = "3", "3.1"
# The configuration the bundle makes, as the load reports what it created.
CONFIGURATION = (
    ResponsibilityCenter,
    Workflow,
    WorkflowStep,
    DecisionOption,
    ServiceCycle,
    Question,
    Option,
    ServiceType,
)

# ---------------------------------------------------------------------------
# How the simulated agents work the bundle's configuration
# ---------------------------------------------------------------------------

# How often each decision's options are taken, by (workflow, step order): label → weight.
DECISIONS: dict[tuple[str, int], dict[str, float]] = {
    ("vendas", 10): {"Sim": 0.4, "Não": 0.6},
    ("vendas", 20): {"Sim, venda fechada": 0.35, "Enviar nova proposta": 0.25, "Não": 0.4},
    ("suporte", 10): {"Sim": 0.7, "Não, aguardar retorno do cliente": 0.3},
    ("cobranca", 10): {"Sim": 0.55, "Não": 0.45},
    ("cobranca", 20): {"Sim": 0.8, "Não, renegociar": 0.2},
    ("cobranca", 25): {"Sim": 0.6, "Não, enviar ao jurídico": 0.4},
}

# Text answers to pick from, by (cycle, question code); any other text question gets NOTES_ANY.
TEXTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ciclo-vendas", "1.05"): (
        "Hoje controla o estoque em planilhas e perde vendas por falta de produto.",
        "Precisa emitir NF-e e boletos no mesmo sistema; o atual não integra com o banco.",
        "Quer acompanhar as vendas das três lojas em tempo real.",
        "Troca de sistema: o fornecedor atual encerrou o suporte.",
        "Abertura de filial em Campinas; precisa de um sistema multiempresa.",
    ),
    ("ciclo-vendas", "1.06"): (
        "Sr. Antônio (sócio)",
        "Dona Márcia, diretora",
        "Carlos, gerente financeiro",
        "Fernanda (TI)",
    ),
    ("ciclo-vendas", "3.03"): (
        "Cliente pede 10% de desconto para fechar ainda este mês.",
        "Aceita o valor se a implantação for feita em duas semanas.",
        "Vai comparar com a proposta do concorrente e retorna na sexta.",
    ),
    ("ciclo-vendas", "5.02"): ("Totvs", "Omie", "Bling", "Nenhum"),
    ("ciclo-suporte", "1.02"): (
        "Ao transmitir a NF-e aparece a rejeição 539 (duplicidade de NF-e).",
        "O fechamento do caixa demora mais de dez minutos desde a última atualização.",
        "O arquivo de retorno do banco não baixa os boletos pagos.",
        "O relatório de estoque mostra saldo diferente da contagem física.",
        "Usuário novo não consegue entrar: mensagem de senha expirada.",
        "Dúvida sobre como cadastrar uma tabela de preços promocional.",
    ),
    ("ciclo-suporte", "1.03"): ("8.4.2", "8.4.3", "8.5.0", "8.5.1"),
    ("ciclo-suporte", "2.01"): (
        "Certificado digital vencido no servidor do cliente.",
        "Índice do banco de dados corrompido; reconstruído.",
        "Configuração do layout CNAB 240 incorreta.",
        "Parâmetro de custo médio alterado por engano.",
    ),
    ("ciclo-suporte", "4.02"): (
        "Atualizado para a versão 8.5.1 e reprocessadas as notas.",
        "Reinstalado o certificado A1 e testada a transmissão.",
        "Orientado o usuário por acesso remoto.",
    ),
    ("ciclo-cobranca", "5.01"): (
        "Devedor não responde há 60 dias.",
        "Endereço confirmado; enviar notificação extrajudicial.",
    ),
}

# The range answered, by (cycle, question code): numbers and money, the values; dates, days from the contact.
SPANS: dict[tuple[str, str], tuple[float, float]] = {
    ("ciclo-vendas", "1.03"): (3, 400),
    ("ciclo-vendas", "1.04"): (800, 25000),
    ("ciclo-vendas", "1.07"): (1, 15),
    ("ciclo-vendas", "2.01"): (1500, 60000),
    ("ciclo-vendas", "2.02"): (15, 30),
    ("ciclo-vendas", "2.04"): (10, 90),
    ("ciclo-vendas", "3.01"): (3, 25),
    ("ciclo-vendas", "4.01"): (1200, 55000),
    ("ciclo-vendas", "4.02"): (0, 7),
    ("ciclo-suporte", "2.02"): (0.5, 8),
    ("ciclo-cobranca", "1.03"): (150, 18000),
    ("ciclo-cobranca", "2.01"): (150, 15000),
    ("ciclo-cobranca", "2.02"): (1, 12),
    ("ciclo-cobranca", "2.03"): (2, 20),
    ("ciclo-cobranca", "4.01"): (-3, 0),
    ("ciclo-cobranca", "4.02"): (150, 15000),
}


@dataclass(frozen=True)
class Pick:
    """How often an option is chosen (single choice), and the complements written when it asks for one."""

    weight: float = 1.0
    complements: tuple[str, ...] = ()


# By (cycle, question code), then the option's label; an option not listed: weight 1, complements NOTES_ANY.
PICKS: dict[tuple[str, str], dict[str, Pick]] = {
    ("ciclo-vendas", "1.01"): {
        "Site / Google": Pick(3),
        "Indicação de cliente": Pick(
            2, ("Indicado pela Padaria Bom Pão", "Indicação do contador", "Cliente da filial")
        ),
        "Feira ou evento": Pick(1, ("Feira do Varejo 2024", "Expo ERP")),
        "Redes sociais": Pick(1.5),
        "Outro": Pick(0.5, ("Anúncio no rádio", "Panfleto")),
    },
    ("ciclo-vendas", "1.02"): {"Outro": Pick(1, ("Aplicativo de força de vendas", "E-commerce"))},
    ("ciclo-vendas", "2.03"): {
        "À vista": Pick(2),
        "Boleto 30/60/90 dias": Pick(2),
        "Outra": Pick(0.5, ("PIX parcelado", "Permuta parcial")),
    },
    ("ciclo-vendas", "3.02"): {"Concorrente": Pick(1, ("Totvs", "Omie", "Bling", "Sistema local"))},
    ("ciclo-vendas", "5.01"): {
        "Preço": Pick(3),
        "Concorrência": Pick(2, ("Fechou com a Totvs", "Omie")),
        "Sem orçamento": Pick(2),
        "Outro": Pick(0.5, ("Empresa foi vendida",)),
    },
    ("ciclo-suporte", "1.01"): {
        "Financeiro": Pick(2),
        "Fiscal (NF-e, SPED)": Pick(3),
        "Estoque": Pick(2),
        "Vendas / PDV": Pick(2),
        "Outro": Pick(0.5, ("Integração com o e-commerce",)),
    },
    ("ciclo-suporte", "3.01"): {"Outro": Pick(1, ("Backup do banco", "Senha do certificado"))},
    ("ciclo-suporte", "4.01"): {
        "Muito satisfeito": Pick(3),
        "Satisfeito": Pick(4),
        "Insatisfeito": Pick(0.7, ("Demorou muito",)),
    },
    ("ciclo-cobranca", "1.01"): {"Sim": Pick(4), "Não": Pick(1, ("Telefone não atende", "Número inexistente"))},
    ("ciclo-cobranca", "1.02"): {
        "Dificuldade financeira": Pick(3),
        "Esquecimento": Pick(2),
        "Discorda da cobrança": Pick(1, ("Diz que já pagou",)),
        "Outro": Pick(0.5, ("Boleto não chegou",)),
    },
    ("ciclo-cobranca", "3.01"): {"Boleto": Pick(3), "PIX": Pick(3)},
}

# How the demo's tickets spread over the analytical types.
TYPE_MIX = {"1.1": 0.30, "1.2": 0.16, "2.1": 0.20, "2.2": 0.12, "3.1": 0.22}

SUBJECTS = {
    "1.1": (
        "Interesse no ERP para {n} lojas",
        "Cotação do módulo fiscal (NF-e)",
        "Pedido de demonstração do sistema",
        "Proposta para controle de estoque",
        "Interesse no CRM para a equipe de vendas",
        "Orçamento de BI e relatórios gerenciais",
        "Troca de sistema: migração de dados",
    ),
    "1.2": (
        "Renovação do contrato anual",
        "Renovação com ampliação para {n} usuários",
        "Reajuste do contrato de manutenção",
        "Renovação antecipada com desconto",
    ),
    "2.1": (
        "Erro ao transmitir NF-e",
        "Sistema lento no fechamento do caixa",
        "Falha no retorno bancário (CNAB)",
        "Saldo de estoque divergente",
        "Usuário bloqueado sem acesso",
        "PDV não imprime o cupom",
    ),
    "2.2": (
        "Como cadastrar tabela de preços promocional",
        "Dúvida sobre apuração do ICMS-ST",
        "Como gerar o SPED Fiscal",
        "Configurar permissões de usuário",
        "Como emitir carta de correção",
    ),
    "3.1": (
        "Cobrança de {n} título(s) vencido(s)",
        "Duplicata vencida há {d} dias",
        "Boleto em atraso — parcela {n}/6",
    ),
}

OPENING_NOTES = {
    "1.1": (
        "Cliente entrou em contato pelo site pedindo informações.",
        "Lead recebido da campanha de e-mail.",
        "Indicação de cliente; primeiro contato feito por telefone.",
        "Visitou nosso estande na feira e pediu contato.",
    ),
    "1.2": ("Contrato vence em 30 dias; iniciada a renovação.", "Cliente pediu proposta de renovação."),
    "2.1": ("Cliente relatou o problema por telefone.", "Chamado aberto pelo portal do cliente."),
    "2.2": ("Cliente ligou com dúvida de uso.", "Dúvida recebida por e-mail."),
    "3.1": ("Títulos vencidos identificados no contas a receber.", "Cobrança aberta: vencimento sem pagamento."),
}
NOTES_STAY = {
    "1.01": (
        "Primeiro contato por telefone; cliente demonstrou interesse.",
        "Enviado material institucional por e-mail.",
        "Cliente pediu para retornar na próxima semana.",
        "Agendada visita para apresentar o sistema.",
        "Conversei com o sócio; vai avaliar com o contador.",
    ),
    "1.02": (
        "Cliente recebeu a proposta e está analisando.",
        "Tirei dúvidas sobre a implantação.",
        "Sem retorno; deixei recado com a secretária.",
        "Cliente pediu detalhamento dos valores por módulo.",
    ),
    "1.03": (
        "Cliente pediu desconto; levei à diretoria.",
        "Negociando prazo de pagamento.",
        "Cliente comparando com proposta do concorrente.",
    ),
    "2.01": (
        "Chamado registrado; aguardando análise.",
        "Cliente enviou prints do erro.",
        "Coletados os logs do sistema.",
    ),
    "2.02": (
        "Acesso remoto realizado; problema reproduzido.",
        "Encaminhado ao desenvolvimento para análise.",
        "Aplicado paliativo; acompanhando.",
    ),
    "2.03": ("Aguardando o cliente enviar o arquivo XML.", "Cliente ainda não liberou o acesso remoto."),
    "3.01": (
        "Ligação sem sucesso; deixado recado.",
        "Enviado lembrete por WhatsApp.",
        "Devedor atendeu e pediu a segunda via do boleto.",
    ),
    "3.02": (
        "Devedor propôs parcelar em três vezes.",
        "Enviada simulação de parcelamento.",
        "Devedor vai confirmar a proposta até sexta.",
    ),
    "3.03": ("Primeira parcela do acordo paga.", "Lembrete de vencimento da parcela enviado."),
}
NOTES_MOVE = {
    "1.01": ("Proposta comercial enviada por e-mail.", "Reunião realizada; proposta apresentada ao decisor."),
    "1.02": ("Cliente respondeu à proposta.", "Retorno do cliente sobre a proposta."),
    "1.03": ("Rodada de negociação concluída.", "Cliente deu a resposta final."),
    "2.01": ("Iniciado o atendimento do chamado.", "Chamado assumido pelo suporte."),
    "2.02": ("Correção aplicada; validando com o cliente.", "Atendimento concluído; aguardando confirmação."),
    "2.03": ("Cliente retornou com as informações.", "Arquivo recebido; retomando o atendimento."),
    "3.01": ("Devedor localizado; iniciada a negociação.", "Contato feito com o responsável financeiro."),
    "3.02": ("Negociação concluída.", "Devedor respondeu à proposta de acordo."),
    "3.03": ("Verificado o pagamento do acordo.", "Conferência com o financeiro."),
}
NOTES_ANY = ("Contato realizado.", "Retorno ao cliente.", "Acompanhamento do atendimento.")
MOVE_REASONS = (
    "Cliente já havia recebido a proposta pelo parceiro; ajuste de fase.",
    "Cliente retomou o contato e pediu nova condição.",
    "Correção de fase registrada errada pelo agente.",
    "Pedido da diretoria: reabrir a negociação.",
)
CLOSE_REASONS = (
    "Encerrado a pedido do cliente.",
    "Pagamento confirmado pelo financeiro.",
    "Duplicidade de atendimento.",
)
OVERRIDE_REASONS = (
    "Cliente informou o valor por telefone; registro depois.",
    "Resposta pendente autorizada pela supervisão.",
)

# ---------------------------------------------------------------------------
# People
# ---------------------------------------------------------------------------

FEMALE = (
    "Maria", "Ana", "Francisca", "Antônia", "Adriana", "Juliana", "Márcia", "Fernanda", "Patrícia", "Aline",
    "Camila", "Beatriz", "Larissa", "Letícia", "Gabriela", "Mariana", "Luana", "Bruna", "Vanessa", "Sandra",
    "Cláudia", "Simone", "Renata", "Daniela", "Tatiana", "Raquel", "Luciana", "Helena", "Sílvia", "Rosângela",
)  # fmt: skip
MALE = (
    "José", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luiz", "Marcos",
    "Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Raimundo", "Rodrigo", "Fernando",
    "Gustavo", "André", "Ricardo", "Sérgio", "Thiago", "Vinícius", "Matheus", "Leandro", "Fábio", "Otávio",
)  # fmt: skip
SURNAMES = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Cavalcanti", "Monteiro", "Moura", "Batista",
)  # fmt: skip
BUSINESSES = (
    "Padaria", "Supermercado", "Farmácia", "Auto Peças", "Construtora", "Transportadora", "Distribuidora",
    "Clínica Odontológica", "Escritório Contábil", "Restaurante", "Papelaria", "Materiais de Construção", "Ótica",
    "Pet Shop", "Academia", "Hotel", "Laboratório", "Móveis", "Confecções", "Agropecuária",
)  # fmt: skip
BRANDS = (
    "Dom Pedro", "São Jorge", "Estrela do Sul", "Nova Era", "Boa Vista", "Santa Clara", "Primavera", "Horizonte",
    "Vale Verde", "Três Irmãos", "Sol Nascente", "Paulista", "Central", "Ipê Amarelo", "Progresso", "Aliança",
    "Pioneira", "Bela Vista", "Serra Azul", "Maré Alta",
)  # fmt: skip
LEGAL_SUFFIXES = ("Ltda", "Ltda", "Ltda", "ME", "EPP", "S.A.")
CONTACT_ROLES = (
    "Sócio-proprietário", "Gerente administrativo", "Gerente financeiro", "Comprador", "Analista de TI",
    "Diretor comercial", "Contador",
)  # fmt: skip
CITIES = (
    ("São Paulo", "SP", "11"), ("Campinas", "SP", "19"), ("Ribeirão Preto", "SP", "16"), ("Santos", "SP", "13"),
    ("Rio de Janeiro", "RJ", "21"), ("Niterói", "RJ", "21"), ("Belo Horizonte", "MG", "31"),
    ("Uberlândia", "MG", "34"), ("Curitiba", "PR", "41"), ("Londrina", "PR", "43"), ("Porto Alegre", "RS", "51"),
    ("Caxias do Sul", "RS", "54"), ("Florianópolis", "SC", "48"), ("Joinville", "SC", "47"), ("Salvador", "BA", "71"),
    ("Recife", "PE", "81"), ("Fortaleza", "CE", "85"), ("Goiânia", "GO", "62"), ("Brasília", "DF", "61"),
    ("Manaus", "AM", "92"), ("Belém", "PA", "91"), ("Vitória", "ES", "27"), ("Campo Grande", "MS", "67"),
    ("Cuiabá", "MT", "65"), ("Natal", "RN", "84"), ("João Pessoa", "PB", "83"), ("São Luís", "MA", "98"),
)  # fmt: skip


@dataclass
class PersonDef:
    kind: str
    name: str
    document: str
    trade_name: str
    city: str
    state: str
    phones: list[tuple[str, str]]
    emails: list[tuple[str, str]]
    contacts: list[tuple[str, str, str, str]]  # name, role, e-mail, phone


def _slug(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


def _phone(rng: random.Random, ddd: str, mobile: bool) -> str:
    if mobile:
        return f"({ddd}) 9{rng.randint(6000, 9999)}-{rng.randint(0, 9999):04d}"
    return f"({ddd}) {rng.choice('2345')}{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}"


def _individual_name(rng: random.Random) -> str:
    names = FEMALE if rng.random() < 0.5 else MALE
    first = rng.choice(names)
    parts = [first]
    if rng.random() < 0.25:
        parts.append(rng.choice([n for n in names if n != first]))
    surnames = rng.sample(SURNAMES, 2 if rng.random() < 0.5 else 1)
    return " ".join([*parts, *surnames])


def person_defs() -> list[PersonDef]:
    """The demo's people, the same on every call: CPFs and CNPJs with valid check digits."""
    rng = random.Random(PEOPLE_SEED)
    documents: set[str] = set()
    names: set[str] = set()
    people: list[PersonDef] = []

    def unique_document(make: Callable[[], str]) -> str:
        while True:
            document = make()
            if document not in documents and document != document[0] * len(document):
                documents.add(document)
                return document

    while len(people) < INDIVIDUALS:
        name = _individual_name(rng)
        if name in names:
            continue
        names.add(name)
        city, state, ddd = rng.choice(CITIES)
        document = unique_document(lambda: cpf_check_digits(f"{rng.randrange(10**9):09d}"))
        first, last = fold(name.split()[0]), fold(name.split()[-1])
        phones: list[tuple[str, str]] = [
            (Phone.Kind.WHATSAPP if rng.random() < 0.5 else Phone.Kind.MOBILE, _phone(rng, ddd, True))
        ]
        if rng.random() < 0.3:
            phones.append((Phone.Kind.LANDLINE, _phone(rng, ddd, False)))
        emails = [(f"{first}.{last}{rng.randint(1, 99)}@exemplo.com.br", "Pessoal")] if rng.random() < 0.85 else []
        people.append(PersonDef("individual", name, document, "", city, state, phones, emails, []))

    # The first legal entity is the bakery every demo talks about.
    while len(people) < INDIVIDUALS + LEGAL_ENTITIES:
        if len(people) == INDIVIDUALS:
            trade_name = "Padaria Bom Pão"
        else:
            trade_name = f"{rng.choice(BUSINESSES)} {rng.choice(BRANDS)}"
        if trade_name in names:
            continue
        names.add(trade_name)
        name = f"{trade_name} {rng.choice(LEGAL_SUFFIXES)}"
        city, state, ddd = rng.choice(CITIES)
        document = unique_document(lambda: cnpj_check_digits(f"{rng.randrange(10**7, 10**8)}0001"))
        slug = _slug(trade_name)
        phones = [
            (Phone.Kind.LANDLINE.value, _phone(rng, ddd, False)),
            (Phone.Kind.WHATSAPP.value, _phone(rng, ddd, True)),
        ]
        emails = [(f"contato.{slug}@exemplo.com.br", "Comercial"), (f"financeiro.{slug}@exemplo.com.br", "Financeiro")]
        contacts = []
        for role in rng.sample(CONTACT_ROLES, rng.randint(1, 3)):
            contact = _individual_name(rng)
            local = ".".join(fold(part) for part in contact.split()[:2])
            contacts.append((contact, role, f"{local}.{slug}@exemplo.com.br", _phone(rng, ddd, True)))
        people.append(PersonDef("legal", name, document, trade_name, city, state, phones, emails, contacts))
    return people


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

# Wraps a phase's items: a progress bar on a terminal, a line otherwise.
Progress = Callable[[Iterable[T], str, int], Iterable[T]]


def no_progress(items: Iterable[T], label: str, total: int) -> Iterable[T]:
    return items


@dataclass
class Report:
    """What a load did: objects created per model, history rows the definitions wrote, tickets by status."""

    created: Counter[type[Model]] = field(default_factory=Counter)
    tickets: Counter[str] = field(default_factory=Counter)
    definitions_changes: int = 0  # history rows of the import: more than it created when it put values back
    definitions_restored: int = 0  # demo definitions someone had edited, put back as the bundle has them

    @property
    def changed(self) -> bool:
        return bool(self.created) or bool(self.tickets) or bool(self.definitions_changes)


def load_demo(*, progress: Progress[Any] = no_progress) -> Report:
    """Load what is missing of the demo, all or nothing."""
    report = Report()
    with transaction.atomic():
        users = ensure_users(report)
        companies = ensure_companies(report)
        load_definitions(users["admin"], report)
        ensure_crm_options(users["admin"], report)
        ensure_sales_lists(users["admin"], report)
        people = ensure_people(users["admin"], report, progress)
        if not demo_tickets_loaded(people):
            report.tickets = TicketSimulator(users=users, companies=companies, people=people).run(progress)
        ensure_appointments(users, report)
        ensure_demo_collections(users, companies, people, report)
    return report


def ensure_demo_collections(
    users: dict[str, User], companies: list[Company], people: list[Any], report: Report
) -> None:
    """Administrative statuses, receivables of several debtors and an update run (ciclo.collections.demo)."""
    from ciclo.collections.demo import DemoCollectionsError, ensure_collections
    from ciclo.collections.models import AdministrativeStatus, Receivable

    try:
        made = ensure_collections(admin=users["admin"], signer=users["supervisor"], companies=companies, people=people)
    except DemoCollectionsError as exc:
        raise DemoError(_("The demo's collections were refused: %(error)s") % {"error": exc}) from exc
    for model, count in ((AdministrativeStatus, made["statuses"]), (Receivable, made["receivables"])):
        if count:
            report.created[model] += count


def ensure_users(report: Report) -> dict[str, User]:
    users: dict[str, User] = {}
    password = ""
    for d in USERS:
        user = User.objects.filter(username=d.username).first()
        if user is None:
            # One hash for the four accounts: hashing is slow on purpose, and this password is public anyway.
            password = password or make_password(DEMO_PASSWORD)
            user = User.objects.create(
                username=d.username,
                first_name=d.first_name,
                last_name=d.last_name,
                email=f"{d.username}@exemplo.com.br",
                password=password,
                is_superuser=d.role == Role.ADMIN,
            )
            set_role(user, d.role)
            report.created[User] += 1
        users[d.username] = user
    return users


def ensure_companies(report: Report) -> list[Company]:
    companies = []
    for code, name, cnpj in COMPANIES:
        company = Company.objects.filter(code=code).first()
        if company is None:
            company = Company(code=code, name=name, cnpj=cnpj)
            try:
                company.full_clean()
            except ValidationError as exc:
                raise DemoError(_("%(object)s is invalid: %(errors)s") % {"object": company, "errors": exc}) from exc
            company.save()
            report.created[Company] += 1
        companies.append(company)
    return companies


def definitions_text() -> str:
    """The demo's definitions bundle, as shipped with the package."""
    return resources.files("ciclo").joinpath(DEFINITIONS).read_text(encoding="utf-8")


def load_definitions(admin: User, report: Report) -> None:
    """Import the demo's bundle as its admin: what matches is left alone, the rest is made or put back."""
    before = {model: model._default_manager.count() for model in CONFIGURATION}
    last_change = Change.objects.aggregate(last=Max("pk"))["last"] or 0
    try:
        apply_import(parse(definitions_text()), by=admin)
    except DefinitionsInvalid as exc:
        raise DemoError(_("The demo's definitions were refused: %(problems)s") % {"problems": exc}) from exc
    made = 0
    for model in CONFIGURATION:
        created = model._default_manager.count() - before[model]
        if created > 0:
            report.created[model] += created
            made += created
    report.definitions_changes = Change.objects.filter(pk__gt=last_change).count()
    report.definitions_restored = max(0, report.definitions_changes - made)


def ensure_crm_options(admin: User, report: Report) -> None:
    """Point the collections at the bundle's collection types, unless the options already name types."""
    options = CrmOptions.current()
    values: dict[str, Any] = {}
    if options.collection_synthetic_type_id is None:
        values["collection_synthetic_type"] = ServiceType.objects.get(code=COLLECTION_SYNTHETIC)
    if options.collection_analytical_type_id is None:
        values["collection_analytical_type"] = ServiceType.objects.get(code=COLLECTION_ANALYTICAL)
    if options.automatic_note_user_id is None:  # the daily collections update signs with it
        values["automatic_note_user"] = User.objects.get(username="supervisor")
    if values:
        try:
            save_crm_options({**values, "collection_days_overdue": 5}, by=admin)
        except ConfigurationInvalid as exc:
            raise DemoError(_("The demo's CRM options were refused: %(problems)s") % {"problems": exc}) from exc
        report.created[CrmOptions] += 1


def ensure_sales_lists(admin: User, report: Report) -> None:
    """The sales follow-up's lists: environments and lost reasons, each with its history row."""
    for model, names in ((Environment, ENVIRONMENTS), (LostReason, LOST_REASONS)):
        taken = {name.lower() for name in model.objects.values_list("name", flat=True)}
        for position, name in enumerate(names):
            if name.lower() not in taken:
                entry = model.objects.create(name=name, position=position)
                record_change(entry, by=admin, action=Change.Action.CREATED)
                report.created[model] += 1


def ensure_people(admin: User, report: Report, progress: Progress[Any]) -> list[Person]:
    defs = person_defs()
    documents = [d.document for d in defs]
    existing = set(Person.objects.filter(document__in=documents).values_list("document", flat=True))
    missing = [d for d in defs if d.document not in existing]
    for d in progress(missing, _("People"), len(missing)) if missing else ():
        add_demo_person(d, by=admin)
        report.created[Person] += 1
    return list(
        Person.objects.filter(document__in=documents, active=True).prefetch_related("contacts").order_by("document")
    )


def add_demo_person(d: PersonDef, *, by: User) -> Person:
    """A person as the new-ticket page adds one (with a phone), then their other phones, e-mails and contacts."""
    (first_kind, first_number), *phones = d.phones
    try:
        person = create_person(
            by=by,
            name=d.name,
            kind=d.kind,
            document=d.document,
            trade_name=d.trade_name,
            city=d.city,
            state=d.state,
            phone=first_number,
            phone_kind=first_kind,
        )
        details: list[Phone | Email | ContactPerson] = [
            *(Phone(person=person, kind=kind, number=number) for kind, number in phones),
            *(Email(person=person, address=address, label=label) for address, label in d.emails),
            *(
                ContactPerson(person=person, name=name, role=role, email=email, phone=phone)
                for name, role, email, phone in d.contacts
            ),
        ]
        for detail in details:
            detail.full_clean(exclude=["person"])  # the person was just saved: no need to look it up again
            detail.save()
            record_change(detail, by=by, action=Change.Action.CREATED)
    except ValidationError as exc:
        raise DemoError(_("%(object)s is invalid: %(errors)s") % {"object": d.name, "errors": exc}) from exc
    return person


# Appointments made by hand over the coming weeks (the tickets' next contacts are on the agenda already):
# (user, working days from today, hour, minutes long, title, channel, place, about a sales ticket of theirs).
APPOINTMENTS = [
    ("agente1", 1, 10, 90, "Visita à fábrica do cliente", Channel.VISIT, "Av. Paulista, 1000 – São Paulo", True),
    ("agente1", 3, 14, 60, "Demonstração do ERP por vídeo", Channel.CHAT, "", True),
    ("agente1", 6, 9, 120, "Feira de varejo: estande da empresa", Channel.VISIT, "Expo Center Norte", False),
    ("agente2", 2, 11, 60, "Reunião de alinhamento com o supervisor", Channel.OTHER, "Sala 2", False),
    ("agente2", 8, 15, 45, "Visita técnica", Channel.VISIT, "Rua XV de Novembro, 200 – Curitiba", True),
    ("supervisor", 4, 16, 60, "Revisão do funil de vendas", Channel.OTHER, "Sala 1", False),
]


def ensure_appointments(users: dict[str, User], report: Report) -> None:
    """The appointments of APPOINTMENTS, through the agenda's one function, once (none made by hand yet)."""
    if Appointment.objects.filter(source=Appointment.Source.MANUAL, user__in=users.values()).exists():
        return
    today = timezone.localdate()
    for username, days, hour, minutes, title, channel, place, about_a_ticket in APPOINTMENTS:
        user = users[username]
        day = today
        while days > 0:
            day += dt.timedelta(days=1)
            days -= day.weekday() < 5
        start = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
        ticket = (
            Ticket.objects.open()
            .filter(next_contact_user=user, service_type__in=ServiceType.objects.sales_types())
            .order_by("id")
            .first()
            if about_a_ticket
            else None
        )
        create_appointment(
            user=user,
            start=start,
            end=start + dt.timedelta(minutes=minutes),
            title=title,
            ticket=ticket,
            channel=channel,
            place=place,
            by=user,
        )
        report.created[Appointment] += 1


def demo_tickets_loaded(people: list[Person]) -> bool:
    """The demo's tickets are loaded in one transaction: when its people have that many, they are there."""
    return Ticket.objects.filter(person__in=people).count() >= TICKETS


# ---------------------------------------------------------------------------
# Tickets: a seeded simulation of each ticket's life, driven through the engine
# ---------------------------------------------------------------------------


class TicketSimulator:
    def __init__(self, *, users: dict[str, User], companies: list[Company], people: list[Person]) -> None:
        self.rng = random.Random(TICKETS_SEED)
        self.now = timezone.now()
        self.users = users
        self.supervisor = users["supervisor"]
        self.companies = companies
        self.people = people
        self.types = {t.code: t for t in ServiceType.objects.filter(code__in=TYPE_MIX).select_related("workflow")}
        self.sales_rng = random.Random(SALES_SEED)
        self.sales_types = set(ServiceType.objects.sales_types().values_list("pk", flat=True))
        self.environments = list(Environment.objects.active())
        self.lost_reasons = list(LostReason.objects.active())
        self.steps: dict[int, dict[int, WorkflowStep]] = defaultdict(dict)
        for step in WorkflowStep.objects.select_related("cr", "workflow").prefetch_related(
            Prefetch("options", queryset=DecisionOption.objects.order_by("position", "id"))
        ):
            self.steps[step.workflow_id][step.order] = step
        self.questions: dict[tuple[int, int], list[Question]] = defaultdict(list)
        cycle_ids = {t.cycle_id for t in self.types.values() if t.cycle_id}
        for q in (
            Question.objects.filter(cycle_id__in=cycle_ids, active=True)
            .select_related("cycle")
            .prefetch_related(Prefetch("options", queryset=Option.objects.filter(active=True).order_by("position")))
            .order_by("code_key")
        ):
            self.questions[(q.cycle_id, q.cr_id)].append(q)

    # -- time -------------------------------------------------------------

    def working_time(self, day: dt.date) -> dt.datetime:
        """A moment of business hours (8h to 18h) on that day, or on the Monday after a weekend."""
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(day, dt.time(self.rng.randint(8, 17), self.rng.randint(0, 59))))

    def working_days_after(self, day: dt.date, count: int) -> dt.date:
        while count > 0:
            day += dt.timedelta(days=1)
            count -= day.weekday() < 5
        return day

    def next_event(self, at: dt.datetime, category: str) -> dt.datetime:
        """When the contact after `at` happens: support calls back within days, sales and collection later."""
        low, high = {"service": (0, 3), "collection": (2, 9)}.get(category, (1, 9))
        days = self.rng.randint(low, high)
        if days == 0:
            later = at + dt.timedelta(minutes=self.rng.randint(90, 240))
            if timezone.localtime(later).hour < 18:
                return later
            days = 1
        return self.working_time(self.working_days_after(timezone.localdate(at), days))

    def next_contact(self, at: dt.datetime, following: dt.datetime, last: bool) -> dt.datetime:
        """The next contact a note schedules: about when the following contact happens or, on the last note so
        far, around today (some overdue, some today, most ahead)."""
        if not last:
            local = timezone.localtime(following)
            planned = local.replace(hour=max(8, local.hour - self.rng.randint(0, 1)), minute=self.rng.choice((0, 30)))
            return max(at + dt.timedelta(minutes=30), min(planned, following))
        today = timezone.localtime(self.now)
        draw = self.rng.random()
        if draw < 0.3:
            overdue = self.working_time(today.date() - dt.timedelta(days=self.rng.randint(1, 12)))
            if at < overdue < self.now:
                return overdue
        if draw < 0.5:
            return today.replace(
                hour=self.rng.randint(8, 17), minute=self.rng.choice((0, 15, 30, 45)), second=0, microsecond=0
            )
        return self.working_time(today.date() + dt.timedelta(days=self.rng.randint(1, 15)))

    def soon_after(self, at: dt.datetime) -> dt.datetime:
        """A few minutes after a contact (answers are saved after the note), never in the future."""
        return min(self.now, at + dt.timedelta(minutes=self.rng.randint(2, 40)))

    # -- one ticket ------------------------------------------------------

    def run(self, progress: Progress[Any]) -> Counter[str]:
        """Make the demo's tickets; returns how many ended open and closed."""
        statuses: Counter[str] = Counter()
        codes = list(TYPE_MIX)
        weights = list(TYPE_MIX.values())
        debtors = iter(self.rng.sample(self.people, len(self.people)))  # one collection per debtor
        for i in progress(range(TICKETS), _("Tickets"), TICKETS):
            code = self.rng.choices(codes, weights)[0]
            person = next(debtors, None) if code == COLLECTION_ANALYTICAL else None
            if person is None:
                person = self.rng.choice(self.people)
                code = code if code != COLLECTION_ANALYTICAL else "2.2"
            try:
                ticket = TicketLife(self, self.types[code], person).live()
            except TicketError as exc:
                raise DemoError(
                    _("The engine refused demo ticket %(number)s: %(error)s") % {"number": i + 1, "error": exc.message}
                ) from exc
            statuses[ticket.status] += 1
        return statuses

    def agent_for(self, service_type: ServiceType) -> User:
        if service_type.category == ServiceType.Category.SALES:
            return self.users["agente1"]
        if service_type.category == ServiceType.Category.SERVICE:
            return self.users["agente2"]
        return self.rng.choice([self.users["agente1"], self.users["agente2"]])

    def plan(self, workflow_id: int, order: int) -> tuple[dict[int, int], WorkflowStep]:
        """The decisions to take on the way from `order` to the next CR step, chosen by the options' weights."""
        choices: dict[int, int] = {}
        for _hop in range(50):
            step = self.steps[workflow_id][order]
            if step.kind == WorkflowStep.Kind.CR:
                return choices, step
            if step.kind == WorkflowStep.Kind.DECISION:
                options = list(step.options.all())
                taken = DECISIONS.get((step.workflow.code, step.order), {})
                weights = [taken.get(o.label, 1.0) for o in options]
                option = self.rng.choices(options, weights)[0]
                choices[step.pk] = option.pk
                order = option.target_order
            else:
                assert step.target_workflow_id is not None and step.target_order is not None
                workflow_id, order = step.target_workflow_id, step.target_order
        raise DemoError(_("The workflow loops without reaching a phase."))

    def value_for(self, question: Question, at: dt.datetime) -> Any:
        key = (question.cycle.code, question.code)
        rng = self.rng
        t = question.answer_type
        if t in (AnswerType.SHORT_TEXT, AnswerType.LONG_TEXT):
            return rng.choice(TEXTS.get(key, NOTES_ANY))[: 100 if t == AnswerType.SHORT_TEXT else None]
        if t == AnswerType.NUMBER:
            low, high = SPANS.get(key) or (question.min_value or 1, question.max_value or 100)
            if float(low) < 1:  # a fractional quantity, in halves
                return Decimal(rng.randint(max(1, int(float(low) * 2)), int(float(high) * 2))) / 2
            return rng.randint(int(low), int(high))
        if t == AnswerType.MONEY:
            low, high = SPANS.get(key, (100, 10000))
            return Decimal(rng.randint(int(low), int(high))) + Decimal(rng.choice((0, 0, 0, 50, 90))) / 100
        if t == AnswerType.DATE:
            low, high = SPANS.get(key, (0, 15))
            return timezone.localdate(at) + dt.timedelta(days=rng.randint(int(low), int(high)))
        if t == AnswerType.TIME:
            return f"{rng.randint(8, 17):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        options = list(question.options.all())
        picks = PICKS.get(key, {})

        def pick(option: Option) -> dict[str, Any]:
            complement = ""
            if option.asks_complement:
                complement = rng.choice(picks.get(option.label, Pick()).complements or NOTES_ANY)
            return {"option": option.pk, "complement": complement}

        if t == AnswerType.SINGLE_CHOICE:
            weights = [picks.get(o.label, Pick()).weight for o in options]
            return [pick(rng.choices(options, weights)[0])]
        chosen = [o for o in options if rng.random() < (0.8 if o.checked_by_default else 0.3)]
        return [pick(o) for o in chosen or [rng.choice(options)]]


class TicketLife:
    """One ticket from opening to where the demo leaves it."""

    def __init__(self, sim: TicketSimulator, service_type: ServiceType, person: Person) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.type = service_type
        self.person = person
        self.agent = sim.agent_for(service_type)
        self.versions: dict[int, int] = {}  # question id → its answer's version
        self.answered_by_cr: dict[int, list[Question]] = defaultdict(list)
        self.last = False  # whether the contact being recorded is the ticket's last one so far
        self.ticket: Ticket

    def next_contact(self, at: dt.datetime, following: dt.datetime) -> dt.datetime:
        return self.sim.next_contact(at, following, self.last)

    def actor(self) -> User:
        return self.sim.supervisor if self.rng.random() < 0.12 else self.agent

    def channel(self) -> str:
        return self.rng.choices(
            [Channel.PHONE, Channel.WHATSAPP, Channel.EMAIL, Channel.VISIT, Channel.CHAT], [40, 25, 20, 8, 7]
        )[0]

    def subject(self) -> str:
        template = self.rng.choice(SUBJECTS.get(self.type.code, ("Atendimento",)))
        return template.format(n=self.rng.randint(2, 12), d=self.rng.randint(6, 60))

    def questions_here(self) -> list[Question]:
        return self.sim.questions.get((self.type.cycle_id or 0, self.ticket.cr_id), [])

    def save(self, questions: list[Question], at: dt.datetime, by: User | None = None) -> None:
        if not questions:
            return
        inputs = [AnswerInput(q.pk, self.sim.value_for(q, at), self.versions.get(q.pk, 0)) for q in questions]
        result = engine_save_answers(self.ticket, inputs, by=by or self.actor(), at=at)
        asked = {q.pk: q for q in questions}
        for answer in result.saved:
            if answer.question_id not in self.versions:
                self.answered_by_cr[answer.cr_id].append(asked[answer.question_id])
            self.versions[answer.question_id] = answer.version

    def enter_phase(self, at: dt.datetime) -> None:
        """Answer part of the new phase's questions now; the rest waits for a later contact."""
        pending = [q for q in self.questions_here() if q.pk not in self.versions]
        now = (
            [q for q in pending if self.rng.random() < (0.6 if q.required else 0.5)] if self.rng.random() < 0.7 else []
        )
        self.save(now, self.sim.soon_after(at))

    def answer_pending(self, at: dt.datetime) -> None:
        """Answer the phase's required questions still open, and some of the others."""
        pending = [q for q in self.questions_here() if q.pk not in self.versions]
        later = [q for q in pending if q.required or self.rng.random() < 0.5]
        self.save(later, at)

    def change_an_answer(self, at: dt.datetime) -> None:
        here = {q.pk for q in self.questions_here()}
        answered = [q for q in self.answered_by_cr.get(self.ticket.cr_id, []) if q.pk in here]
        if answered:
            self.save([self.rng.choice(answered)], self.sim.soon_after(at))

    def note_text(self, moving: bool) -> str:
        pool = NOTES_MOVE if moving else NOTES_STAY
        return self.rng.choice(pool.get(self.ticket.cr.code, NOTES_ANY))

    def live(self) -> Ticket:
        sim, rng = self.sim, self.rng
        at = sim.working_time(timezone.localdate(sim.now) - dt.timedelta(days=rng.randint(0, DAYS_BACK)))
        if at > sim.now:
            at = sim.now - dt.timedelta(minutes=rng.randint(5, 240))
        following = sim.next_event(at, self.type.category)
        self.last = following > sim.now or rng.random() < FORGOTTEN
        contacts = list(self.person.contacts.all())
        opener = self.actor()
        self.ticket = open_ticket(
            person=self.person,
            service_type=self.type,
            subject=self.subject(),
            company=sim.companies[0] if rng.random() < 0.7 else sim.companies[-1],
            by=opener,
            channel=self.channel(),
            contact_person=rng.choice(contacts) if contacts else None,
            next_contact_at=self.next_contact(at, following),
            next_contact_user=sim.supervisor if rng.random() < 0.1 else self.agent,
            text=rng.choice(OPENING_NOTES.get(self.type.code, NOTES_ANY)),
            at=at,
        )
        if self.type.pk in sim.sales_types:
            self.describe_sale(at, opener)
        self.enter_phase(at)
        move_chance = {"service": 0.6, "collection": 0.45}.get(self.type.category, 0.5)
        for event in range(1, MAX_EVENTS + 1):
            if self.last:
                break
            at, following = following, sim.next_event(following, self.type.category)
            self.last = following > sim.now or rng.random() < FORGOTTEN or event == MAX_EVENTS
            if self.ticket.is_closed:
                if rng.random() < 0.08:
                    self.supervisor_move(at, reopen=True)
                    continue
                break
            if rng.random() < 0.02:
                self.supervisor_move(at)
            elif rng.random() < move_chance:
                self.move_on(at, following)
            else:
                self.stay(at, following)
        if rng.random() < 0.05:
            self.correct_earlier_phase()
        return self.ticket

    def describe_sale(self, at: dt.datetime, by: User) -> None:
        """What the salesperson notes of a new sales contact: who referred it, the prospect's environment,
        its value and when it should close; now and then a success chance of their own."""
        rng, sim = self.sim.sales_rng, self.sim
        fields: dict[str, Any] = {
            "expected_value": Decimal(rng.randrange(2_000, 90_000, 500)),
            "expected_close": timezone.localdate(at) + dt.timedelta(days=rng.randint(15, 90)),
        }
        if rng.random() < 0.35:
            fields["referral"] = rng.choice([p for p in sim.people[:40] if p.pk != self.person.pk])
        if sim.environments and rng.random() < 0.75:
            fields["environment"] = rng.choice(sim.environments)
        if rng.random() < 0.15:
            fields["success"] = rng.choice((20, 30, 60, 80))
        update_sales_fields(self.ticket, by=by, **fields)

    def outcome_for(self, target: WorkflowStep) -> OutcomeInput | None:
        """How a sales contact ends when the move reaches a closing phase: lost there, won elsewhere."""
        if self.type.pk not in self.sim.sales_types or target.cr is None or not target.cr.closes_process:
            return None
        rng = self.sim.sales_rng
        if target.cr.code == SALES_LOST_CR:
            reason = rng.choice(self.sim.lost_reasons)
            return OutcomeInput(Outcome.LOST, lost_reason=reason, text=rng.choice(LOST_TEXTS))
        value = Decimal(rng.randrange(2_000, 90_000, 250)) + Decimal(rng.choice((0, 50, 90))) / 100
        return OutcomeInput(Outcome.WON, won_value=value, text=rng.choice(WON_TEXTS))

    def stay(self, at: dt.datetime, following: dt.datetime) -> None:
        record_note(
            self.ticket,
            by=self.actor(),
            text=self.note_text(moving=False),
            channel=self.channel(),
            next_contact_at=self.next_contact(at, following),
            next_contact_user=self.sim.supervisor if self.rng.random() < 0.1 else self.agent,
            at=at,
        )
        draw = self.rng.random()
        if draw < 0.25:
            self.change_an_answer(at)
        elif draw < 0.4:
            self.answer_pending(self.sim.soon_after(at))

    def move_on(self, at: dt.datetime, following: dt.datetime) -> None:
        by = self.actor()
        override = ""
        if by == self.sim.supervisor and self.rng.random() < 0.3:
            override = self.rng.choice(OVERRIDE_REASONS)  # the supervisor moves on, required answers or not
        else:
            self.answer_pending(at - dt.timedelta(minutes=self.rng.randint(1, 20)))  # just before the note
        choices, target = self.sim.plan(self.ticket.workflow_id, self.ticket.step.next_order)  # type: ignore[arg-type]
        closes = bool(target.cr and target.cr.closes_process)
        record_note(
            self.ticket,
            by=by,
            text=self.note_text(moving=True),
            channel=self.channel(),
            next_contact_at=None if closes else self.next_contact(at, following),
            next_contact_user=None if closes else self.agent,
            move_on=True,
            choices=choices,
            override_reason=override if self.missing_required() else "",
            at=at,
            outcome=self.outcome_for(target),
        )
        self.enter_phase(at)

    def missing_required(self) -> bool:
        return any(q.required and q.pk not in self.versions for q in self.questions_here())

    def supervisor_move(self, at: dt.datetime, reopen: bool = False) -> None:
        """A supervisor moves the ticket to another phase: back into the funnel, ahead, or closed."""
        others = [
            s
            for s in self.sim.steps[self.ticket.workflow_id].values()
            if s.kind == WorkflowStep.Kind.CR and s.cr is not None and s.pk != self.ticket.step_id
        ]
        closing = not reopen and self.rng.random() < 0.3
        targets = [s for s in others if s.cr.closes_process == closing]  # type: ignore[union-attr]
        if not targets:
            return
        target = self.rng.choice(targets)
        reason = self.rng.choice(CLOSE_REASONS if closing else MOVE_REASONS)
        move_to_step(
            self.ticket, target, by=self.sim.supervisor, reason=reason, at=at, outcome=self.outcome_for(target)
        )
        self.enter_phase(at)

    def correct_earlier_phase(self) -> None:
        """A supervisor unlocks an earlier phase and corrects one of its answers (Desbloquear).

        unlock_phase takes no `at`: the unlock is recorded now, so the correction is dated now too.
        """
        earlier = [cr_id for cr_id, qs in self.answered_by_cr.items() if cr_id != self.ticket.cr_id and qs]
        if not earlier:
            return
        cr_id = self.rng.choice(earlier)
        cr = ResponsibilityCenter.objects.get(pk=cr_id)
        unlock_phase(self.ticket, cr, by=self.sim.supervisor, reason="Correção de resposta informada errada.")
        self.save([self.rng.choice(self.answered_by_cr[cr_id])], timezone.now(), by=self.sim.supervisor)


def demo_logins() -> Iterator[tuple[str, str, str]]:
    """(username, password, role) of the demo accounts."""
    for d in USERS:
        yield d.username, DEMO_PASSWORD, str(d.role.label)

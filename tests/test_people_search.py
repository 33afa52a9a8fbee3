"""Finding people and tickets: every word anywhere, accents, case and the document's mask ignored.

The same rule on the new-ticket search, the query page's person and text filters, the API's
people list and the ticket list (ciclo.people.text, Person.objects.search).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from ciclo.people.documents import cnpj_check_digits, format_document
from ciclo.people.models import Person
from ciclo.people.text import SearchTooShort, search_terms
from ciclo.tickets import query
from ciclo.tickets.models import Ticket
from ciclo.tickets.routing import move_to_step, record_note
from tests.factory import SalesSetup, make_cpf, make_person, make_ticket

ALNUM_CNPJ = cnpj_check_digits("12ABC34501DE")  # 12ABC34501DE35


@pytest.fixture
def people(db: Any) -> dict[str, Person]:
    return {
        "daniela": make_person(name="Daniela Carvalho"),
        "goncalves": make_person(name="Marcos Gonçalves"),
        "vale": make_person(name="Distribuidora Vale Verde Ltda", kind=Person.Kind.LEGAL, document=ALNUM_CNPJ),
        "ana": make_person(name="Ana Sílvia Souza", document="52998224725"),
    }


def names(qs: Any) -> set[str]:
    return {p.name for p in qs}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("Carvalho", {"Daniela Carvalho"}),
        ("carv", {"Daniela Carvalho"}),
        ("Daniela Car", {"Daniela Carvalho"}),
        ("Gonçalves", {"Marcos Gonçalves"}),
        ("goncalves", {"Marcos Gonçalves"}),
        ("GONCALVES marcos", {"Marcos Gonçalves"}),
        ("vale verde", {"Distribuidora Vale Verde Ltda"}),
        ("Ltda", {"Distribuidora Vale Verde Ltda"}),
        ("verde vale", {"Distribuidora Vale Verde Ltda"}),
        ("vale carvalho", set()),
        ("silvia", {"Ana Sílvia Souza"}),
        ("529.982.247-25", {"Ana Sílvia Souza"}),
        ("52998224725", {"Ana Sílvia Souza"}),
        ("529.982", {"Ana Sílvia Souza"}),
        ("8224", {"Ana Sílvia Souza"}),  # digits from the middle
        ("12.ABC.345/01DE-35", {"Distribuidora Vale Verde Ltda"}),
        ("12abc345", {"Distribuidora Vale Verde Ltda"}),
    ],
)
def test_people_are_found_by_any_word_anywhere_or_by_document(people: dict[str, Person], q: str, expected: set[str]):
    assert names(Person.objects.search(q)) == expected


def test_a_search_without_a_word_of_three_characters_is_refused(people: dict[str, Person]):
    for q in ("an", "a s", "12"):
        with pytest.raises(SearchTooShort):
            Person.objects.search(q)
    assert names(Person.objects.search("ana s")) == {"Ana Sílvia Souza"}  # one long word is enough
    assert Person.objects.search("").count() == 4


def test_search_terms_fold_and_unmask():
    assert search_terms("Daniela  CAR daniela") == ["daniela", "car"]
    assert search_terms("529.982.247-25") == ["52998224725"]
    assert search_terms("529 982 247-25") == ["52998224725"]
    assert search_terms("12.ABC.345/01DE-35") == ["12abc34501de35"]
    assert search_terms("S.A.") == ["s.a."]  # no digit: the dots are part of the name


def test_renaming_a_person_refreshes_the_search_key(people: dict[str, Person]):
    daniela = people["daniela"]
    daniela.name = "Daniela Ribeiro"
    daniela.save(update_fields=["name"])
    assert names(Person.objects.search("ribeiro")) == {"Daniela Ribeiro"}
    assert not Person.objects.search("carvalho").exists()


def test_the_new_ticket_search_finds_any_word(client: Any, agent: Any, people: dict[str, Person]):
    client.force_login(agent)
    for q, name in [("Carvalho", "Daniela Carvalho"), ("goncalves", "Marcos Gonçalves"), ("vale verde", "Vale Verde")]:
        html = client.get(reverse("person_search"), {"q": q}).content.decode()
        assert name in html, q
    html = client.get(reverse("person_search"), {"q": "12.ABC.345/01DE-35"}).content.decode()
    assert "12.ABC.345/01DE-35" in html  # shown with its mask
    assert "at least 3 characters" in client.get(reverse("person_search"), {"q": "an"}).content.decode()


# ---- tickets: the person filter and the text filter ----------------------------------------------


def test_the_query_person_filter_finds_any_word(sales: SalesSetup, agent: Any, people: dict[str, Person]):
    ticket = make_ticket(sales, agent, person=people["goncalves"])
    make_ticket(sales, agent, person=people["daniela"])
    for q in ("goncalves", "Gonçalves", "marcos gon"):
        f, errors = query.parse_filter({"person": q})
        assert not errors
        assert list(query.list_queryset(agent, f)) == [ticket], q
    _f, errors = query.parse_filter({"person": "go"})
    assert "3 characters" in errors["person"][0]


def test_the_text_filter_ignores_accents_and_reads_every_note(sales: SalesSetup, agent: Any, supervisor: Any):
    opened = make_ticket(sales, agent, subject="Migração do sistema")
    noted = make_ticket(sales, agent, subject="Outro assunto")
    record_note(noted, by=agent, text="Pediu a MIGRAÇÃO dos dados fiscais")
    moved = make_ticket(sales, agent, subject="Terceiro")
    move_to_step(moved, sales.step_proposal, by=supervisor, reason="Cliente quer orçamento urgente")
    make_ticket(sales, agent, subject="Nada a ver")

    def found(text: str) -> set[int]:
        f, errors = query.parse_filter({"text": text})
        assert not errors, errors
        return {t.pk for t in query.list_queryset(supervisor, f)}

    assert found("migração") == found("migracao") == found("MIGRACAO") == {opened.pk, noted.pk}
    assert found("dados migracao") == {noted.pk}  # every word, in any order
    assert found("orcamento") == {moved.pk}
    assert found("sistema") == {opened.pk}
    _f, errors = query.parse_filter({"text": "de"})
    assert "text" in errors


def test_the_text_filter_on_the_query_page(client: Any, sales: SalesSetup, agent: Any):
    ticket = make_ticket(sales, agent, subject="Migração do sistema")
    make_ticket(sales, agent, subject="Outro")
    client.force_login(agent)
    html = client.get(reverse("tickets"), {"text": "migracao"}).content.decode()
    assert f'data-ticket="{ticket.pk}"' in html and html.count("data-ticket=") == 1


def test_the_backfill_folds_existing_tickets(sales: SalesSetup, agent: Any):
    ticket = make_ticket(sales, agent, subject="Instalação", text="Visita técnica")
    record_note(ticket, by=agent, text="Ligação de retorno")
    Ticket.objects.filter(pk=ticket.pk).update(search_text="")
    from importlib import import_module

    from django.apps import apps

    migration = import_module("ciclo.tickets.migrations.0003_ticket_search_text")
    migration.fill_search_text(apps, SimpleNamespace(connection=connection))
    ticket.refresh_from_db()
    assert ticket.search_text == "instalacao visita tecnica ligacao de retorno"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes exist on PostgreSQL only")
def test_the_trigram_indexes_exist_on_postgresql(db: Any):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN ('person_search_key_trgm', 'ticket_search_text_trgm')"
        )
        assert {row[0] for row in cursor.fetchall()} == {"person_search_key_trgm", "ticket_search_text_trgm"}


def test_no_model_change_is_left_without_its_migration(db: Any):
    call_command("makemigrations", "people", "tickets", check=True, dry_run=True, verbosity=0)


def test_a_document_is_shown_with_its_mask_in_the_export(client: Any, sales: SalesSetup, agent: Any):
    person = make_person(name="Vale Verde", kind=Person.Kind.LEGAL, document=ALNUM_CNPJ)
    make_ticket(sales, agent, person=person)
    client.force_login(agent)
    response = client.get(reverse("tickets_export_csv"), {"person": "vale verde", "cols": "number,person,document"})
    assert response.status_code == 200
    assert format_document(ALNUM_CNPJ) in b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]


def test_a_cpf_is_searchable_as_typed_in_any_mask(sales: SalesSetup, agent: Any):
    cpf = make_cpf()
    person = make_person(name="Zé", document=cpf)
    ticket = make_ticket(sales, agent, person=person)
    for typed in (cpf, format_document(cpf), cpf[:3], format_document(cpf)[:7]):
        f, errors = query.parse_filter({"person": typed})
        assert not errors, typed
        assert list(query.list_queryset(agent, f)) == [ticket], typed


# ---- the two ways to the same rows: a few matches read by id (FTS5 on SQLite), common words by LIKE ----


@pytest.fixture
def like_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every search takes the LIKE way: no word is ever few enough to be read by id."""
    import ciclo.people.models as people_models

    monkeypatch.setattr(people_models, "FEW_PEOPLE", 0)
    monkeypatch.setattr(query, "FEW_PEOPLE", 0)
    monkeypatch.setattr(query, "FEW_TICKETS", 0)


PERSON_QUERIES = [
    "carvalho",
    "carv",
    "daniela car",
    "goncalves",
    "GONÇALVES marcos",
    "vale verde",
    "ltda",
    "vale carvalho",
    "silvia",
    "ana s",
    "529.982",
    "8224",
    "12.ABC.345/01DE-35",
    "zzzz",
]
TEXT_QUERIES = ["migração", "migracao", "dados migracao", "dados de migracao", "orcamento", "sistema", "zzzz", "ção"]


def _found(agent: Any) -> dict[str, Any]:
    """What every person search, person filter and text filter finds."""
    out: dict[str, Any] = {}
    for q in PERSON_QUERIES:
        out[f"search {q}"] = names(Person.objects.search(q))
        f, errors = query.parse_filter({"person": q})
        assert not errors, (q, errors)
        out[f"person {q}"] = {t.pk for t in query.list_queryset(agent, f)}
    for q in TEXT_QUERIES:
        f, errors = query.parse_filter({"text": q})
        assert not errors, (q, errors)
        out[f"text {q}"] = {t.pk for t in query.list_queryset(agent, f)}
    return out


def test_the_indexed_way_and_the_like_way_find_the_same(
    monkeypatch: pytest.MonkeyPatch, sales: SalesSetup, agent: Any, people: dict[str, Person]
):
    make_ticket(sales, agent, person=people["daniela"], subject="Migração do sistema")
    noted = make_ticket(sales, agent, person=people["goncalves"], subject="Outro assunto")
    record_note(noted, by=agent, text="Pediu a MIGRAÇÃO de dados; orçamento")
    make_ticket(sales, agent, person=people["vale"], subject="Nada a ver")
    indexed = _found(agent)
    assert indexed["search daniela car"] == {"Daniela Carvalho"}
    assert indexed["search 12.ABC.345/01DE-35"] == {"Distribuidora Vale Verde Ltda"}
    assert indexed["person goncalves"] == indexed["text dados migracao"] == {noted.pk}
    assert len(indexed["text migracao"]) == 2 and indexed["text migracao"] == indexed["text migração"]
    assert indexed["text dados de migracao"] == {noted.pk}  # "de" is checked by the LIKE on the rows found
    assert indexed["text zzzz"] == indexed["person zzzz"] == set()
    import ciclo.people.models as people_models

    for module, name in ((people_models, "FEW_PEOPLE"), (query, "FEW_PEOPLE"), (query, "FEW_TICKETS")):
        monkeypatch.setattr(module, name, 0)  # no word is few enough to be read by id
    assert _found(agent) == indexed


def test_the_like_way_alone(like_only: None, sales: SalesSetup, agent: Any, people: dict[str, Person]):
    ticket = make_ticket(sales, agent, person=people["goncalves"], subject="Migração")
    f, _errors = query.parse_filter({"person": "goncalves", "text": "migracao"})
    assert list(query.list_queryset(agent, f)) == [ticket]
    assert names(Person.objects.search("vale verde")) == {"Distribuidora Vale Verde Ltda"}


def test_a_new_note_and_a_rename_are_found_at_once(sales: SalesSetup, agent: Any, people: dict[str, Person]):
    ticket = make_ticket(sales, agent, person=people["daniela"], subject="Visita")

    def text(q: str) -> list[Ticket]:
        return list(query.list_queryset(agent, query.parse_filter({"text": q})[0]))

    def person(q: str) -> list[Ticket]:
        return list(query.list_queryset(agent, query.parse_filter({"person": q})[0]))

    assert text("reclamacao") == []
    record_note(ticket, by=agent, text="Reclamação do cliente")
    assert text("reclamacao") == [ticket]
    daniela = people["daniela"]
    daniela.name = "Daniela Peixoto"
    daniela.save()
    assert person("peixoto") == [ticket] and names(Person.objects.search("peixoto")) == {"Daniela Peixoto"}
    assert person("carvalho") == [] and not Person.objects.search("carvalho").exists()
    Person.objects.filter(pk=daniela.pk).update(search_key="daniela queiroz")  # plain SQL too (triggers)
    assert names(Person.objects.search("queiroz")) == {"Daniela Peixoto"}
    people["vale"].delete()
    assert not Person.objects.search("vale verde").exists()


sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 tables exist on SQLite only")
FTS_TABLES = {"people_person_search": "people_person", "tickets_ticket_search": "tickets_ticket"}


def _fts_check(fts: str) -> None:
    """FTS5's own check that the index holds exactly the content table's text (raises if not)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")


@sqlite_only
def test_the_fts_tables_and_their_triggers_exist_after_every_migration(db: Any):
    # Django rebuilds a SQLite table for some schema changes, dropping its triggers: a later
    # migration that does so must create them again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        triggers = set(cursor.fetchall())
    for fts, table in FTS_TABLES.items():
        assert {(f"{fts}_{kind}", table) for kind in ("insert", "update", "delete")} <= triggers


@sqlite_only
def test_the_fts_index_stays_in_step_with_every_write(sales: SalesSetup, agent: Any, people: dict[str, Person]):
    ticket = make_ticket(sales, agent, person=people["ana"], subject="Primeiro")
    record_note(ticket, by=agent, text="Segunda nota")
    people["ana"].name = "Ana Souza Lima"
    people["ana"].save()
    people["vale"].delete()
    Ticket.objects.filter(pk=ticket.pk).update(search_text="por sql")
    for fts in FTS_TABLES:
        _fts_check(fts)


@sqlite_only
def test_the_migrations_fill_the_fts_index_of_an_existing_database(
    sales: SalesSetup, agent: Any, people: dict[str, Person]
):
    from importlib import import_module

    from django.apps import apps

    ticket = make_ticket(sales, agent, person=people["daniela"], subject="Instalação")
    with connection.cursor() as cursor:
        for fts in FTS_TABLES:  # as a database from before the FTS tables: empty
            cursor.execute(f"INSERT INTO {fts} ({fts}) VALUES ('delete-all')")
    assert names(Person.objects.search("carvalho")) == set()
    for module in ("ciclo.people.migrations.0004_person_search_fts", "ciclo.tickets.migrations.0005_ticket_search_fts"):
        import_module(module).create_fts(apps, connection.schema_editor())
    assert names(Person.objects.search("carvalho")) == {"Daniela Carvalho"}
    f, _errors = query.parse_filter({"text": "instalacao"})
    assert list(query.list_queryset(agent, f)) == [ticket]
    for fts in FTS_TABLES:
        _fts_check(fts)

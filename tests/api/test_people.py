"""/people and /companies."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciclo.history.models import Change
from ciclo.people.documents import cnpj_check_digits, format_document
from ciclo.people.models import Company, ContactPerson, Person
from tests.api.helpers import assert_error, history_is_empty
from tests.factory import make_cnpj, make_company, make_cpf, make_person

ALNUM_CNPJ = cnpj_check_digits("12ABC34501DE")  # 12ABC34501DE35, the Receita's example


def person_changes(action: str) -> list[Change]:
    return list(Change.objects.filter(content_type=ContentType.objects.get_for_model(Person), action=action))


def test_an_agent_adds_a_person_with_a_formatted_cpf(api_as, agent):
    cpf = make_cpf()
    response = api_as(agent).post("/people", {"name": "Sílvia Souza", "document": format_document(cpf)})
    assert response.status_code == 201, response.body
    assert response.body["document"] == cpf and response.body["kind"] == "individual"
    person = Person.objects.get(document=cpf)
    assert person.search_name == "silvia souza"
    [change] = person_changes(Change.Action.CREATED)
    assert change.by == agent and change.object_id == str(person.pk)


def test_a_cnpj_makes_a_legal_entity(api_as, agent):
    cnpj = make_cnpj()
    response = api_as(agent).post("/people", {"name": "Acme Ltda", "document": format_document(cnpj)})
    assert response.status_code == 201, response.body
    assert response.body["kind"] == "legal" and response.body["document"] == cnpj


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "document": "123.456.789-00"}, "document"),  # wrong check digits
        ({"name": "X", "document": "abc"}, "document"),
        ({"name": "X", "document": "²²²"}, "document"),
        ({"name": ""}, "name"),
        ({"name": "X", "state": "SPX"}, "state"),
        ({"name": "X", "kind": "legal", "document": "CPF"}, "document"),
        ({"document": "1"}, "name"),
    ],
)
def test_a_bad_person_is_422_naming_the_field(api_as, agent, body, field):
    assert_error(api_as(agent).post("/people", body), 422, "invalid", field)
    assert not Person.objects.exists() and history_is_empty()


def test_a_person_whose_kind_contradicts_the_document_is_refused(api_as, agent):
    body = {"name": "X", "kind": "legal", "document": make_cpf()}
    assert_error(api_as(agent).post("/people", body), 422, "invalid", "document")


def test_a_duplicated_document_is_422_naming_the_document(api_as, agent):
    existing = make_person()
    error = assert_error(
        api_as(agent).post("/people", {"name": "Outra", "document": existing.document}), 422, "invalid", "document"
    )
    assert "CPF/CNPJ" in error["fields"]["document"][0]
    assert Person.objects.count() == 1


def test_a_person_is_updated_and_the_change_recorded(api_as, agent):
    person = make_person(name="Ana")
    response = api_as(agent).patch(f"/people/{person.pk}", {"name": "Ana Maria", "city": "Recife"})
    assert response.status_code == 200 and response.body["name"] == "Ana Maria"
    person.refresh_from_db()
    assert person.search_name == "ana maria"
    [change] = person_changes(Change.Action.CHANGED)
    assert change.changes["name"] == ["Ana", "Ana Maria"] and change.changes["city"] == ["", "Recife"]


def test_updating_to_anothers_document_is_422(api_as, agent):
    first, second = make_person(), make_person()
    assert_error(api_as(agent).patch(f"/people/{second.pk}", {"document": first.document}), 422, "invalid", "document")
    second.refresh_from_db()
    assert second.document != first.document and history_is_empty()


def test_people_need_a_token_and_unknown_ones_are_404(api_as, anonymous, agent):
    person = make_person()
    assert_error(anonymous.get("/people"), 401)
    assert_error(anonymous.get(f"/people/{person.pk}"), 401)
    assert_error(anonymous.post("/people", {"name": "X"}), 401)
    assert_error(anonymous.patch(f"/people/{person.pk}", {"name": "X"}), 401)
    assert_error(api_as(agent).get(f"/people/{person.pk + 100}"), 404, "not_found")
    assert_error(api_as(agent).patch(f"/people/{person.pk + 100}", {"name": "X"}), 404)


def test_a_persons_detail_has_contacts(api_as, agent):
    person = make_person(name="Acme")
    ContactPerson.objects.create(person=person, name="João", role="Compras")
    body = api_as(agent).get(f"/people/{person.pk}").body
    assert body["contacts"][0]["name"] == "João" and body["phones"] == [] and body["emails"] == []


def test_people_are_found_by_name_prefix_or_document_and_paged_by_cursor(api_as, agent):
    for name in ["Sílvia Souza", "Silvana Lima", "Silveira & Cia", "Marcos", "silvio"]:
        make_person(name=name)
    target = make_person(name="Zé", document=make_cpf())
    api = api_as(agent)
    page = api.get("/people", q="silv", limit=2).body
    names = [p["name"] for p in page["items"]]
    assert names == ["Silvana Lima", "Silveira & Cia"]
    rest = api.get("/people", q="silv", limit=2, cursor=page["next_cursor"]).body
    assert [p["name"] for p in rest["items"]] == ["Sílvia Souza", "silvio"]
    assert rest["next_cursor"] is None
    by_document = api.get("/people", q=format_document(target.document)).body
    assert [p["id"] for p in by_document["items"]] == [target.pk]
    assert_error(api.get("/people", cursor="garbage"), 422, "invalid", "cursor")


def test_the_api_people_list_finds_any_word_and_refuses_short_queries(api_as, agent, db):
    make_person(name="Distribuidora Vale Verde Ltda", kind=Person.Kind.LEGAL, document=ALNUM_CNPJ)
    make_person(name="Ana Sílvia Souza", document="52998224725")
    make_person(name="Daniela Carvalho")
    api = api_as(agent)
    body = api.get("/people", q="vale verde").body
    assert [p["name"] for p in body["items"]] == ["Distribuidora Vale Verde Ltda"]
    assert body["items"][0]["document"] == ALNUM_CNPJ
    assert body["items"][0]["document_display"] == "12.ABC.345/01DE-35"
    assert [p["name"] for p in api.get("/people", q="529.982.247-25").body["items"]] == ["Ana Sílvia Souza"]
    response = api.get("/people", q="an")
    assert response.status_code == 422 and "q" in response.body["error"]["fields"]
    assert "3 characters" in response.body["error"]["fields"]["q"][0]


def test_the_people_list_makes_the_same_queries_for_any_page_size(api_as, agent):
    api = api_as(agent)
    for _i in range(30):
        make_person()
    api.get("/me")  # the token's first use writes last_used_at
    counts = []
    for limit in (5, 30):
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get("/people", limit=limit).body["items"]) == limit
        counts.append(len(ctx))
    assert counts[0] == counts[1]


# ---- companies --------------------------------------------------------------------------------


def test_agents_read_companies_but_only_admins_add_them(api_as, agent, admin_user):
    company = make_company(name="Matriz")
    assert [c["name"] for c in api_as(agent).get("/companies").body] == ["Matriz"]
    assert api_as(agent).get(f"/companies/{company.pk}").body["code"] == company.code
    assert_error(api_as(agent).post("/companies", {"code": "F2", "name": "Filial"}), 403, "forbidden")
    assert_error(api_as(agent).patch(f"/companies/{company.pk}", {"name": "X"}), 403)
    cnpj = make_cnpj()
    response = api_as(admin_user).post("/companies", {"code": "F2", "name": "Filial", "cnpj": format_document(cnpj)})
    assert response.status_code == 201, response.body
    assert Company.objects.get(code="F2").cnpj == cnpj
    response = api_as(admin_user).patch(f"/companies/{company.pk}", {"active": False})
    assert response.body["active"] is False
    actions = set(
        Change.objects.filter(content_type=ContentType.objects.get_for_model(Company)).values_list("action", flat=True)
    )
    assert actions == {Change.Action.CREATED, Change.Action.DEACTIVATED}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"code": "F2", "name": "X", "cnpj": "11.111.111/1111-11"}, "cnpj"), ({"code": "", "name": "X"}, "code")],
)
def test_a_bad_company_is_422(api_as, admin_user, body, field):
    assert_error(api_as(admin_user).post("/companies", body), 422, "invalid", field)
    assert not Company.objects.exists()


def test_a_duplicated_company_code_is_422(api_as, admin_user):
    make_company(code="M1")
    assert_error(api_as(admin_user).post("/companies", {"code": "M1", "name": "X"}), 422, "invalid", "code")


def test_companies_need_a_token_and_unknown_ones_are_404(api_as, anonymous, agent):
    assert_error(anonymous.get("/companies"), 401)
    assert_error(api_as(agent).get("/companies/999"), 404)


# ---- alphanumeric CNPJ ------------------------------------------------------------------------


def test_an_alphanumeric_cnpj_is_accepted_stored_bare_and_shown_masked(api_as, agent):
    assert ALNUM_CNPJ == "12ABC34501DE35"
    response = api_as(agent).post("/people", {"name": "Nova Ltda", "document": "12.abc.345/01de-35"})
    assert response.status_code == 201, response.body
    assert response.body["document"] == ALNUM_CNPJ and response.body["kind"] == "legal"
    assert response.body["document_display"] == "12.ABC.345/01DE-35"
    assert Person.objects.get().document == ALNUM_CNPJ
    patched = api_as(agent).patch(f"/people/{response.body['id']}", {"document": "12ABC34501DE35"})
    assert patched.status_code == 200 and patched.body["document"] == ALNUM_CNPJ


def test_a_wrong_alphanumeric_cnpj_is_refused_in_the_users_words_naming_the_document(api_as, agent):
    error = assert_error(
        api_as(agent).post("/people", {"name": "Nova Ltda", "document": "12.ABC.345/01DE-36"}),
        422,
        "invalid",
        "document",
    )
    assert "The CNPJ check digits are wrong" in error["fields"]["document"][0]
    assert "pattern" not in str(error) and not Person.objects.exists() and history_is_empty()


def test_the_schema_allows_letters_in_a_document(db):
    from ciclo.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    document = schema["components"]["schemas"]["PersonIn"]["properties"]["document"]
    assert "pattern" not in document


def test_adding_a_person_with_phone_and_email_writes_their_history(api_as, agent):
    from ciclo.people import changes

    person = changes.create_person(by=agent, name="Ana", document=make_cpf(), phone="(11) 98765-4321", email="a@b.co")
    assert person.phones.get().number == "(11) 98765-4321" and person.emails.get().address == "a@b.co"
    assert {c.content_type.model for c in Change.objects.filter(action=Change.Action.CREATED)} == {
        "person",
        "phone",
        "email",
    }

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from ciclo.people.documents import (
    cnpj_check_digits,
    cpf_check_digits,
    format_document,
    is_valid_cnpj,
    is_valid_cpf,
    validate_document,
)
from ciclo.people.models import Person


@pytest.mark.parametrize("cpf", ["529.982.247-25", "52998224725", "111.444.777-35"])
def test_valid_cpfs_pass(cpf):
    assert is_valid_cpf(cpf)


@pytest.mark.parametrize("cpf", ["529.982.247-24", "111.111.111-11", "1234567890", "", "abc"])
def test_it_refuses_cpf_with_wrong_check_digits_or_length(cpf):
    assert not is_valid_cpf(cpf)


@pytest.mark.parametrize("cnpj", ["11.222.333/0001-81", "11222333000181", "45.723.174/0001-10"])
def test_valid_cnpjs_pass(cnpj):
    assert is_valid_cnpj(cnpj)


@pytest.mark.parametrize("cnpj", ["11.222.333/0001-80", "00000000000000", "1122233300018", ""])
def test_it_refuses_cnpj_with_wrong_check_digits_or_length(cnpj):
    assert not is_valid_cnpj(cnpj)


def test_generated_check_digits_validate():
    for base in ("123456789", "987654321", "000000001"):
        assert is_valid_cpf(cpf_check_digits(base))
    for base in ("112223330001", "457231740001"):
        assert is_valid_cnpj(cnpj_check_digits(base))


def test_format_document():
    assert format_document("52998224725") == "529.982.247-25"
    assert format_document("11222333000181") == "11.222.333/0001-81"


def test_validate_document_names_the_rule():
    with pytest.raises(ValidationError) as err:
        validate_document("123")
    assert "CPF" in str(err.value) and "CNPJ" in str(err.value)
    with pytest.raises(ValidationError) as err:
        validate_document("529.982.247-24")
    assert err.value.code == "invalid_cpf"


@pytest.mark.django_db
def test_person_form_validation_refuses_bad_document_and_stores_digits():
    person = Person(name="Maria Sílvia", document="529.982.247-24")
    with pytest.raises(ValidationError) as err:
        person.full_clean()
    assert "document" in err.value.message_dict
    person.document = "529.982.247-25"
    person.full_clean()
    person.save()
    person.refresh_from_db()
    assert person.document == "52998224725"
    assert person.search_name == "maria silvia"


@pytest.mark.django_db
def test_person_kind_must_match_document():
    person = Person(name="Padaria", kind=Person.Kind.INDIVIDUAL, document="11222333000181")
    with pytest.raises(ValidationError) as err:
        person.full_clean()
    assert "document" in err.value.message_dict


@pytest.mark.django_db
def test_person_search_ignores_accents_and_finds_documents():
    Person.objects.create(name="Sílvia Souza", document="52998224725")
    Person.objects.create(name="Silveira Ltda", kind=Person.Kind.LEGAL, document="11222333000181")
    Person.objects.create(name="Marcos", document="11144477735")
    assert {p.name for p in Person.objects.search("silv")} == {"Sílvia Souza", "Silveira Ltda"}
    assert [p.name for p in Person.objects.search("529.982")] == ["Sílvia Souza"]
    assert [p.name for p in Person.objects.search("11.222.333/0001-81")] == ["Silveira Ltda"]


@pytest.mark.django_db
def test_two_people_cannot_share_a_document():
    Person.objects.create(name="A", document="52998224725")
    with pytest.raises(ValidationError) as err:
        Person(name="B", document="529.982.247-25").full_clean()
    assert "CPF/CNPJ" in str(err.value)


def test_non_ascii_digits_are_not_digits():
    assert not is_valid_cpf("1234567890²")
    with pytest.raises(ValidationError):
        validate_document("1234567890²")

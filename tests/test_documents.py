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
    assert format_document("12abc34501de35") == "12.ABC.345/01DE-35"


# The alphanumeric CNPJ (July 2026): each character counts as its ASCII code minus 48.
def test_the_alphanumeric_cnpj_check_digits_follow_the_rule():
    weights1, weights2 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    base = "12ABC34501DE"

    def dv(values, weights):
        r = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        return 0 if r < 2 else 11 - r

    values = [ord(c) - 48 for c in base]
    first = dv(values, weights1)
    second = dv([*values, first], weights2)
    assert (first, second) == (3, 5)
    assert cnpj_check_digits(base) == "12ABC34501DE35"
    assert is_valid_cnpj("12.ABC.345/01DE-35") and is_valid_cnpj("12abc34501de35")


@pytest.mark.parametrize("cnpj", ["12.ABC.345/01DE-36", "12.ABC.345/01DE-3A", "12.ÁBC.345/01DE-35", "AAAAAAAAAAAAAA"])
def test_a_wrong_alphanumeric_cnpj_is_refused(cnpj):
    assert not is_valid_cnpj(cnpj)


def test_the_refusal_says_which_rule_failed():
    with pytest.raises(ValidationError) as err:
        validate_document("12.ABC.345/01DE-36")
    assert err.value.code == "invalid_cnpj" and "check digits are wrong" in err.value.messages[0]
    with pytest.raises(ValidationError) as err:
        validate_document("12.ABC.345/01DE-3X")
    assert "12 letters or digits and 2 check digits" in err.value.messages[0]
    validate_document("12.ABC.345/01DE-35")


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
    assert {p.name for p in Person.objects.search("souza")} == {"Sílvia Souza"}
    assert [p.name for p in Person.objects.search("529.982")] == ["Sílvia Souza"]
    assert [p.name for p in Person.objects.search("11.222.333/0001-81")] == ["Silveira Ltda"]


@pytest.mark.django_db
def test_an_alphanumeric_cnpj_is_stored_upper_case_without_its_mask():
    person = Person(name="Nova", kind=Person.Kind.LEGAL, document="12.abc.345/01de-35")
    person.full_clean()
    person.save()
    person.refresh_from_db()
    assert person.document == "12ABC34501DE35" and person.document_display == "12.ABC.345/01DE-35"
    with pytest.raises(ValidationError) as err:
        Person(name="Outra", kind=Person.Kind.LEGAL, document="12ABC34501DE35").full_clean()
    assert err.value.message_dict["document"] == ["Another person already has this CPF/CNPJ."]


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

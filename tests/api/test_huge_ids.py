"""The API answers an id beyond 64 bits, or of thousands of digits, with a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.factory import make_person, make_ticket

HUGE = "9" * 5000  # beyond Python's own limit (4,300 digits) for reading an integer
TOO_LONG = [HUGE, str(2**63), str(2**64), "-" + str(2**63 + 1)]


@pytest.fixture
def api(api_as, supervisor):
    api = api_as(supervisor)
    api.client.raise_request_exception = True  # a server error fails the test with its traceback
    return api


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize(
    "path",
    ["/tickets/{}", "/tickets/{}/history", "/tickets/{}/cycle", "/people/{}", "/companies/{}"],
)
def test_a_path_id_beyond_64_bits_is_a_4xx(api, sales, path, raw):
    response = api.get(path.format(raw))
    assert 400 <= response.status_code < 500, response.content[:500]


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize("name", ["company", "next_contact_user", "limit"])
def test_a_query_id_beyond_64_bits_is_a_422_naming_it(api, sales, name, raw):
    response = api.get("/tickets", **{name: raw})
    assert response.status_code == 422, response.content[:500]
    assert response.body["error"]["fields"]


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize("name", ["crs", "service_types", "person", "cursor"])
def test_a_query_code_of_thousands_of_digits_is_no_server_error(api, sales, name, raw):
    assert api.get("/tickets", **{name: raw}).status_code < 500


@pytest.mark.parametrize("raw", TOO_LONG)
@pytest.mark.parametrize("path", ["/tickets/{}/notes", "/tickets/{}/answers", "/tickets/{}/move"])
def test_a_post_to_a_path_id_beyond_64_bits_is_a_4xx(api, sales, path, raw):
    response = api.post(path.format(raw), {})
    assert 400 <= response.status_code < 500, response.content[:500]


@pytest.mark.parametrize("raw", [2**63, 2**64, -(2**63) - 1, int("9" * 100)])
@pytest.mark.parametrize("field", ["person", "company", "contact_person", "next_contact_user"])
def test_a_body_id_beyond_64_bits_is_a_422_naming_it(api, sales, field, raw):
    body = {
        "person": make_person().pk,
        "service_type": sales.type.code,
        "company": sales.company.pk,
        "subject": "Interesse",
        field: raw,
    }
    response = api.post("/tickets", body)
    assert response.status_code == 422, response.content[:500]
    assert response.body["error"]["fields"]


@pytest.mark.parametrize("raw", TOO_LONG)
def test_a_note_naming_a_next_contact_user_beyond_64_bits_is_a_422(api, sales, supervisor, raw):
    ticket = make_ticket(sales, supervisor)
    response = api.post(f"/tickets/{ticket.pk}/notes", raw=f'{{"text": "Ligação", "next_contact_user": {raw}}}')
    # Thousands of digits are beyond what the JSON reader takes (400); the others are out of range (422).
    assert response.status_code == (400 if raw == HUGE else 422), response.content[:500]
    assert not ticket.notes.filter(text="Ligação").exists()

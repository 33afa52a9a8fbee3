from __future__ import annotations

from django.urls import reverse

from ciclo.tickets.models import Ticket
from tests.factory import make_person


def test_person_search_by_name_and_document(client, agent, db):
    ana = make_person(name="Ana Sílvia Souza")
    make_person(name="Bruno Lima")
    client.force_login(agent)
    html = client.get(reverse("person_search"), {"q": "silv"}).content.decode()
    assert "Ana Sílvia Souza" not in html  # "silv" is not a prefix of "ana silvia"
    html = client.get(reverse("person_search"), {"q": "ana s"}).content.decode()
    assert "Ana Sílvia Souza" in html and "Bruno" not in html
    html = client.get(reverse("person_search"), {"q": ana.document[:5]}).content.decode()
    assert "Ana Sílvia Souza" in html
    assert "at least 3" in client.get(reverse("person_search"), {"q": "an"}).content.decode()


def test_open_a_ticket_and_land_on_its_cycle(client, sales, agent):
    person = make_person()
    contact = person.contacts.create(name="Carla")
    client.force_login(agent)
    page = client.get(reverse("ticket_new")).content.decode()
    assert sales.type.description in page and sales.group.description not in page.split("id_service_type")[1][:2000]
    response = client.post(
        reverse("ticket_new"),
        {
            "person": person.pk,
            "service_type": sales.type.pk,
            "subject": "Quer uma demonstração",
            "contact_person": contact.pk,
            "company": sales.company.pk,
            "channel": "phone",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/tickets/{ticket.pk}/#cycle")
    assert ticket.contact_person == contact and ticket.opened_by == agent and ticket.cr == sales.cr_prospect


def test_bad_input_is_shown_beside_the_fields_and_nothing_is_opened(client, sales, agent):
    client.force_login(agent)
    response = client.post(reverse("ticket_new"), {"service_type": sales.group.pk, "subject": "", "channel": "pombo"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "is-invalid" in html and "invalid-feedback" in html
    assert not Ticket.objects.exists()


def test_an_agent_outside_the_first_cr_is_refused(client, sales, agent, outsider):
    sales.cr_prospect.members.add(agent)
    client.force_login(outsider)
    response = client.post(
        reverse("ticket_new"),
        {
            "person": make_person().pk,
            "service_type": sales.type.pk,
            "subject": "x",
            "company": sales.company.pk,
            "channel": "phone",
        },
    )
    assert response.status_code == 422 and "members" in response.content.decode()
    assert not Ticket.objects.exists()


def test_contacts_of_the_chosen_person(client, agent, db):
    person = make_person()
    person.contacts.create(name="Diretor Financeiro")
    client.force_login(agent)
    assert "Diretor Financeiro" in client.get(reverse("person_contacts"), {"person": person.pk}).content.decode()

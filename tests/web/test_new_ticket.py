from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from ciclo.history.models import Change
from ciclo.people.documents import cnpj_check_digits
from ciclo.people.models import Person
from ciclo.tickets.models import Ticket
from tests.factory import make_cpf, make_person


def test_person_search_by_name_and_document(client, agent, db):
    ana = make_person(name="Ana Sílvia Souza")
    make_person(name="Bruno Lima")
    client.force_login(agent)
    html = client.get(reverse("person_search"), {"q": "silv"}).content.decode()
    assert "Ana Sílvia Souza" in html and "Bruno" not in html  # anywhere in the name, not only its start
    assert "onclick" not in html  # behaviour is bound from new_ticket.js
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


# ---- adding a person on the new-ticket page -----------------------------------------------------


def new_person(client, **fields):
    data = {f"new_person-{k}": v for k, v in fields.items()}
    return client.post(reverse("person_create"), data, HTTP_HX_REQUEST="true")


def test_the_new_ticket_page_offers_to_add_a_person(client, agent, db):
    client.force_login(agent)
    html = client.get(reverse("ticket_new")).content.decode()
    assert 'name="new_person-name"' in html and reverse("person_create") in html
    assert "ciclo/new_ticket.js" in html and "onclick" not in html


def test_an_agent_adds_a_person_who_is_then_chosen(client, agent, db):
    client.force_login(agent)
    cnpj = cnpj_check_digits("12ABC34501DE")
    response = new_person(
        client,
        name="Distribuidora Vale Verde Ltda",
        document="12.abc.345/01de-35",
        phone="(11) 3333-4444",
        email="compras@valeverde.com.br",
    )
    assert response.status_code == 200
    person = Person.objects.get()
    assert person.document == cnpj and person.kind == Person.Kind.LEGAL and person.search_key
    assert person.phones.get().number == "(11) 3333-4444" and person.emails.get().address == "compras@valeverde.com.br"
    html = response.content.decode()
    assert f'data-person-created data-person-id="{person.pk}"' in html and "12.ABC.345/01DE-35" in html
    [change] = Change.objects.filter(content_type=ContentType.objects.get_for_model(Person))
    assert change.action == Change.Action.CREATED and change.by == agent and change.object_id == str(person.pk)


def test_a_bad_person_is_shown_with_its_errors_and_nothing_is_added(client, agent, db):
    client.force_login(agent)
    response = new_person(client, name="Fulano", document="529.982.247-24", phone="12", email="not-an-email")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The CPF check digits are wrong" in html and "is-invalid" in html
    assert "8 to 13 digits" in html and "e-mail" in html.lower()
    assert not Person.objects.exists() and not Change.objects.exists()
    taken = make_person(document=make_cpf())
    html = new_person(client, name="Outro", document=taken.document).content.decode()
    assert "Another person already has this CPF/CNPJ." in html and Person.objects.count() == 1
    html = new_person(client, name="Fulano", kind="individual", document=cnpj_check_digits("12ABC34501DE")).content
    assert "An individual carries a CPF" in html.decode()


def test_adding_a_person_needs_a_post_and_a_ciclo_user(client, agent, db):
    from django.contrib.auth.models import User

    assert client.post(reverse("person_create"), {"new_person-name": "X"}).status_code == 302  # to the login
    client.force_login(User.objects.create_user("norole"))
    assert client.post(reverse("person_create"), {"new_person-name": "X"}).status_code == 403
    client.force_login(agent)
    assert client.get(reverse("person_create")).status_code == 405
    assert not Person.objects.exists()


def test_agents_are_kept_out_of_the_admin(client, agent, supervisor, admin_user):
    client.force_login(agent)
    for path in (reverse("admin:index"), reverse("admin:people_person_add"), reverse("admin:people_person_changelist")):
        response = client.get(path)
        assert response.status_code == 302 and reverse("admin:login") in response["Location"], path
    client.force_login(supervisor)
    assert client.get(reverse("admin:index")).status_code == 200
    client.force_login(admin_user)
    assert client.get(reverse("admin:people_person_add")).status_code == 200


def test_the_admin_adds_a_person_through_the_same_rules(client, admin_user):
    client.force_login(admin_user)
    data = {
        "name": "Nova Ltda",
        "kind": "legal",
        "document": "12.ABC.345/01DE-35",
        "active": "on",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "phones-TOTAL_FORMS": "0",
        "phones-INITIAL_FORMS": "0",
        "emails-TOTAL_FORMS": "0",
        "emails-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("admin:people_person_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    person = Person.objects.get()
    assert person.document == "12ABC34501DE35" and "nova ltda" in person.search_key
    assert Change.objects.filter(action=Change.Action.CREATED, object_id=str(person.pk)).count() == 1

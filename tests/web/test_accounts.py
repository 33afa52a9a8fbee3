from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factory import make_user


@pytest.fixture(autouse=True)
def _fresh_lockouts(db):
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_log_in_and_out(client, agent):
    response = login(client, "agent_t", "ciclo-test-pw")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home")).content.decode()
    assert "agent_t" in page  # who is logged in
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, agent):
    response = login(client, "agent_t", "errada")
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()


def test_a_user_without_role_cannot_log_in(client, django_user_model):
    django_user_model.objects.create_user("semrole", password="ciclo-test-pw")
    response = login(client, "semrole", "ciclo-test-pw")
    assert response.status_code == 200 and "no role" in response.content.decode()


def test_repeated_failures_lock_the_account_out(client, agent):
    for _ in range(5):
        login(client, "agent_t", "errada")
    response = login(client, "agent_t", "ciclo-test-pw")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    # another user from the same address is not locked
    make_user("other_t")
    assert login(client, "other_t", "ciclo-test-pw").status_code == 302


def test_change_password(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("password_change"),
        {"old_password": "ciclo-test-pw", "new_password1": "Nova-senha-forte-9", "new_password2": "Nova-senha-forte-9"},
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password("Nova-senha-forte-9")


def test_change_password_refuses_a_wrong_old_one(client, agent):
    client.force_login(agent)
    response = client.post(
        reverse("password_change"),
        {"old_password": "x", "new_password1": "Nova-senha-forte-9", "new_password2": "Nova-senha-forte-9"},
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    agent.refresh_from_db()
    assert agent.check_password("ciclo-test-pw")


def test_language_switcher(client, agent):
    client.force_login(agent)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get(reverse("home")).content.decode()
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/"})
    assert 'lang="pt-br"' in client.get(reverse("home")).content.decode()


def test_only_admins_see_the_configurator_link(client, agent, admin_user):
    client.force_login(agent)
    assert reverse("admin:index") not in client.get(reverse("home")).content.decode()
    client.force_login(admin_user)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()

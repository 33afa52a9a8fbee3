from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse

from tests.factory import make_user


@pytest.fixture(autouse=True)
def _fresh_lockouts(db):
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


# The lockout: it lasts AXES_COOLOFF_HOURS (15 minutes) from the failure that set it.

LOCKED_AT = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)


def lock_out(client, username="agent_t", **extra):
    for _ in range(5):
        client.post(reverse("login"), {"username": username, "password": "errada"}, **extra)


def test_attempts_while_locked_out_do_not_extend_the_lock(client, agent):
    with time_machine.travel(LOCKED_AT, tick=False) as clock:
        lock_out(client)
        # Someone keeps trying, with wrong and right passwords, all through the cool-off.
        for minutes in (1, 5, 10, 14):
            clock.move_to(LOCKED_AT + dt.timedelta(minutes=minutes))
            assert login(client, "agent_t", "errada").status_code == 429
            assert login(client, "agent_t", "ciclo-test-pw").status_code == 429
        clock.move_to(LOCKED_AT + dt.timedelta(minutes=14, seconds=59))
        assert login(client, "agent_t", "ciclo-test-pw").status_code == 429
        # 15 minutes after the first lock, the right password works.
        clock.move_to(LOCKED_AT + dt.timedelta(minutes=15, seconds=1))
        response = login(client, "agent_t", "ciclo-test-pw")
        assert response.status_code == 302 and response["Location"] == reverse("home")


def test_after_the_lock_expires_failures_count_from_zero_again(client, agent):
    with time_machine.travel(LOCKED_AT, tick=False) as clock:
        lock_out(client)
        login(client, "agent_t", "errada")  # while locked: not counted
        clock.move_to(LOCKED_AT + dt.timedelta(minutes=16))
        for _ in range(4):
            assert login(client, "agent_t", "errada").status_code == 200
        assert login(client, "agent_t", "ciclo-test-pw").status_code == 302


# Behind the proxy that terminates TLS, every connection comes from the proxy's address.

PROXY = "10.0.0.2"


def via_proxy(client, client_address, username, password):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=client_address,
    )


@pytest.fixture
def trusted_proxy(settings):
    settings.CICLO_TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.CICLO_TRUSTED_PROXY_COUNT = 1


def test_with_a_trusted_proxy_a_lockout_holds_only_the_attackers_address(client, agent, trusted_proxy):
    for _ in range(5):
        via_proxy(client, "203.0.113.5", "agent_t", "errada")
    assert via_proxy(client, "203.0.113.5", "agent_t", "ciclo-test-pw").status_code == 429
    # The user, from their own address through the same proxy, is not locked out.
    response = via_proxy(client, "198.51.100.7", "agent_t", "ciclo-test-pw")
    assert response.status_code == 302
    attempt = AccessAttempt.objects.get()
    assert attempt.ip_address == "203.0.113.5"


def test_the_proxy_header_is_read_from_the_end_the_proxy_wrote(client, agent, trusted_proxy):
    # The proxy appends the address it saw; what the client sent before it is its own invention.
    for n in range(5):
        via_proxy(client, f"192.0.2.{n}, 203.0.113.5", "agent_t", "errada")
    assert via_proxy(client, "192.0.2.99, 203.0.113.5", "agent_t", "ciclo-test-pw").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_with_two_trusted_proxies_the_client_is_the_second_from_the_end(client, agent, trusted_proxy, settings):
    settings.CICLO_TRUSTED_PROXY_COUNT = 2
    via_proxy(client, "192.0.2.1, 203.0.113.5, 10.0.0.9", "agent_t", "errada")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"


@pytest.mark.parametrize("header", ["", "not-an-address", "203.0.113.5:4431", "1" * 5000])
def test_a_missing_or_malformed_proxy_header_falls_back_to_the_connection(client, agent, trusted_proxy, header):
    response = via_proxy(client, header, "agent_t", "errada")
    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == PROXY


def test_without_a_trusted_proxy_the_header_is_ignored(client, agent):
    # A client that forges a new address on every try is still locked out.
    for n in range(5):
        via_proxy(client, f"203.0.113.{n}", "agent_t", "errada")
    assert via_proxy(client, "203.0.113.77", "agent_t", "ciclo-test-pw").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}

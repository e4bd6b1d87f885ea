"""Lockout that an attacker cannot turn against the honest: a lock holds one username from one address, a
username attacked from many addresses slows down (a growing wait, 429 with Retry-After) instead of locking,
the account's owner still logs in from an address with no failures, and dispatch hears of the attack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client

from dispatch.demo import DEMO_PASSWORD
from dispatch.models import Alert

ATTACKERS = [f"203.0.113.{i}" for i in range(10, 15)]  # five addresses
OWN = "198.51.100.77"  # rider1's phone


def _form(username, password, ip, **extra):
    return Client().post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _token(username, password, ip, **extra):
    return Client().post("/api/auth/token/", {"username": username, "password": password},
                         content_type="application/json", REMOTE_ADDR=ip, **extra)


def _admin(username, password, ip, **extra):
    return Client().post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                        "next": "/admin/"}, REMOTE_ADDR=ip, **extra)


DOORS = {"login_form": _form, "api_token": _token, "admin": _admin}


def _in(door, response) -> bool:
    if door == "api_token":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def _attack(door, username="rider1", per_address=10):
    return [DOORS[door](username, f"guess-{i}", ip) for ip in ATTACKERS for i in range(per_address)]


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["login_form", "api_token"])
def test_an_attack_from_five_addresses_does_not_lock_the_rider_out(door, demo):
    answers = _attack(door)
    assert not any(_in(door, r) for r in answers)
    refused = [r for r in answers if r.status_code == 429]
    assert refused and all(int(r["Retry-After"]) >= 1 for r in refused)
    # The attacker's addresses cannot try the right password now either: they wait.
    late = DOORS[door]("rider1", DEMO_PASSWORD, ATTACKERS[-1])
    assert late.status_code == 429 and int(late["Retry-After"]) >= 1
    # The rider, from their own address: in.
    assert _in(door, DOORS[door]("rider1", DEMO_PASSWORD, OWN))


@pytest.mark.django_db
def test_the_wait_grows_and_is_capped(demo, settings):
    from axes.models import AccessAttempt

    settings.LOGIN_BACKOFF_CAP_S = 8
    botnet = [f"192.0.2.{i}" for i in range(10)]  # one failure each: no address reaches its own lock
    for i, ip in enumerate(botnet):
        _token("rider1", f"g{i}", ip)
    waits = []
    for i in range(6):
        ip = botnet[i]
        r = _token("rider1", "again", ip)
        assert r.status_code == 429 and r.json()["code"] == "locked_out"
        waits.append(int(r["Retry-After"]))
        # The wait passes (the clock of the failures moves back by it); the next try is a real one and fails.
        AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=waits[-1]))
        assert _token("rider1", "again", ip).status_code == 400
    assert waits == [1, 2, 4, 8, 8, 8]


@pytest.mark.django_db
@pytest.mark.parametrize("door", DOORS)
def test_one_address_with_many_failures_does_not_lock_others_behind_it(door, demo):
    """An office or a carrier NAT: one user (or attacker) there failing does not lock the others out."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("colleague", password=DEMO_PASSWORD, is_staff=True, is_superuser=True)
    shared = "203.0.113.99"
    for i in range(12):
        DOORS[door]("rider2", f"guess-{i}", shared)
    assert DOORS[door]("rider2", DEMO_PASSWORD, shared).status_code == 429  # this pair is locked
    assert _in(door, DOORS[door]("colleague", DEMO_PASSWORD, shared))


@pytest.mark.django_db
def test_dispatch_is_told_of_the_attack_with_the_rider_and_no_address(demo):
    _attack("api_token", per_address=3)
    alert = Alert.objects.get(kind="login_attack", acked_at__isnull=True)
    assert alert.rider == demo["rider1"].rider
    assert alert.detail["failures"] >= 10 and alert.detail["addresses"] >= 2
    text = str(alert.detail) + alert.key
    assert "203.0.113" not in text and "rider1" not in text  # no address, no username in the row
    assert Alert.objects.filter(kind="login_attack").count() == 1  # one open alert, bumped


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_client_address_counts(demo, settings):
    """One reverse proxy (TRUSTED_PROXY_COUNT=1) appends the address it saw to X-Forwarded-For: that address
    is the client's; whatever the client wrote before it is ignored."""
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for i in range(3):
        _form("rider2", f"guess-{i}", proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.50")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50"}
    # Without a trusted proxy the header is the client's own: ignored.
    settings.TRUSTED_PROXY_COUNT = 0
    _form("rider2", "guess", "203.0.113.60", HTTP_X_FORWARDED_FOR="203.0.113.50")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50", "203.0.113.60"}

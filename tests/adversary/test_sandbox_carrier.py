"""The sandbox carrier against strangers (finding 3): it exists only in demo mode, places a call only for a
logged-in party calling as themselves, and tells a caller nothing about a number they do not hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from dispatch.models import Order
from dispatch.services.calls import call_session_start
from tests.factories import CUSTOMER_PHONE, order_payload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_call(merchant, dispatcher, demo, settings):
    """rider1 holds a masked call session with the customer of a fresh order."""
    settings.TELEPHONY_POOL = ["+15550100001", "+15550100002"]
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    rider = demo["rider1"].rider
    dispatcher.post(f"/api/dispatch/orders/{created['id']}/assign/", {"rider": rider.pk}, format="json")
    session = call_session_start(order=Order.objects.get(pk=created["id"]), rider=rider)
    token = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return {"order": created["id"], "proxy": session.proxy_number, "rider": rider, "token": token}


def sandbox(client, **data):
    return client.post("/telephony/sandbox/call/", data, format="json")


@pytest.mark.django_db
def test_an_anonymous_stranger_cannot_place_a_call(live_call):
    """Plays a stranger with a phone and no account: they know the customer's number, or a rider's, and the
    proxy number, and try to be connected through the carrier."""
    anonymous = APIClient()
    as_customer = sandbox(anonymous, from_number=CUSTOMER_PHONE, to=live_call["proxy"])
    as_rider = sandbox(anonymous, from_number=live_call["rider"].phone, to=live_call["proxy"])
    for response in (as_customer, as_rider):
        assert response.status_code in (401, 403, 404), response.content
        assert "callee" not in response.json() and "connected" not in response.json()


@pytest.mark.django_db
def test_a_stranger_who_knows_a_riders_number_reaches_nobody(live_call, client_for):
    """Plays a stranger with an account of their own (another rider) who knows rider1's number: the carrier
    places the call from the caller's own phone, so the claimed number is ignored."""
    stranger = client_for("rider2")
    response = sandbox(stranger, from_number=live_call["rider"].phone, to=live_call["proxy"])
    assert response.status_code == 200
    assert response.json()["connected"] is False and response.json()["callee"] == ""


@pytest.mark.django_db
def test_probing_a_customers_number_answers_the_same_as_any_number(live_call, client_for):
    """Plays a curious rider probing whether a number is a live customer's (or whether a proxy number is in use):
    the answer for a live pair is the same as for a number nobody holds."""
    prober = client_for("rider2")
    probe = sandbox(prober, from_number=CUSTOMER_PHONE, to=live_call["proxy"])
    unused = sandbox(prober, from_number="+447700111222", to="+15550100002")
    nowhere = sandbox(prober, to="+15550999999")
    assert probe.status_code == unused.status_code == nowhere.status_code == 200
    shapes = [{k: v for k, v in r.json().items() if k != "caller_id"} for r in (probe, unused, nowhere)]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0]["connected"] is False and shapes[0]["callee"] == ""


@pytest.mark.django_db
def test_the_parties_still_call_each_other_as_themselves(live_call, rider1):
    """Plays the two legitimate parties in the demo: the logged-in rider and the holder of the tracking link."""
    mine = sandbox(rider1, to=live_call["proxy"]).json()
    assert (mine["connected"], mine["callee"], mine["caller_id"]) == (True, "customer", live_call["proxy"])
    theirs = sandbox(APIClient(), token=live_call["token"], to=live_call["proxy"]).json()
    assert (theirs["connected"], theirs["callee"]) == (True, "rider")
    assert "7700" not in str(mine) + str(theirs)  # never a number but the proxy's


@pytest.mark.django_db
def test_outside_demo_mode_the_sandbox_does_not_exist(live_call, rider1, client, settings):
    """Plays a stranger against a production deployment left on the sandbox provider: every sandbox entry
    point answers 404, and the tracking page's call button places no call."""
    settings.DEMO_MODE = False
    settings.TESTING = False
    settings.TELEPHONY_PROVIDER = "sandbox"
    assert sandbox(APIClient(), from_number=CUSTOMER_PHONE, to=live_call["proxy"]).status_code == 404
    assert sandbox(rider1, to=live_call["proxy"]).status_code == 404
    assert rider1.post(f"/api/rider/orders/{live_call['order']}/call/dial/").status_code == 404
    track = client.post(f"/api/track/{live_call['token']}/call/").json()
    assert track["connected"] is False and track["callee"] == ""


def _settings_in_a_fresh_process(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("TESTING", "DEMO_MODE", "DEBUG", "TELEPHONY_PROVIDER")}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT), SECRET_KEY="x" * 50,
                 VAULT_MASTER_KEY="A" * 43 + "=", VAULT_DIGEST_KEY="B" * 43 + "=", AUDIT_ANCHOR_KEY="C" * 43,
                 TOKEN_DIGEST_KEY="D" * 43, VAR_DIR=str(ROOT / "var" / "test-prod"), **env)
    code = "import django; django.setup(); from django.conf import settings; print(settings.TELEPHONY_PROVIDER)"
    return subprocess.run([sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)


def test_production_defaults_to_a_real_carrier_and_refuses_the_sandbox():
    """Plays the operator deploying without DEMO_MODE: the default provider is not the sandbox, and choosing the
    sandbox fails loudly at startup."""
    default = _settings_in_a_fresh_process()
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip() != "sandbox"
    chosen = _settings_in_a_fresh_process(TELEPHONY_PROVIDER="sandbox")
    assert chosen.returncode != 0
    assert "ImproperlyConfigured" in chosen.stderr and "TELEPHONY_PROVIDER" in chosen.stderr
    demo = _settings_in_a_fresh_process(DEMO_MODE="1")
    assert demo.returncode == 0 and demo.stdout.strip() == "sandbox", demo.stderr

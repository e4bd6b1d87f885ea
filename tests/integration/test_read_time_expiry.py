"""An expired grant is refused with no worker at all: the read-time check is the backstop.

In-process (pytest-django, the DRF test client): no Celery worker, no beat, and, inside the
test's transaction, not even the on-commit hook that would schedule the countdown task. The
revoke window is the real setting (3 s, so that the reads just after delivery are certainly inside it); the
test waits it out, as the server reports it, instead of editing expires_at.
"""

import time
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dispatch.models import AuditEvent, Grant, Order
from tests.factories import order_payload

REVOKE_AFTER_S = 3


@pytest.fixture
def delivered(settings, merchant, dispatcher, rider1, staff1, client_for, demo):
    settings.ACCESS_REVOKE_AFTER_S = REVOKE_AFTER_S
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    oid = created["id"]
    rider = demo["rider1"].rider
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": rider.pk}, format="json").status_code == 200
    assert staff1.post(f"/api/pickup/orders/{oid}/ready/").status_code == 200
    code = rider1.get(f"/api/rider/orders/{oid}/handoff-code/").json()["code"]
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": code}, format="json")
    assert r.status_code == 200, r.content
    token = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    pin = client_for("rider2").get(f"/api/track/{token}/").json()["delivery_pin"]
    r = rider1.post(f"/api/rider/orders/{oid}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "delivered", r.content
    return oid, token


@pytest.mark.django_db
def test_expired_grant_is_refused_at_read_time_with_nothing_revoking_it(delivered, rider1, demo):
    oid, token = delivered
    user = demo["rider1"]
    customer = APIClient()
    # Inside the window: visible. The server, asked after these reads, says access has not ended yet.
    detail, listed = rider1.get(f"/api/rider/orders/{oid}/"), rider1.get("/api/rider/orders/").json()
    assert customer.get(f"/api/track/{token}/").json()["access_ends_at"] is not None, "the window ended before it was read"
    assert detail.status_code == 200
    assert [o["id"] for o in listed] == [oid]
    grants = Grant.objects.filter(order_id=oid, principal=user)
    delivered_at = Order.objects.get(pk=oid).delivered_at
    assert grants.exists() and not grants.filter(expires_at__isnull=True).exists()
    # Not to end early, by the server's record: every grant ends no sooner than delivery plus the window.
    assert not grants.filter(expires_at__lt=delivered_at + timedelta(seconds=REVOKE_AFTER_S)).exists()

    # The real window passes: wait (giving up after a while) until the server says access has ended.
    give_up = time.monotonic() + REVOKE_AFTER_S + 10
    while customer.get(f"/api/track/{token}/").json()["access_ends_at"] is not None and time.monotonic() < give_up:
        time.sleep(0.2)
    assert customer.get(f"/api/track/{token}/").json()["access_revoked_at"], "access never ended"

    assert rider1.get(f"/api/rider/orders/{oid}/").status_code == 404
    assert rider1.get("/api/rider/orders/").json() == []
    assert rider1.get(f"/api/rider/orders/{oid}/handoff-code/").status_code == 404
    assert rider1.post(f"/api/rider/orders/{oid}/call/").status_code == 404
    # Nothing revoked the grants: the read-time check alone refused them.
    assert grants.count() >= 1
    assert not grants.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(order_id=oid, action="access.revoked").exists()

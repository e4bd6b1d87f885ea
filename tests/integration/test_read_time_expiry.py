"""An expired grant is refused with no worker at all: the read-time check is the backstop.

In-process (pytest-django, the DRF test client): no Celery worker, no beat, and, inside the
test's transaction, not even the on-commit hook that would schedule the countdown task. The
revoke window is the real setting (1 s); the test waits it out instead of editing expires_at.
"""

import time

import pytest

from dispatch.models import AuditEvent, Grant
from tests.factories import order_payload


@pytest.fixture
def delivered(settings, merchant, dispatcher, rider1, staff1, client_for, demo):
    settings.ACCESS_REVOKE_AFTER_S = 1
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
    started = time.monotonic()  # the window ends no earlier than this plus ACCESS_REVOKE_AFTER_S
    r = rider1.post(f"/api/rider/orders/{oid}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "delivered", r.content
    return oid, started


@pytest.mark.django_db
def test_expired_grant_is_refused_at_read_time_with_nothing_revoking_it(delivered, rider1, demo):
    oid, started = delivered
    user = demo["rider1"]
    # Inside the window: visible.
    detail, listed = rider1.get(f"/api/rider/orders/{oid}/"), rider1.get("/api/rider/orders/").json()
    if time.monotonic() - started < 1:
        assert detail.status_code == 200
        assert [o["id"] for o in listed] == [oid]
    grants = Grant.objects.filter(order_id=oid, principal=user)
    assert grants.exists() and not grants.filter(expires_at__isnull=True).exists()

    time.sleep(1.2)  # the real window (ACCESS_REVOKE_AFTER_S=1) passes

    assert rider1.get(f"/api/rider/orders/{oid}/").status_code == 404
    assert rider1.get("/api/rider/orders/").json() == []
    assert rider1.get(f"/api/rider/orders/{oid}/handoff-code/").status_code == 404
    assert rider1.post(f"/api/rider/orders/{oid}/call/").status_code == 404
    # Nothing revoked the grants: the read-time check alone refused them.
    assert grants.count() >= 1
    assert not grants.filter(revoked_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(order_id=oid, action="access.revoked").exists()

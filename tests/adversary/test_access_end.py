"""The end of the rider's access, as the tracking link shows it (`access_ends_at`, and an end already past in
`access_revoked_at`): whoever holds the link, the customer or anyone it was forwarded to, learns when the rider's
access ends, and nothing about the rider from it. It is the delivery's time plus a setting, the same whoever
delivered and whatever they saw, and it is gone with the link."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.models import AuditEvent, Grant, Order, OrderStatus, Tier
from dispatch.services.privacy import grant_create
from tests.factories import order_payload

TRACKING_KEYS = {"order_id", "status", "pickup_code", "store", "rider", "delivery_pin", "consent", "call_number",
                 "address_seen", "access_revoked_at", "access_ended", "access_ends_at", "expires_at", "reach", "exit",
                 "door_wait", "pod_photo", "feedback", "feedback_open"}


def _token(created: dict) -> str:
    return created["tracking_url"].rstrip("/").rsplit("/", 1)[1]


def _deliver(created: dict, rider: str, client_for, django_capture_on_commit_callbacks) -> datetime:
    Order.objects.filter(pk=created["id"]).update(status=OrderStatus.PICKED_UP)
    pin = Client().get(f"/api/track/{_token(created)}/").json()["delivery_pin"]
    with django_capture_on_commit_callbacks(execute=False):  # no worker: the ends stay unrecorded
        r = client_for(rider).post(f"/api/rider/orders/{created['id']}/deliver/", {"pin": pin}, format="json")
        assert r.status_code == 200, r.content
    return AuditEvent.objects.get(order_id=created["id"], action="order.delivered").at


@pytest.mark.django_db
def test_the_access_end_on_the_link_is_the_delivery_time_plus_a_setting_whoever_delivered(
        merchant, dispatcher, demo, client_for, settings, django_capture_on_commit_callbacks):
    settings.ACCESS_REVOKE_AFTER_S = 90
    bodies = []
    for rider, door_seen in (("rider1", True), ("rider2", False)):
        created = merchant.post("/api/orders/", order_payload(), format="json").json()
        r = dispatcher.post(f"/api/dispatch/orders/{created['id']}/assign/", {"rider": demo[rider].rider.pk},
                            format="json")
        assert r.status_code == 200, r.content
        if door_seen:  # one rider reached the door tier, the other never saw more than the area
            grant_create(order=Order.objects.get(pk=created["id"]), user=demo[rider], scope="address",
                         purpose="delivery", tier=Tier.DOOR)
        delivered = _deliver(created, rider, client_for, django_capture_on_commit_callbacks)
        body = Client().get(f"/api/track/{_token(created)}/").json()
        assert set(body) == TRACKING_KEYS  # docs/THREAT-MODEL.md's customer row, nothing more
        ends = datetime.fromisoformat(body["access_ends_at"])
        assert abs((ends - delivered).total_seconds() - 90) < 1
        bodies.append((created, ends - delivered))
    assert abs((bodies[0][1] - bodies[1][1]).total_seconds()) < 1  # the same for both riders

    # Past the end and not yet recorded: one end, at the grants' end, and no more to come.
    created, _ = bodies[0]
    past = timezone.now() - timedelta(seconds=5)
    Grant.objects.filter(order_id=created["id"]).update(expires_at=past)
    body = Client().get(f"/api/track/{_token(created)}/").json()
    assert body["access_revoked_at"] == [past.isoformat()] and body["access_ends_at"] is None

    # The link expired: nothing of it, to anyone holding it.
    Order.objects.filter(pk=created["id"]).update(tracking_expires_at=timezone.now())
    assert Client().get(f"/api/track/{_token(created)}/").status_code == 404

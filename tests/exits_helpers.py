"""Helpers for the exits' API tests: pick up, read the tracking link, and what "access ended" means."""

from __future__ import annotations

import json

from django.test import Client

from dispatch.models import AuditEvent, Event, Grant, Order
from dispatch.services.rtc import Caller, call_end, call_start

NOTE = "Mrs Zhang at flat 4 said no"  # a note that names a person: never stored, never audited


def token_of(order: dict) -> str:
    return order["tracking_url"].rstrip("/").rsplit("/", 1)[-1]


def track(order: dict, lang: str = "en") -> dict:
    return Client(HTTP_ACCEPT_LANGUAGE=lang).get(f"/api/track/{token_of(order)}/").json()


def pick_up(order: dict, rider1, staff1) -> None:
    assert staff1.post(f"/api/pickup/orders/{order['id']}/ready/").status_code == 200
    code = rider1.get(f"/api/rider/orders/{order['id']}/handoff-code/").json()["code"]
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": order["pickup_code"], "rider_code": code}, format="json")
    assert r.status_code == 200, r.content


def assert_access_ended(order_id: int, rider1, demo, reason: str) -> None:
    """As after delivery or today's cancel: gone from the list, 404 on the detail, no live grant, one purge
    frame to the rider's devices, and an `access.revoked` row with the exit's reason."""
    assert rider1.get(f"/api/rider/orders/{order_id}/").status_code == 404
    assert order_id not in [o["id"] for o in rider1.get("/api/rider/orders/").json()]
    assert rider1.get(f"/api/rider/orders/{order_id}/handoff-code/").status_code == 404
    rider = demo["rider1"].rider
    assert Grant.objects.filter(order_id=order_id, principal=demo["rider1"]).exists()
    assert not Grant.objects.filter(order_id=order_id, principal=demo["rider1"], revoked_at__isnull=True).exists()
    assert Event.objects.filter(group=f"rider.{rider.pk}", type="order.revoked", payload__order=order_id).count() == 1
    revoked = AuditEvent.objects.filter(order_id=order_id, action="access.revoked")
    assert [e.data["reason"] for e in revoked] == [reason]


def assert_no_note(order_id: int) -> None:
    rows = json.dumps(list(AuditEvent.objects.filter(order_id=order_id).values_list("data", flat=True)))
    assert NOTE not in rows and "Zhang" not in rows


def make_call_attempts(order_id: int, user, n: int) -> None:
    """The rider rings the customer in the app and hangs up unanswered, n times."""
    order = Order.objects.get(pk=order_id)
    for _ in range(n):
        call, _servers = call_start(party=Caller("rider", user=user), order=order, to="customer", channel="c")
        call_end(call=call, side="caller", action="hangup")



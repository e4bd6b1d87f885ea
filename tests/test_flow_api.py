"""The whole delivery through the HTTP API, asserting what each party sees and does not see."""

import json
import time

import pytest
from django.utils import timezone

from dispatch.models import AuditEvent, Grant
from tests.factories import BUILDING, DOOR, NOTES, PII_STRINGS, STREET


def no_pii(body) -> None:
    text = json.dumps(body) if not isinstance(body, str) else body
    for s in PII_STRINGS:
        assert s not in text, f"leaked {s!r}"


def ping(client, lat, lng, seq, accuracy=10.0, ts=None):
    body = {"lat": lat, "lng": lng, "accuracy": accuracy, "timestamp": ts or time.time(), "seq": seq}
    r = client.post("/api/rider/location/", body, format="json")
    assert r.status_code == 200, r.content
    return r.json()


@pytest.mark.django_db
def test_whole_delivery(merchant, dispatcher, rider1, staff1, client_for, demo, settings):
    r = merchant.post("/api/orders/", __import__("tests.factories").factories.order_payload(), format="json")
    assert r.status_code == 201
    created = r.json()
    no_pii(created)
    assert created["customer"] == {"display_name": "Z**", "phone_masked": "****5678"}
    order_id = created["id"]

    board = dispatcher.get("/api/dispatch/orders/").json()
    assert [o["id"] for o in board] == [order_id]
    no_pii(board)

    rider = demo["rider1"].rider
    assert dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk}, format="json").status_code == 200

    view = rider1.get(f"/api/rider/orders/{order_id}/").json()
    no_pii(view)
    assert view["destination"]["tier"] == "area"
    assert view["destination"]["text"] == "Westminster"
    assert "lat" not in view["destination"]
    assert view["items"]["sensitive_summary"] == "1 pharmacy item"

    queue = staff1.get("/api/pickup/orders/").json()
    assert queue[0]["pickup_code"] == created["pickup_code"]
    no_pii(queue)
    assert staff1.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200

    code = rider1.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": "000000"}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wrong_rider"
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": code}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "picked_up"

    # Far away: two precise fixes 3 km out reveal nothing (sent late, as after an offline spell).
    t = time.time()
    assert ping(rider1, DOOR[0] + 0.027, DOOR[1], 1, ts=t - 200)["reason"] == "late"
    ping(rider1, DOOR[0] + 0.026, DOOR[1], 2, ts=t - 190)
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["destination"]["tier"] == "area"
    # Inside the street radius (~800 m): two fresh fixes.
    ping(rider1, DOOR[0] + 0.0072, DOOR[1], 3, ts=t - 6)
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["destination"]["tier"] == "area"
    assert ping(rider1, DOOR[0] + 0.0071, DOOR[1], 4, ts=t - 3)["tiers"] == {str(order_id): "street"}
    view = rider1.get(f"/api/rider/orders/{order_id}/").json()
    assert view["destination"]["tier"] == "street"
    assert STREET in view["destination"]["text"] and BUILDING not in view["destination"]["text"]
    assert view["destination"]["lat"] == pytest.approx(DOOR[0])
    # At the door (~50 m).
    ping(rider1, DOOR[0] + 0.0005, DOOR[1], 5, ts=t + 24)
    ping(rider1, DOOR[0] + 0.0004, DOOR[1], 6, ts=t + 28)
    view = rider1.get(f"/api/rider/orders/{order_id}/").json()
    assert view["destination"]["tier"] == "door"
    assert BUILDING in view["destination"]["text"] and NOTES in view["destination"]["text"]

    call = rider1.post(f"/api/rider/orders/{order_id}/call/").json()
    assert call["proxy_number"].startswith("+1555")
    dial = rider1.post(f"/api/rider/orders/{order_id}/call/dial/").json()
    assert dial == {"connected": True, "callee": "customer", "caller_id": call["proxy_number"],
                    "message": "Connecting you now."}

    token = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    track = client_for("rider2").get(f"/api/track/{token}/").json()
    pin = track["delivery_pin"]
    assert [s["tier"] for s in track["address_seen"]] == ["street", "door"]
    no_pii(track)

    r = rider1.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": "99999"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "wrong_pin"
    r = rider1.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "delivered"

    # Still visible inside the revoke window; refused the moment the grant has expired.
    assert rider1.get(f"/api/rider/orders/{order_id}/").status_code == 200
    Grant.objects.filter(order_id=order_id).update(expires_at=timezone.now())
    assert rider1.get(f"/api/rider/orders/{order_id}/").status_code == 404
    assert rider1.get("/api/rider/orders/").json() == []

    actions = list(AuditEvent.objects.filter(order_id=order_id).values_list("action", flat=True))
    for needed in ("order.created", "order.assigned", "order.ready", "handoff.refused", "handoff.completed",
                   "address.read", "call.session_started", "call.connected", "order.delivered"):
        assert needed in actions
    assert actions.count("grant.created") == 3  # area, street, door

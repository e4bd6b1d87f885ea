"""The customer's transparency panel ("who saw my address, when") tells different riders apart without naming
them: a rider reassigned away is "your first rider", the one who holds the order now "your current rider", in
both languages, and no name or id of the earlier rider reaches the customer."""

from __future__ import annotations

import json

import pytest

from dispatch import geofence
from dispatch.models import Order, OrderStatus, Tier
from dispatch.services.delivery import location_tier_reached
from tests.exits_helpers import pick_up, track

pytestmark = pytest.mark.django_db

RADII = geofence.Radii(street=800.0, door=50.0)


def _reached(order_id: int, rider, tier: int) -> None:
    assert location_tier_reached(order_id=order_id, rider=rider, tier=tier, accuracy=5.0, distance=40.0, radii=RADII)


def test_one_rider_is_your_rider(posted_order, dispatcher, rider1, staff1, demo):
    oid = posted_order["id"]
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": demo["rider1"].rider.pk},
                           format="json").status_code == 200
    pick_up(posted_order, rider1, staff1)
    _reached(oid, demo["rider1"].rider, Tier.STREET)
    seen = track(posted_order)["address_seen"]
    assert [(s["tier"], s["by"], s["rider"], s["current"]) for s in seen] == [("street", "your rider", 1, True)]


def test_a_reassigned_rider_is_told_apart_from_the_current_one(posted_order, dispatcher, rider1, staff1,
                                                                client_for, demo):
    oid = posted_order["id"]
    first, second = demo["rider1"].rider, demo["rider2"].rider
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": first.pk}, format="json").status_code == 200
    pick_up(posted_order, rider1, staff1)
    _reached(oid, first, Tier.STREET)
    Order.objects.filter(pk=oid).update(status=OrderStatus.READY)  # taken back at the counter
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": second.pk},
                           format="json").status_code == 200
    r = client_for("rider2").get(f"/api/rider/orders/{oid}/handoff-code/").json()["code"]
    assert staff1.post("/api/pickup/handoff/", {"pickup_code": posted_order["pickup_code"], "rider_code": r},
                       format="json").status_code == 200
    _reached(oid, second, Tier.DOOR)

    en = track(posted_order, "en")
    assert [(s["tier"], s["by"], s["rider"], s["current"]) for s in en["address_seen"]] == [
        ("street", "your first rider", 1, False),
        ("street", "your current rider", 2, True),
        ("door", "your current rider", 2, True),
    ]
    assert [(e["by"], e["rider"], e["current"]) for e in en["access_ended"]] == [("your first rider", 1, False)]
    assert en["access_revoked_at"] == [e["at"] for e in en["access_ended"]]
    zh = track(posted_order, "zh-hans")
    assert [s["by"] for s in zh["address_seen"]] == ["你的第一位骑手", "你现在的骑手", "你现在的骑手"]
    assert [e["by"] for e in zh["access_ended"]] == ["你的第一位骑手"]
    # Nothing that names the earlier rider: a place and a flag, not their name, account or rider id.
    assert {frozenset(s) for s in en["address_seen"]} == {frozenset({"tier", "at", "by", "rider", "current"})}
    assert {frozenset(e) for e in en["access_ended"]} == {frozenset({"at", "by", "rider", "current"})}
    text = json.dumps(en, ensure_ascii=False) + json.dumps(zh, ensure_ascii=False)
    assert first.display_name not in text and demo["rider1"].username not in text
    assert en["rider"]["name"] == second.display_name  # the current rider's masked name, as before


def test_ordinals_beyond_the_second_and_a_return_to_an_earlier_rider(posted_order, dispatcher, demo):
    """Three riders in turn, then the first again: the first is "current" (the same person), the others keep
    their place in the order they were given it."""
    from dispatch.selectors.customer import rider_labels

    labels = rider_labels([11, 12, 13], current=11)
    assert labels == {11: (1, True, "your current rider"), 12: (2, False, "your second rider"),
                      13: (3, False, "your third rider")}
    assert rider_labels([11], current=None) == {11: (1, False, "your rider")}
    many = rider_labels(list(range(1, 8)), current=None)
    assert many[7] == (7, False, "your rider no. 7")

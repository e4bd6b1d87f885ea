"""The street report's scene through the rider's API: after pickup, the phone reports one fix at 0,0, then the
rider walks from 1,100 m to 50 m of the door. The wild fix is refused, stored as refused and flagged to dispatch
(audited); every true fix is accepted, and the door is revealed within two fixes of entering its radius."""

from __future__ import annotations

import time

import pytest

from dispatch import geofence
from dispatch.models import AuditEvent, LocationFix
from tests.exits_helpers import pick_up
from tests.factories import DOOR

pytestmark = pytest.mark.django_db


def test_one_wild_fix_does_not_blind_the_engine(assigned_order, rider1, staff1, settings):
    oid = assigned_order["id"]
    pick_up(assigned_order, rider1, staff1)
    t = time.time() - 185  # the last fix 5 s ago: those at the door are fresh
    walk = [geofence.offset_point(DOOR[0], DOOR[1], 200.0, 1100 - 30 * i) for i in range(36)]  # 1,100 -> 50 m
    pings = [(0.0, 0.0, t)] + [(lat, lng, t + 5 + 5 * i) for i, (lat, lng) in enumerate(walk)]
    answers = []
    for seq, (lat, lng, ts) in enumerate(pings, start=1):
        r = rider1.post("/api/rider/location/", {"lat": lat, "lng": lng, "accuracy": 8.0, "timestamp": ts, "seq": seq},
                        format="json")
        assert r.status_code == 200, r.content
        answers.append(r.json())
    assert answers[0]["accepted"] is False and answers[0]["reason"] == "speed"
    assert [a["reason"] for a in answers[1:] if not a["accepted"]] == []  # not one true fix refused
    door_radius = settings.REVEAL_DOOR_M
    entered = next(i for i, (lat, lng) in enumerate(walk) if geofence.fast_distance(lat, lng, *DOOR) <= door_radius)
    reached = next(i for i, a in enumerate(answers[1:]) if a["tiers"].get(str(oid)) == "door")
    assert reached - entered <= 1
    assert rider1.get(f"/api/rider/orders/{oid}/").json()["destination"]["tier"] == "door"
    refused = list(LocationFix.objects.filter(order_id=oid, accepted=False).values_list("seq", "reason"))
    assert refused == [(1, "speed")]
    flagged = AuditEvent.objects.filter(order_id=oid, action="location.spoof_flagged")
    assert [e.data["flags"] for e in flagged] == [["teleport"]]

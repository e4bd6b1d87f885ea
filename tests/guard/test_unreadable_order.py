"""One order the vault cannot open (a corrupt sealed record) must not take the rider's whole order list down:
that row answers masked with `"error": "unreadable"`, the rest as usual, and the log holds a digest only."""

from __future__ import annotations

import logging
import time

import pytest

from conftest import DOOR
from dispatch.models import Order, OrderStatus
from dispatch.models.privacy import SealedRecord
from tests.factories import PII_STRINGS, order_payload


@pytest.mark.django_db
def test_an_unreadable_order_is_a_masked_row_and_the_rest_answer(assigned_order, merchant, dispatcher, demo,
                                                                 rider1, caplog):
    second = merchant.post("/api/orders/", order_payload(external_ref="POS-1002"), format="json").json()
    rider = demo["rider1"].rider
    assert dispatcher.post(f"/api/dispatch/orders/{second['id']}/assign/", {"rider": rider.pk},
                           format="json").status_code == 200
    # Both picked up and the rider near the door: the list opens the vault for each street address.
    Order.objects.filter(pk__in=[assigned_order["id"], second["id"]]).update(status=OrderStatus.PICKED_UP)
    t = time.time()
    for seq, (dlat, dt) in enumerate([(0.0072, -6), (0.0071, -3)], start=1):
        body = {"lat": DOOR[0] + dlat, "lng": DOOR[1], "accuracy": 10.0, "timestamp": t + dt, "seq": seq}
        assert rider1.post("/api/rider/location/", body, format="json").status_code == 200
    assert {row["destination"]["tier"] for row in rider1.get("/api/rider/orders/").json()} == {"street"}
    sealed = SealedRecord.objects.get(order_id=assigned_order["id"])
    blob = bytearray(bytes(sealed.ciphertext))
    blob[-1] ^= 0xFF  # one flipped bit: authentication fails
    SealedRecord.objects.filter(pk=sealed.pk).update(ciphertext=bytes(blob))

    with caplog.at_level(logging.ERROR):
        r = rider1.get("/api/rider/orders/")
    assert r.status_code == 200, r.content[:300]
    rows = {row["id"]: row for row in r.json()}
    assert set(rows) == {assigned_order["id"], second["id"]}
    bad, good = rows[assigned_order["id"]], rows[second["id"]]
    assert bad["error"] == "unreadable"
    assert bad["destination"]["text"] == "" and bad["destination"].get("lat") is None
    assert good.get("error") in (None, "") and good["destination"]["text"]
    assert bad["pickup_code"] == Order.objects.get(pk=assigned_order["id"]).pickup_code
    # The log says which order, by number, and nothing of the customer.
    logged = " ".join(rec.getMessage() for rec in caplog.records)
    assert "unreadable" in logged and str(assigned_order["id"]) in logged
    assert not [pii for pii in PII_STRINGS if pii in logged]
    # The order's own page answers the same masked row.
    detail = rider1.get(f"/api/rider/orders/{assigned_order['id']}/")
    assert detail.status_code == 200 and detail.json()["error"] == "unreadable"

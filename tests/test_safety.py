"""The rider's safety over HTTP: SOS to dispatch, and reporting or blocking an abusive customer.

A block is kept under a keyed digest of the customer: it removes the rider from suggestions for another order
of the same customer (same number, another order), not for other customers, and no row or log holds the
number."""

from __future__ import annotations

import copy
import logging

import pytest
from django.db import connection

import dispatch.models as models
from dispatch.selectors.suggestions import suggest_riders
from tests.factories import CUSTOMER_PHONE, order_payload

pytestmark = pytest.mark.django_db

PHONE_FORMS = [CUSTOMER_PHONE, "7700905678", "447700905678", "7700 905678"]


def _post(merchant, phone=CUSTOMER_PHONE, ref="POS-2"):
    payload = copy.deepcopy(order_payload(external_ref=ref))
    payload["customer"]["phone"] = phone
    r = merchant.post("/api/orders/", payload, format="json")
    assert r.status_code == 201, r.content
    return models.Order.objects.get(pk=r.json()["id"])


# --- SOS -----------------------------------------------------------------------------------------------------
def test_sos_raises_an_alert_with_the_riders_exact_position_and_is_audited(rider1, demo, assigned_order):
    r = rider1.post("/api/rider/sos/", {"lat": 51.5101, "lng": -0.1337, "accuracy": 8}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    rider = demo["rider1"].rider
    assert body == {"alert": body["alert"], "position": True, "line": rider.pk}
    alert = models.Alert.objects.get(pk=body["alert"])
    assert (alert.kind, alert.key, alert.rider_id) == ("sos", f"sos:rider:{rider.pk}", rider.pk)
    assert (alert.lat, alert.lng) == (51.5101, -0.1337)
    assert alert.detail == {"position": "exact", "accuracy_m": 8, "orders": [assigned_order["id"]], "note": False}
    assert alert.order_id == assigned_order["id"]
    assert models.AuditEvent.objects.filter(action="rider.sos", actor=demo["rider1"]).count() == 1
    # Pressed again: the same open alert, counted, with the newer position.
    r = rider1.post("/api/rider/sos/", {"lat": 51.5102, "lng": -0.1338}, format="json")
    assert r.json()["alert"] == alert.pk
    alert.refresh_from_db()
    assert (alert.count, alert.lat) == (2, 51.5102)


def test_sos_without_a_position_is_sent_and_says_so_and_its_note_goes_to_the_line_sealed(rider1, demo):
    r = rider1.post("/api/rider/sos/", {"note": "Followed by a car"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["position"] is False
    alert = models.Alert.objects.get(pk=r.json()["alert"])
    assert alert.lat is None and alert.detail["position"] == "unknown" and alert.detail["note"] is True
    assert "Followed" not in str(alert.detail)
    message = models.ChatMessage.objects.get(line__rider=demo["rider1"].rider)
    assert (message.order_id, message.sender, message.recipient) == (None, "rider", "dispatch")
    assert b"Followed" not in bytes(message.sealed)


@pytest.mark.parametrize("body", [{"lat": 51.5}, {"lng": 0.1}, {"lat": "51.5", "lng": 0.1}, {"lat": 91, "lng": 0},
                                  {"lat": True, "lng": 0}, {"note": "x" * 501}, {"note": 5}])
def test_sos_bad_input_is_400(rider1, body):
    r = rider1.post("/api/rider/sos/", body, format="json")
    assert r.status_code == 400 and r.json()["code"]
    assert not models.Alert.objects.exists()


def test_sos_is_for_riders_only(client_for, demo):
    for who in ("dispatcher1", "store1", "merchant1"):
        assert client_for(who).post("/api/rider/sos/", {}, format="json").status_code == 403
    assert not models.Alert.objects.exists()


# --- Report and block ---------------------------------------------------------------------------------------
def test_report_with_block_excludes_the_rider_from_the_same_customers_next_order_only(rider1, merchant, demo,
                                                                                    assigned_order, caplog):
    rider = demo["rider1"].rider
    same_customer = _post(merchant, phone="+44 (7700) 905-678", ref="POS-3")  # another order, the number reformatted
    other_customer = _post(merchant, phone="+44 7700 900111", ref="POS-4")
    assert rider.pk in {s.rider for s in suggest_riders(order=same_customer)}

    with caplog.at_level(logging.DEBUG):
        r = rider1.post(f"/api/rider/orders/{assigned_order['id']}/report/",
                        {"reason": "abusive", "block": True, "note": "Shouted and threw the bag"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json() == {"id": r.json()["id"], "order": assigned_order["id"], "reason": "abusive", "blocked": True}

    assert rider.pk not in {s.rider for s in suggest_riders(order=same_customer)}
    assert rider.pk in {s.rider for s in suggest_riders(order=other_customer)}
    others = {s.rider for s in suggest_riders(order=same_customer)}
    assert demo["rider2"].rider.pk in others  # only the rider who blocked is left out

    # Dispatch hears of it: an alert (codes only) and an audit event.
    alert = models.Alert.objects.get(kind="rate", rider=rider)
    assert alert.detail == {"what": "customer_report", "reason": "abusive", "blocked": True, "report": r.json()["id"]}
    assert models.AuditEvent.objects.filter(action="customer.reported").count() == 1

    # The digest is not the number: nowhere in the block, report, alert or audit rows, nor in the logs.
    block = models.RiderBlock.objects.get(rider=rider)
    assert len(block.customer_digest) == 64
    with connection.cursor() as cur:
        rows = []
        for table in ("dispatch_riderblock", "dispatch_customerreport", "dispatch_alert", "dispatch_auditevent"):
            cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            rows += [repr(row) for row in cur.fetchall()]
    dump = "\n".join(rows) + caplog.text
    for form in [*PHONE_FORMS, "Shouted"]:
        assert form not in dump
    assert block.customer_digest not in (caplog.text)


def test_a_blocked_customers_order_is_not_offered_to_the_rider_who_blocked_them(rider1, merchant, dispatcher, demo,
                                                                                assigned_order):
    rider = demo["rider1"].rider
    r = rider1.post(f"/api/rider/orders/{assigned_order['id']}/report/", {"reason": "threatening", "block": True},
                    format="json")
    assert r.status_code == 201
    same, other = _post(merchant, ref="POS-6"), _post(merchant, phone="+44 7700 900222", ref="POS-7")
    r = dispatcher.post(f"/api/dispatch/orders/{same.pk}/offer/", {"rider": rider.pk}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "rider_blocked")
    assert dispatcher.post(f"/api/dispatch/orders/{other.pk}/offer/", {"rider": rider.pk}, format="json").status_code == 201


def test_block_digest_is_keyed_and_apart_from_the_call_routing_digest(settings, assigned_order, demo):
    from dispatch.services.privacy import customer_block_digest, customer_phone_digest

    order = models.Order.objects.get(pk=assigned_order["id"])
    digest = customer_block_digest(order=order)
    assert digest != customer_phone_digest(order=order)  # no join with proxy sessions
    import hashlib

    for form in PHONE_FORMS:  # not a plain hash of any form of the number
        assert digest not in (hashlib.sha256(form.encode()).hexdigest(), hashlib.sha256(b"+" + form.encode()).hexdigest())
    settings.VAULT_DIGEST_KEY = "b" * 43  # another key, another digest: it cannot be recomputed without the key
    assert customer_block_digest(order=order) != digest


def test_report_without_block_blocks_nothing(rider1, merchant, demo, assigned_order):
    r = rider1.post(f"/api/rider/orders/{assigned_order['id']}/report/", {"reason": "harassment", "block": False},
                    format="json")
    assert r.status_code == 201 and r.json()["blocked"] is False
    assert not models.RiderBlock.objects.exists()
    assert demo["rider1"].rider.pk in {s.rider for s in suggest_riders(order=_post(merchant, ref="POS-5"))}


def test_report_is_scoped_to_the_riders_own_orders_and_checks_input(client_for, rider1, assigned_order, posted_order):
    url = f"/api/rider/orders/{assigned_order['id']}/report/"
    assert client_for("rider2").post(url, {"reason": "abusive", "block": True}, format="json").status_code == 404
    assert client_for("store1").post(url, {"reason": "abusive", "block": True}, format="json").status_code == 403
    assert rider1.post("/api/rider/orders/999999/report/", {"reason": "abusive", "block": True},
                       format="json").status_code == 404
    for body in ({"reason": "rude", "block": True}, {"reason": "abusive"}, {"reason": "abusive", "block": "yes"}):
        r = rider1.post(url, body, format="json")
        assert r.status_code == 400 and r.json()["code"], body
    assert not models.CustomerReport.objects.exists() and not models.RiderBlock.objects.exists()


def test_report_right_after_delivery_while_access_lasts_then_404(rider1, demo, assigned_order, staff1):
    from datetime import timedelta

    from django.utils import timezone

    order = models.Order.objects.get(pk=assigned_order["id"])
    models.Order.objects.filter(pk=order.pk).update(status="delivered", delivered_at=timezone.now())
    url = f"/api/rider/orders/{order.pk}/report/"
    assert rider1.post(url, {"reason": "threatening", "block": True}, format="json").status_code == 201
    models.Grant.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert rider1.post(url, {"reason": "threatening", "block": True}, format="json").status_code == 404


# --- The line's keys and retention ----------------------------------------------------------------------------
def test_line_messages_survive_a_master_key_rotation_and_leave_with_retention(rider1, demo, settings):
    from datetime import timedelta

    from django.utils import timezone

    from dispatch.selectors import line_history
    from dispatch.services.lifecycle import retention_sweep
    from dispatch.services.rtc import Caller
    from tests.adversary.test_key_rotation import rotate, start_rotation

    assert rider1.post("/api/rider/sos/", {"note": "Flat tyre"}, format="json").status_code == 201
    rider = demo["rider1"].rider
    dispatch = Caller("dispatch", user=demo["dispatcher1"])
    old_kid = models.RiderLine.objects.get(rider=rider).key_id
    start_rotation(settings)
    assert "riders' line keys: 1 rewrapped, 0 failed" in rotate()
    settings.VAULT_OLD_MASTER_KEYS = []  # the old key is gone: the line still opens under the new one
    assert models.RiderLine.objects.get(rider=rider).key_id != old_kid
    assert [line.text for line in line_history(party=dispatch, rider_id=rider.pk)] == ["SOS: Flat tyre"]

    models.ChatMessage.objects.filter(line__rider=rider).update(
        created_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1))
    assert retention_sweep()["line_messages_deleted"] == 1
    assert line_history(party=dispatch, rider_id=rider.pk) == []

"""A canary customer's number, name and address never show in logs, socket frames or any table in plain after a
whole delivery with every message sent (order create -> assign -> near -> delivered)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.db import connection

from dispatch.live.memory_layer import CountingInMemoryChannelLayer as InMemoryChannelLayer
from dispatch.models import CustomerMessage
from dispatch.services import notify
from dispatch.services.notify import message_send
from tests.factories import DOOR, order_payload

CANARY_PHONE = "+86 139 0417 2658"
CANARY = ["13904172658", "139 0417 2658", "0417 2658", "04172658", "Ouyang Canaryfeng", "Canaryfeng",
          "88 Canary Wharf Lane", "Canary Wharf", "Kestrel Mansions", "Suite 4417", "ring twice for the parrot"]


class Sender:
    def __init__(self):
        self.args = []

    def send_task(self, name, args=(), **kwargs):
        self.args.append(list(args))
        if name == "dispatch.tasks.message_send_task":
            message_send(message_id=args[0])


def ping(client, lat, lng, seq, ts):
    body = {"lat": lat, "lng": lng, "accuracy": 10.0, "timestamp": ts, "seq": seq}
    r = client.post("/api/rider/location/", body, format="json")
    assert r.status_code == 200, r.content


def scan_tables() -> list[str]:
    """Every text or binary value of every table, as text: where a canary would be found."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        text = bytes(value).decode("utf-8", "replace")
                    elif isinstance(value, str):
                        text = value
                    else:
                        continue
                    found.extend(f"{table}: {c}" for c in CANARY if c in text)
    return found


@pytest.mark.django_db
def test_the_canary_is_nowhere_in_plain_after_a_whole_delivery_with_messages(
        merchant, dispatcher, rider1, staff1, demo, caplog, monkeypatch, django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    sender = Sender()
    monkeypatch.setattr(notify, "current_app", sender)
    frames: list[str] = []
    original = InMemoryChannelLayer.group_send

    async def spy(self, group, message):
        frames.append(json.dumps(message, default=str))
        return await original(self, group, message)

    monkeypatch.setattr(InMemoryChannelLayer, "group_send", spy)

    def step(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    payload = order_payload()
    payload["customer"].update(name="Ouyang Canaryfeng", phone=CANARY_PHONE, language="zh-hans",
                               address={"area": "Westminster", "street": "88 Canary Wharf Lane",
                                        "building": "Kestrel Mansions", "unit": "Suite 4417", "door_code": "",
                                        "notes": "ring twice for the parrot"})
    r = step(lambda: merchant.post("/api/orders/", payload, format="json"))
    assert r.status_code == 201, r.content
    order_id, token = r.json()["id"], r.json()["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    rider = demo["rider1"].rider
    assert step(lambda: dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk},
                                        format="json")).status_code == 200
    assert step(lambda: staff1.post(f"/api/pickup/orders/{order_id}/ready/")).status_code == 200
    code = rider1.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    r = step(lambda: staff1.post("/api/pickup/handoff/", {"pickup_code": r.json()["pickup_code"], "rider_code": code},
                                 format="json"))
    assert r.status_code == 200, r.content
    t = time.time()
    for seq, (dlat, dt) in enumerate([(0.0072, -6), (0.0071, -3), (0.0005, 24), (0.0004, 28)], start=1):
        step(lambda dlat=dlat, dt=dt, seq=seq: ping(rider1, DOOR[0] + dlat, DOOR[1], seq, t + dt))
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["destination"]["tier"] == "door"
    from rest_framework.test import APIClient

    pin = APIClient().get(f"/api/track/{token}/").json()["delivery_pin"]
    r = step(lambda: rider1.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": pin}, format="json"))
    assert r.status_code == 200, r.content

    sent = dict(CustomerMessage.objects.filter(order_id=order_id).values_list("kind", "state"))
    assert sent == {"received": "sent", "nearby": "sent", "delivered": "sent"}
    assert all(len(a) == 1 and isinstance(a[0], int) for a in sender.args)  # task args: ids only
    assert frames, "the spy saw no socket frame"
    texts = {"logs": caplog.text, "frames": "\n".join(frames)}
    for where, text in texts.items():
        leaks = [c for c in CANARY if c in text]
        assert not leaks, f"{where} leaked {leaks}"
        assert token not in text and pin not in text.replace(str(order_id), ""), where
    assert scan_tables() == []
    # the scan would have found it: the canary is in the vault's record, sealed
    assert "Canary" not in json.dumps(list(CustomerMessage.objects.values_list("reason", "state")))

"""Proof of delivery and feedback on the scale profile's database (PostgreSQL): the sealed photo in a bytea column,
the rider's locked read with its annotation, the merchant's and the customer's reads, feedback once."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image

from tests.harness import LiveStack

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def stack(scale_env, tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("pod"), database_url=scale_env[0]) as live:
        yield live


def test_photo_policy_delivery_and_feedback_on_postgresql(stack):
    stack.manage("shell", "-c", "from dispatch.models import Store; Store.objects.update(pod_policy='pin_photo')")
    out = stack.manage("demo_order", "--rider", "rider1").stdout
    m = re.search(r"Order (\d+), pickup number (\S+)\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    order_id, code, token = int(m.group(1)), m.group(2), m.group(3)
    store, rider = stack.login("store1"), stack.login("rider1")
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    rider_code = rider.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    assert store.post("/api/pickup/handoff/", json={"pickup_code": code, "rider_code": rider_code}).status_code == 200

    pin = httpx.get(f"{stack.url}/api/track/{token}/").json()["delivery_pin"]
    r = rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin})
    assert (r.status_code, r.json()["code"]) == (409, "photo_required")
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (5, 80, 160)).save(buf, "JPEG", comment=b"CANARY")
    r = rider.post(f"/api/rider/orders/{order_id}/pod-photo/", files={"photo": ("p.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 201, r.text
    assert rider.get(f"/api/rider/orders/{order_id}/").json()["pod"]["photo_taken"] is True
    assert rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin}).status_code == 200

    merchant = stack.token_client("merchant1")
    photo = merchant.get(f"/api/orders/{order_id}/pod/photo/")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert b"CANARY" not in photo.content and Image.open(io.BytesIO(photo.content)).size == (300, 200)
    assert httpx.get(f"{stack.url}/api/track/{token}/pod/photo/").status_code == 200
    assert stack.token_client("merchant2").get(f"/api/orders/{order_id}/pod/photo/").status_code == 404

    send = {"rating": 3, "issue": "damaged", "text": "dented, call 13812345678"}
    assert httpx.post(f"{stack.url}/api/track/{token}/feedback/", json=send).status_code == 201
    again = httpx.post(f"{stack.url}/api/track/{token}/feedback/", json=send)
    assert (again.status_code, again.json()["code"]) == (409, "feedback_exists")
    feedback = merchant.get(f"/api/orders/{order_id}/feedback/").json()
    assert feedback["rating"] == 3 and "13812345678" not in feedback["text"]

"""Sockets on the real ASGI application: scoping, refusals, resume, and no PII in frames."""

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from tests.factories import PII_STRINGS, order_payload

pytestmark = pytest.mark.django_db(transaction=True)


def cookie_for(user) -> str:
    c = Client()
    c.force_login(user)
    return f"sessionid={c.cookies['sessionid'].value}"


@pytest.fixture
def ck(demo):
    """Session cookies per demo user, made before entering the event loop."""
    return {name: cookie_for(user) for name, user in demo.items()}


def communicator(path: str, cookie=None, origin: str = "http://testserver") -> WebsocketCommunicator:
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def connect(path, cookie=None, origin="http://testserver"):
    comm = communicator(path, cookie, origin)
    connected, code = await comm.connect()
    if connected:
        hello = await comm.receive_json_from(timeout=2)
        assert hello["type"] == "hello"
    return comm, connected, code


async def drain(comm, quiet_s=0.5) -> list[dict]:
    """Every frame that arrives until `quiet_s` pass quietly (receive_nothing keeps the app alive)."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet_s):
        frames.append(await comm.receive_json_from(timeout=2))
    return frames


def test_rider_gets_own_events_and_nothing_of_another_riders(demo, ck, merchant, dispatcher):
    rider1, rider2 = demo["rider1"].rider, demo["rider2"].rider

    async def scenario():
        c1, ok1, _ = await connect("/ws/rider/", ck["rider1"])
        c2, ok2, _ = await connect("/ws/rider/", ck["rider2"])
        assert ok1 and ok2
        post = await sync_to_async(merchant.post)("/api/orders/", order_payload(), format="json")
        order_id = post.json()["id"]
        await sync_to_async(dispatcher.post)(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider1.pk},
                                             format="json")
        frames1 = await drain(c1)
        frames2 = await drain(c2)
        assert any(f["type"] == "order.assigned" and f["order"] == order_id and f["seq"] > 0 for f in frames1)
        assert frames2 == []
        for f in frames1:
            for s in PII_STRINGS:
                assert s not in json.dumps(f)
        # Reassignment: rider1 is told to purge, rider2 gets the order.
        await sync_to_async(dispatcher.post)(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider2.pk},
                                             format="json")
        frames1 = await drain(c1)
        frames2 = await drain(c2)
        assert {"type": "order.revoked", "order": order_id} in [{k: f[k] for k in ("type", "order")} for f in frames1
                                                                if f["type"] == "order.revoked"]
        assert any(f["type"] == "order.assigned" for f in frames2)
        await c1.disconnect()
        await c2.disconnect()

    async_to_sync(scenario)()


def test_refusals_unauthenticated_bad_origin_wrong_role(ck):
    async def scenario():
        for path, user, origin in [
            ("/ws/rider/", None, "http://testserver"),  # not logged in
            ("/ws/rider/", ck["rider1"], "http://evil.example"),  # bad origin
            ("/ws/rider/", ck["store1"], "http://testserver"),  # wrong role
            ("/ws/store/", ck["rider1"], "http://testserver"),
            ("/ws/dispatch/", ck["store1"], "http://testserver"),
            ("/ws/track/not-a-token/", None, "http://testserver"),
        ]:
            comm, connected, _ = await connect(path, user, origin)
            assert not connected, (path, origin)
            await comm.disconnect()

    async_to_sync(scenario)()


def test_store_socket_is_scoped_and_resume_replays_missed_events(ck, merchant, client_for):
    async def scenario():
        s1, ok, _ = await connect("/ws/store/", ck["store1"])
        s2, ok2, _ = await connect("/ws/store/", ck["store2"])
        assert ok and ok2
        r = await sync_to_async(merchant.post)("/api/orders/", order_payload(), format="json")
        order_id = r.json()["id"]
        created = await drain(s1)
        assert [f["type"] for f in created] == ["order.created"]
        assert await drain(s2) == []
        last_seq = created[0]["seq"]
        await s1.disconnect()
        # While disconnected, the order is marked ready.
        await sync_to_async(client_for("store1").post)(f"/api/pickup/orders/{order_id}/ready/")
        s1b, ok, _ = await connect("/ws/store/", ck["store1"])
        await s1b.send_json_to({"type": "resume", "seq": last_seq})
        missed = await drain(s1b)
        assert [(f["type"], f["status"]) for f in missed] == [("order.updated", "ready")]
        assert missed[0]["seq"] > last_seq
        await s1b.send_json_to({"type": "resume", "seq": "x"})
        assert (await s1b.receive_json_from(timeout=2))["code"] == "invalid"
        await s1b.disconnect()
        await s2.disconnect()

    async_to_sync(scenario)()


def test_rider_location_over_socket_is_acked_and_validated(ck, assigned_order):
    import time

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", ck["rider1"])
        assert ok
        await comm.send_json_to({"type": "location", "lat": 51.52, "lng": -0.12, "accuracy": 8,
                                 "timestamp": time.time() * 1000, "seq": 1})
        ack = await comm.receive_json_from(timeout=3)
        assert ack == {"type": "location.ack", "seq": 1, "accepted": True, "reason": ""}
        await comm.send_json_to({"type": "location", "lat": 123, "lng": -0.12, "accuracy": -1,
                                 "timestamp": "yesterday", "seq": 2})
        bad = await comm.receive_json_from(timeout=3)
        assert bad["accepted"] is False and bad["code"] == "invalid"
        assert set(bad["errors"]) >= {"lat", "accuracy", "timestamp"}
        await comm.send_to(text_data="not json")
        assert (await comm.receive_json_from(timeout=3))["code"] == "malformed"
        await comm.disconnect()

    async_to_sync(scenario)()


def test_dispatch_gets_coalesced_positions(demo, ck, assigned_order):
    import time

    async def scenario():
        d, ok, _ = await connect("/ws/dispatch/", ck["dispatcher1"])
        r, ok2, _ = await connect("/ws/rider/", ck["rider1"])
        assert ok and ok2
        t = time.time()
        for seq in range(1, 6):  # five pings inside one second
            await r.send_json_to({"type": "location", "lat": 51.52 + seq * 1e-5, "lng": -0.12, "accuracy": 8,
                                  "timestamp": t + seq * 0.1, "seq": seq})
            await r.receive_json_from(timeout=3)
        positions = [f for f in await drain(d) if f["type"] == "rider.position"]
        assert len(positions) == 1 and positions[0]["rider"] == demo["rider1"].rider.pk
        await d.disconnect()
        await r.disconnect()

    async_to_sync(scenario)()

"""Embedded profile, real processes: a call the Celery worker's sweep ends reaches both parties' sockets.

The worker is another process and the in-memory channel layer does not cross processes, so a frame the
worker sends straight to the layer is lost. The server-ended call goes through the outbox that the web
process relays: an unanswered call rings out (RING_TIMEOUT_S) and a connected call whose rider's access is
revoked by the sweep both end on the two sockets within seconds, with nothing else sent by either client,
and nobody else hears of it.
"""

import pytest

from tests.harness import LiveStack
from tests.integration.conftest import Socket, assert_no_pii, assert_no_process_errors, expire_grants, is_event

pytestmark = pytest.mark.worker

RING_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"RING_TIMEOUT_S": str(RING_TIMEOUT_S), "SWEEP_INTERVAL_S": "1", "ACCESS_REVOKE_AFTER_S": "1000"}
    with LiveStack(tmp_path_factory.mktemp("callend"), workers=True, beat=True, env=env) as live:
        yield live
        assert_no_process_errors(live)


def call_frames(sock: Socket, order_id: int) -> list[dict]:
    return [f for f in sock.frames if str(f.get("type", "")).startswith("call.") and f.get("order") == order_id]


def test_the_worker_ends_a_ringing_call_as_missed_on_both_sockets(stack, parties):
    order = parties.picked_up()
    oid = order["id"]
    rider = Socket(stack.url, "/ws/rider/", parties("rider1"), name="rider1")
    customer = Socket(stack.url, f"/ws/track/{order['token']}/", parties.anonymous, name="customer")
    other_rider = Socket(stack.url, "/ws/rider/", parties("rider2"), name="rider2")
    store = Socket(stack.url, "/ws/store/", parties("store1"), name="store1")
    socks = [rider, customer, other_rider, store]
    try:
        rider.send({"type": "call.start", "order": oid, "to": "customer"})
        call = rider.wait_for(lambda f: f.get("type") == "call.calling", what="call.calling")["call"]
        customer.wait_for(is_event("call.ring", oid, call=call), what="call.ring")
        # Nobody sends anything more: the worker's sweep rings the call out after RING_TIMEOUT_S.
        for side in (customer, rider):
            ended = side.wait_for(is_event("call.ended", oid, call=call), timeout=RING_TIMEOUT_S + 8, what="call.ended")
            assert ended["outcome"] == "missed" and ended["by"] == "server", ended
        for sock in (other_rider, store):
            sock.drain(0.5)
            assert call_frames(sock, oid) == [], sock.frames
    finally:
        for sock in socks:
            sock.close()
    assert_no_pii([raw for sock in socks for raw in sock.raw])


def test_the_worker_ends_a_connected_call_when_the_sweep_revokes_the_rider(stack, parties):
    order = parties.picked_up()
    oid = order["id"]
    parties.deliver(order)
    rider = Socket(stack.url, "/ws/rider/", parties("rider1"), name="rider1")
    customer = Socket(stack.url, f"/ws/track/{order['token']}/", parties.anonymous, name="customer")
    store = Socket(stack.url, "/ws/store/", parties("store1"), name="store1")
    try:
        customer.send({"type": "call.start", "order": oid, "to": "rider"})
        call = customer.wait_for(lambda f: f.get("type") == "call.calling", what="call.calling")["call"]
        rider.wait_for(is_event("call.ring", oid, call=call), what="call.ring")
        rider.send({"type": "call.accept", "call": call})
        rider.wait_for(lambda f: f.get("type") == "call.connected" and f.get("call") == call, what="call.connected")
        customer.wait_for(lambda f: f.get("type") == "call.accepted" and f.get("call") == call, what="call.accepted")

        # The rider's access runs out (time travel); the worker's next sweep revokes it and ends the call.
        assert expire_grants(stack, oid) >= 1
        for side in (rider, customer):
            ended = side.wait_for(lambda f: f.get("type") == "call.ended" and f.get("call") == call, timeout=10,
                                  what="call.ended")
            assert ended["outcome"] == "revoked" and ended["by"] == "server", ended
        store.drain(0.5)
        assert call_frames(store, oid) == [], store.frames
    finally:
        for sock in (rider, customer, store):
            sock.close()
    assert_no_pii(rider.raw + customer.raw + store.raw)

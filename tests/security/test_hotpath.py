"""Hot path at fleet scale: what a ping costs the server, and how
positions reach the dispatch map."""

from __future__ import annotations

import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.live import contexts as live_contexts
from dispatch.live import ping as live_ping
from dispatch.live import state as live_state
from dispatch.services.events import GROUP_DISPATCH

pytestmark = pytest.mark.django_db(transaction=True)
FAR = (51.53, -0.1196)


def ping(rider, seq: int, lat: float = FAR[0]):
    return live_ping.location_ping(rider=rider, lat=lat, lng=FAR[1], accuracy=10, timestamp=time.time(), seq=seq)


def test_a_warm_context_is_not_reloaded_by_a_timer(demo, assigned_order):
    """Operator (finding "context reloads"): with a 4 s ping every second ping used to reload the context
    (two queries and a vault open) because it expired after 5 s. It now lives until an event changes it."""
    rider = demo["rider1"].rider
    ping(rider, 1)
    stamp, version, ctx = live_state._contexts[rider.pk]
    live_state._contexts[rider.pk] = (stamp - 8.0, version, ctx)  # two pings later
    with CaptureQueriesContext(connection) as queries:
        assert live_contexts.rider_context(rider) == ctx
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_an_order_event_still_reloads_the_context(demo, assigned_order, dispatcher):
    """Rider losing the order (finding "context reloads"): the event-driven invalidation still applies."""
    rider = demo["rider1"].rider
    assert [c.order_id for c in live_contexts.rider_context(rider)] == [assigned_order["id"]]
    other = demo["rider2"].rider
    r = dispatcher.post(f"/api/dispatch/orders/{assigned_order['id']}/assign/", {"rider": other.pk}, format="json")
    assert r.status_code == 200, r.content
    assert live_contexts.rider_context(rider) == []


def test_map_positions_are_batched_per_second(demo, settings, monkeypatch):
    """Dispatcher (finding "frame publishing"): many pings make one `rider.positions` frame per flush,
    carrying the latest position of every rider who moved, with a rising seq; no PII in it."""
    from dispatch.live import ping as live_ping
    from dispatch.live import positions

    monkeypatch.setattr(live_ping, "FREE_POSITION_EVERY_S", 0.0)  # these riders are free: not sparse here
    settings.POSITION_BATCH = True
    positions.aggregator.take()  # start clean
    layer = get_channel_layer()
    r1, r2 = demo["rider1"].rider, demo["rider2"].rider

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(GROUP_DISPATCH, channel)
        return channel

    channel = async_to_sync(listen)()
    try:
        for seq in range(1, 6):
            ping(r1, seq, lat=FAR[0] + seq / 10000)
            ping(r2, seq)
        assert positions.aggregator.flush() == 2
        assert positions.aggregator.flush() == 0  # nobody moved since

        async def receive():
            return await layer.receive(channel)

        frame = async_to_sync(receive)()["event"]
    finally:  # the layer outlives the test: a channel left in the group would fill up and count as drops later
        async_to_sync(layer.group_discard)(GROUP_DISPATCH, channel)
    assert frame["type"] == "rider.positions" and frame["seq"] >= 1
    riders = {r["rider"]: r for r in frame["riders"]}
    assert set(riders) == {r1.pk, r2.pk}
    assert riders[r1.pk]["lat"] == pytest.approx(FAR[0] + 5 / 10000)
    assert set(riders[r1.pk]) == {"rider", "lat", "lng", "at"}


def test_a_map_frame_that_could_not_be_sent_goes_with_the_next_flush(monkeypatch):
    """Finding (bench-live, scale profile): a flush takes the batch before sending it, so a send that failed (a
    layer's hiccup, a flusher thread stopping under a new loop's task) dropped every position in it, and those
    riders stayed stale on the map until their next ping. The positions now go with the next flush; a position
    that arrived meanwhile wins."""
    from datetime import UTC, datetime

    from dispatch.live import positions

    sent: list[dict] = []
    fail = [True]

    def publish(*, group, type, payload):
        if fail.pop() if fail else False:
            raise ConnectionError("layer down")
        sent.append(payload)

    monkeypatch.setattr(positions, "ephemeral_publish", publish)
    agg = positions.PositionAggregator()
    agg._thread = threading.current_thread()  # alive: no flusher thread of its own races this test's flushes
    at = datetime(2026, 12, 1, tzinfo=UTC)
    agg.add(rider_id=1, lat=51.5, lng=-0.1, at=at)
    agg.add(rider_id=2, lat=51.6, lng=-0.2, at=at)
    with pytest.raises(ConnectionError):
        agg.flush()
    agg.add(rider_id=2, lat=51.7, lng=-0.3, at=at)  # newer than the one that failed
    assert agg.flush() == 2
    assert sorted((r["rider"], r["lat"]) for r in sent[0]["riders"]) == [(1, 51.5), (2, 51.7)]

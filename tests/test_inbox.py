"""A socket waits in one task: the channel layers deliver into the socket's own input queue (`inbox_attach`), so a
consumer reads its client's frames and its layer messages from one queue. Channels' own loop kept two more tasks
per socket waiting (and channels-redis's receive two more), each message going through `asyncio.wait` and a new
task."""

from __future__ import annotations

import asyncio
import os

import pytest
from channels.layers import get_channel_layer

from dispatch.live.layers import (
    ChannelQueue,
    CountingRedisChannelLayer,
    LayerFailure,
    overflow_counts,
    overflow_reset,
)
from dispatch.live.sockets import LAYER_DOWN
from dispatch.services.events import GROUP_DISPATCH
from tests.harness import free_port, scale_urls
from tests.test_websockets import connect, cookie_for, drain

SOCKETS = 12
REDIS_URL = scale_urls()[1]
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="no REDIS_URL: this machine runs no Redis for the test")


@pytest.fixture
def ck(demo):
    return {"dispatcher1": cookie_for(demo["dispatcher1"])}


def position(rider: int) -> dict:
    return {"type": "domain.event", "event": {"type": "rider.position", "seq": 0, "rider": rider, "lat": 51.5,
                                              "lng": -0.1, "at": "2026-01-01T00:00:00+00:00"}}


@pytest.mark.django_db(transaction=True)
def test_each_open_socket_waits_in_one_task_and_still_gets_layer_messages_and_client_frames(demo, ck):
    """The communicator runs each socket's application as one task, as daphne does; before this change each
    socket also kept Channels' two receive tasks (3 per socket)."""

    async def scenario():
        baseline = len(asyncio.all_tasks())
        sockets = [(await connect("/ws/dispatch/", ck["dispatcher1"]))[0] for _ in range(SOCKETS)]
        await asyncio.sleep(0.1)
        extra = len(asyncio.all_tasks()) - baseline  # the sockets', and the loop's access sweep
        await get_channel_layer().group_send(GROUP_DISPATCH, position(7))
        got = [await s.receive_json_from(timeout=2) for s in sockets]
        await sockets[0].send_json_to({"type": "nonsense"})  # a client frame, through the same queue
        answer = await drain(sockets[0])
        for s in sockets:
            await s.disconnect()
        return extra, got, answer

    extra, got, answer = asyncio.run(scenario())
    assert SOCKETS <= extra <= SOCKETS + 1, extra  # was 3 a socket
    assert [f["rider"] for f in got] == [7] * SOCKETS
    assert [f.get("code") for f in answer] == ["unknown_type"]
    assert not get_channel_layer().inboxes  # every socket let go of the layer when it closed


@pytest.mark.django_db(transaction=True)
def test_a_full_socket_queue_refuses_layer_messages_and_they_are_counted(demo, ck):
    layer = get_channel_layer()
    overflow_reset()

    async def scenario():
        comm, connected, _ = await connect("/ws/dispatch/", ck["dispatcher1"])
        assert connected
        ((channel, inbox),) = layer.inboxes.items()
        for _ in range(layer.capacity + 3):  # sent in one go: the consumer reads none of them meanwhile
            try:
                await layer.send(channel, position(1))
            except Exception:
                pass
        waiting = inbox.qsize()
        await layer.group_send(GROUP_DISPATCH, position(2))
        await comm.disconnect()
        return waiting

    waiting = asyncio.run(scenario())
    assert waiting == layer.capacity
    assert overflow_counts() == {"dropped": 1, "by_group": {"dispatch": 1}}
    overflow_reset()


def redis_layer(url: str = REDIS_URL, **options) -> CountingRedisChannelLayer:
    return CountingRedisChannelLayer(hosts=[url], prefix=f"inbox-test-{os.getpid()}", **options)


@needs_redis
def test_redis_one_reader_fills_every_attached_socket_s_queue_and_stops_with_the_last():
    layer = redis_layer(capacity=5)
    overflow_reset()

    async def scenario():
        names = [await layer.new_channel() for _ in range(3)]
        inboxes = [ChannelQueue() for _ in names]
        for name, inbox in zip(names, inboxes, strict=True):
            layer.inbox_attach(name, inbox)
            await layer.group_add("inbox-test", name)
        pump = layer._pumps.get()
        await layer.group_send("inbox-test", {"type": "x.y", "n": 1})
        await layer.send(names[1], {"type": "x.y", "n": 2})
        got = [await asyncio.wait_for(inbox.get(), 5) for inbox in inboxes]
        second = await asyncio.wait_for(inboxes[1].get(), 5)
        for _ in range(6):  # past capacity 5 in one socket's queue (Redis's own count takes the rest)
            layer.receive_buffer[names[2]].put_nowait({"type": "x.y", "n": 3})
        full = inboxes[2].qsize()
        reader_before = pump.task
        for name in names:
            await layer.group_discard("inbox-test", name)
            layer.inbox_detach(name)
        # The cancelled reader may be inside its blocking read; on a loaded machine it took longer than 50 ms to
        # finish (the fresh-clone CI of f2d60d1). What counts is that it stops, not how soon.
        for _ in range(500):
            if reader_before is None or reader_before.done():
                break
            await asyncio.sleep(0.01)
        stopped = reader_before is not None and reader_before.done()
        await layer.flush()
        return names, got, second, full, stopped, set(layer.receive_buffer)

    names, got, second, full, stopped, buffers = asyncio.run(scenario())
    assert [m["n"] for m in got] == [1, 1, 1] and second["n"] == 2
    assert full == 5 and overflow_counts()["by_group"] == {"socket": 1}
    assert stopped  # no socket attached: no reader left on the loop
    assert not buffers & set(names)  # the sockets' channels hold no buffer of their own
    overflow_reset()


@needs_redis
def test_redis_a_socket_attached_while_the_last_one_s_reader_is_stopping_gets_a_reader_of_its_own():
    """Finding (the fresh-clone CI of 0f61038, test_http_ping_on_a_reaches_dispatchers_on_both_servers): a
    dispatcher's socket on server B closed and a new one opened 10 ms later, while the reader that the last socket's
    close had cancelled was still finishing its blocking read. The new socket found that reader "running", started
    none, and heard nothing from then on."""
    layer = redis_layer()

    async def scenario():
        first, second = await layer.new_channel(), await layer.new_channel()
        inbox = ChannelQueue()
        layer.inbox_attach(first, ChannelQueue())
        await asyncio.sleep(0.2)  # the reader is in its blocking read
        layer.inbox_detach(first)  # the loop's last socket: its reader is cancelled...
        layer.inbox_attach(second, inbox)  # ...and a socket opens before that has taken effect
        await layer.send(second, {"type": "x.y", "n": 1})
        try:
            return await asyncio.wait_for(inbox.get(), 5)
        except TimeoutError:
            return None
        finally:
            layer.inbox_detach(second)
            await asyncio.sleep(0.05)
            await layer.flush()

    got = asyncio.run(scenario())
    assert got is not None and got["n"] == 1


@needs_redis
def test_redis_a_channel_not_attached_still_receives_through_channels_redis_while_the_reader_runs():
    layer = redis_layer()

    async def scenario():
        attached, plain = await layer.new_channel(), await layer.new_channel()
        inbox = ChannelQueue()
        layer.inbox_attach(attached, inbox)
        await layer.send(plain, {"type": "x.y", "to": "plain"})
        await layer.send(attached, {"type": "x.y", "to": "attached"})
        plain_got = await asyncio.wait_for(layer.receive(plain), 5)
        attached_got = await asyncio.wait_for(inbox.get(), 5)
        layer.inbox_detach(attached)
        await layer.flush()
        return plain_got, attached_got

    plain_got, attached_got = asyncio.run(scenario())
    assert plain_got["to"] == "plain" and attached_got["to"] == "attached"


def test_a_redis_that_is_down_reaches_every_attached_socket_as_the_layer_s_error():
    """As Channels' own receive raised it in one consumer: here every attached socket gets it (and the socket
    closes with 4012, dispatch/live/sockets.py), and none stays attached to a dead reader."""
    layer = redis_layer(f"redis://127.0.0.1:{free_port()}/0")

    async def scenario():
        names = [await layer.new_channel() for _ in range(2)]
        inboxes = [ChannelQueue() for _ in names]
        for name, inbox in zip(names, inboxes, strict=True):
            layer.inbox_attach(name, inbox)
        return [await asyncio.wait_for(inbox.get(), 10) for inbox in inboxes]

    failures = asyncio.run(scenario())
    assert all(type(f) is LayerFailure and isinstance(f.exc, LAYER_DOWN) for f in failures), failures
    assert not layer.inboxes

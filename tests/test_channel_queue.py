"""The channel layers' per-channel buffer (dispatch.live.layers.ChannelQueue): asyncio.Queue's semantics for what
the layers use, at a fraction of its memory (every open socket holds one while it waits for a message)."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from channels.exceptions import ChannelFull

from dispatch.live.layers import BoundedChannelQueue, ChannelQueue
from dispatch.live.memory_layer import CountingInMemoryChannelLayer


def test_fifo_full_and_empty():
    q = ChannelQueue(2)
    assert q.empty() and not q.full() and q.qsize() == 0
    q.put_nowait(1)
    q.put_nowait(2)
    assert q.full() and q.qsize() == 2
    with pytest.raises(asyncio.QueueFull):
        q.put_nowait(3)
    assert [q.get_nowait(), q.get_nowait()] == [1, 2]
    with pytest.raises(asyncio.QueueEmpty):
        q.get_nowait()
    unbounded = ChannelQueue(0)
    for i in range(5000):
        unbounded.put_nowait(i)
    assert not unbounded.full()


def test_the_bounded_buffer_drops_the_oldest():
    q = BoundedChannelQueue(2)
    for i in range(4):
        q.put_nowait(i)
    assert [q.get_nowait(), q.get_nowait()] == [2, 3]


def test_waiters_are_woken_in_order_and_a_cancelled_waiter_passes_its_wake_up_on():
    async def scenario():
        q = ChannelQueue(10)
        first = asyncio.create_task(q.get())
        second = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        q.put_nowait("a")
        first.cancel()  # woken, then cancelled before it ran: "a" must reach the other waiter
        got = await asyncio.wait_for(second, 5)
        assert first.cancelled()
        q.put_nowait("b")
        q.put_nowait("c")
        return got, await q.get(), await q.get(), q.empty()

    assert asyncio.run(scenario()) == ("a", "b", "c", True)


def test_the_in_memory_layer_keeps_its_semantics():
    async def scenario():
        layer = CountingInMemoryChannelLayer(capacity=2)
        channel = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, {"type": "one"})
        first = await asyncio.wait_for(waiting, 5)
        assert channel not in layer.channels  # an emptied channel is forgotten, as upstream
        await layer.send(channel, {"type": "two"})
        await layer.send(channel, {"type": "three"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "four"})
        return [first, await layer.receive(channel), await layer.receive(channel)]

    assert [m["type"] for m in asyncio.run(scenario())] == ["one", "two", "three"]


def test_a_waiting_socket_s_channel_buffer_is_small():
    """What a socket waiting on the in-memory layer holds there (its buffer, the waiting task and future): was
    4.6 KiB with upstream's asyncio.Queue, of which the queue's four deques were 3 KiB."""

    async def scenario(n: int) -> float:
        layer = CountingInMemoryChannelLayer()
        names = [await layer.new_channel() for _ in range(n)]
        await asyncio.sleep(0)
        before = tracemalloc.take_snapshot()
        tasks = [asyncio.create_task(layer.receive(name)) for name in names]
        await asyncio.sleep(0)
        after = tracemalloc.take_snapshot()
        per = sum(s.size_diff for s in after.compare_to(before, "filename")) / n
        for name in names:
            await layer.send(name, {"type": "x"})
        await asyncio.gather(*tasks)
        return per

    tracemalloc.start()
    try:
        per_socket = asyncio.run(scenario(200))
    finally:
        tracemalloc.stop()
    assert per_socket < 2048, f"{per_socket:.0f} bytes per waiting channel"

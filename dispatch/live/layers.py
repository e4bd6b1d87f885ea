"""Channel layers that count what they drop.

Channels drops a `group_send` message silently for every member channel that is full (its consumer
is not reading fast enough). These layers count each such drop per process, log it (at most one
warning per LOG_EVERY_S per process, with the count suppressed meanwhile), expose the process's totals
through `overflow_counts()` and add them to totals shared by every server (`overflow_totals()`): both are
what `GET /api/dispatch/overload/` answers, and the board shows the shared ones.

They also deliver straight into a socket's own input queue (`inbox_attach`): a consumer then waits on one queue
for its client's frames and its layer messages alike, in the one task the server gave it. Channels' own loop
(`await_many_dispatch`) keeps two more tasks per socket waiting, one on each source, and on every message
waits on both again through `asyncio.wait` and starts a new task; channels-redis's `receive` adds two tasks
and another `asyncio.wait` per waiting socket. Here one reader per process and event loop (`_Pump`) takes the
process's messages from Redis and puts each into its socket's queue.

The Redis layer is here; the in-memory one (the embedded profile's) is `memory_layer`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from functools import partial
from typing import Any

from ..patches.channels_redis import RedisLayerPatches
from .loops import PerLoop, task_running

log = logging.getLogger(__name__)
LOG_EVERY_S = 5.0
SHARED_KEY = "live:overflow:v1"  # + ":total" and ":group:<family>" (counters); + ":families" (the names seen)


def _group_family(group: str) -> str:
    return group.split(".", 1)[0]  # "rider.12" -> "rider": bounded keys, ids stay out of the totals


class OverflowTally:
    """One server process's drop counts: its own totals, and what it has not yet added to the totals every
    process shares through the cache (Redis in the scale profile, so every server's drops add up in one place;
    the process's own cache in the embedded one, which has one server). The shared totals are plain counters
    (`cache.incr`, atomic on Redis), added to by each process at most every OVERFLOW_FLUSH_S, from a timer
    thread: recording a drop never waits for the cache."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_group: Counter[str] = Counter()
        self.unflushed: Counter[str] = Counter()
        self.timer: threading.Timer | None = None
        self.total = self.unlogged = 0
        self.logged_at = float("-inf")

    def record(self, group: str, dropped: int) -> None:
        if dropped <= 0:
            return
        now = time.monotonic()
        family = _group_family(group)
        with self.lock:
            self.by_group[family] += dropped
            self.total += dropped
            self.unlogged += dropped
            self.unflushed[family] += dropped
            if self.timer is None:
                from django.conf import settings

                self.timer = threading.Timer(settings.OVERFLOW_FLUSH_S, self.flush)
                self.timer.daemon = True
                self.timer.start()
            if now - self.logged_at < LOG_EVERY_S:
                return
            unlogged, total = self.unlogged, self.total
            self.logged_at, self.unlogged = now, 0
        log.warning("channel layer overflow: %d message(s) dropped on full channels (last group %s), %d since start",
                    unlogged, group, total)

    def counts(self) -> dict[str, Any]:
        with self.lock:
            return {"dropped": self.total, "by_group": dict(self.by_group)}

    def flush(self) -> None:
        """Add what this process dropped since its last flush to the shared totals."""
        with self.lock:
            pending, self.unflushed = self.unflushed, Counter()
            self.timer = None
        if pending:
            try:
                shared_add(pending)
            except Exception:  # the cache is down (ResilientRedisCache absorbs most of it): keep them for later
                log.warning("overflow totals: could not add %d drop(s) to the shared count", sum(pending.values()))
                with self.lock:
                    self.unflushed.update(pending)

    def reset(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            self.timer = None
            self.by_group.clear()
            self.unflushed.clear()
            self.total = self.unlogged = 0
            self.logged_at = float("-inf")


def _incr(cache: Any, key: str, delta: int) -> None:
    cache.add(key, 0, timeout=None)  # incr needs the key; add is a no-op once another process made it
    cache.incr(key, delta)


def shared_add(by_family: Counter[str] | dict[str, int]) -> None:
    from django.core.cache import cache

    families = {f for f, n in by_family.items() if n > 0}
    if not families:
        return
    for family in families:
        _incr(cache, f"{SHARED_KEY}:group:{family}", by_family[family])
    _incr(cache, f"{SHARED_KEY}:total", sum(by_family[f] for f in families))
    known = set(cache.get(f"{SHARED_KEY}:families") or ())
    if not families <= known:  # a few names, set once each: a lost race is put right by that family's next flush
        cache.set(f"{SHARED_KEY}:families", sorted(known | families), timeout=None)


def shared_counts() -> dict[str, Any]:
    """Every server process's drops, summed: {"dropped", "by_group"}."""
    from django.core.cache import cache

    families = list(cache.get(f"{SHARED_KEY}:families") or ())
    keys = [f"{SHARED_KEY}:total", *(f"{SHARED_KEY}:group:{f}" for f in families)]
    values = cache.get_many(keys)
    by_group = {f: int(values.get(f"{SHARED_KEY}:group:{f}") or 0) for f in families}
    return {"dropped": int(values.get(f"{SHARED_KEY}:total") or 0), "by_group": {f: n for f, n in by_group.items() if n}}


def shared_reset() -> None:
    """For tests."""
    from django.core.cache import cache

    families = list(cache.get(f"{SHARED_KEY}:families") or ())
    cache.delete_many([f"{SHARED_KEY}:total", f"{SHARED_KEY}:families", *(f"{SHARED_KEY}:group:{f}" for f in families)])


_tally = OverflowTally()


def overflow_record(group: str, dropped: int) -> None:
    """Count `dropped` messages to `group` lost on full channels, and log at a bounded rate."""
    _tally.record(group, dropped)


def overflow_counts() -> dict[str, Any]:
    """This process's drops since it started."""
    return _tally.counts()


def overflow_flush() -> None:
    """Add this process's unflushed drops to the shared totals now (the timer does it within OVERFLOW_FLUSH_S)."""
    _tally.flush()


def overflow_totals() -> dict[str, Any]:
    """This process's drops, and every process's summed: {"dropped", "by_group", "all_servers": {...}}."""
    return {**overflow_counts(), "all_servers": shared_counts()}


def overflow_reset() -> None:
    """For tests."""
    _tally.reset()


class ChannelQueue:
    """A channel's message buffer: the part of `asyncio.Queue` the channel layers use (`put_nowait`, `get`,
    `get_nowait`, `empty`, `full`, `qsize`, and `_queue` for the in-memory layer's expiry sweep), with the same
    FIFO and wake-up rules. Every open socket has one while it waits for a message, and an `asyncio.Queue` is
    four deques (its items, getters, putters and its `join` event's waiters) of 760 bytes each on CPython 3.11:
    3.2 KiB a socket. This one is two lists, usually empty or holding one item (a few hundred bytes)."""

    __slots__ = ("_getters", "_queue", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._queue: list[Any] = []
        self._getters: list[asyncio.Future] = []

    def qsize(self) -> int:
        return len(self._queue)

    def empty(self) -> bool:
        return not self._queue

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._queue)

    def put_nowait(self, item: Any) -> None:
        if self.full():
            raise asyncio.QueueFull
        self._queue.append(item)
        self._wake_getter()

    def get_nowait(self) -> Any:
        if not self._queue:
            raise asyncio.QueueEmpty
        return self._queue.pop(0)  # a short list: a socket's buffer is drained as it fills

    async def get(self) -> Any:
        while not self._queue:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if getter in self._getters:
                    self._getters.remove(getter)
                if self._queue and not getter.cancelled():  # woken, then cancelled: pass the wake-up on
                    self._wake_getter()
                raise
        return self.get_nowait()

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return


class BoundedChannelQueue(ChannelQueue):
    """channels-redis's receive buffer (its BoundedQueue): when full, the oldest message makes room."""

    __slots__ = ()

    def put_nowait(self, item: Any) -> None:
        if self.full():
            self.get_nowait()
        super().put_nowait(item)


class _InboxPut:
    """An attached socket's channel, as channels-redis's reader sees its receive buffer: a message goes into the
    socket's input queue, or is dropped and counted when the socket already has `capacity` waiting."""

    __slots__ = ("capacity", "inbox")

    def __init__(self, inbox: Any, capacity: int) -> None:
        self.inbox, self.capacity = inbox, capacity

    def put_nowait(self, message: Any) -> None:
        if self.inbox.qsize() >= self.capacity:
            overflow_record("socket", 1)
            return
        self.inbox.put_nowait(message)


class _ReceiveBuffers(dict):
    """channels-redis's receive buffers (upstream: a defaultdict of bounded queues). An attached socket's
    channel answers with its input queue (never stored, so a socket holds nothing here); any other channel
    with a bounded queue, made on first use as upstream."""

    def __init__(self, layer: CountingRedisChannelLayer) -> None:
        super().__init__()
        self.layer = layer

    def __missing__(self, channel: str) -> Any:
        inbox = self.layer.inboxes.get(channel)
        if inbox is not None:
            return _InboxPut(inbox, self.layer.capacity)
        queue = self[channel] = BoundedChannelQueue(self.layer.capacity)
        return queue


class LayerFailure:
    """Put into every attached socket's queue when the process's reader fails (Redis restarting): the consumer
    raises `exc` as Channels' loop would have from its own `receive`."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Pump:
    """One event loop's reader for a Redis layer's attached sockets: channels-redis's own `receive`, on a
    channel of this process that never gets a message, so that it reads on and on, putting every message it
    takes into its channel's receive buffer, which for an attached socket is the socket's queue. It runs while
    any socket of its loop is attached."""

    def __init__(self, layer: CountingRedisChannelLayer, loop: asyncio.AbstractEventLoop) -> None:
        self.layer, self.loop = layer, loop
        self.task: asyncio.Task | None = None

    def ensure(self) -> None:
        if not task_running(self.task):
            self.task = self.loop.create_task(self._run())

    def stop(self) -> None:
        """Cancel the reader and forget it at once: a socket that attaches before the cancellation has taken
        effect (the reader may be inside a blocking read) starts a reader of its own. The two never read
        together: channels-redis's receive lock hands over from the one to the other."""
        task = self.task
        if task is not None and task_running(task) and task is not asyncio.current_task():
            task.cancel()
            self.task = None

    async def _run(self) -> None:
        layer = self.layer
        channel = f"specific.{layer.client_prefix}!{PUMP_NAME}"
        try:
            while True:  # until cancelled with the loop's last socket (`inbox_detach`), or Redis fails
                await layer.receive(channel)  # returns only if something was sent to the pump's own name
        except Exception as exc:
            if self.task is not asyncio.current_task():  # stopped and replaced meanwhile: the new reader decides
                return
            # The loop's connections went with the server that failed: the next reader starts on new ones
            # instead of taking a stale pooled one and failing the sockets that reconnected meanwhile.
            await layer.loop_connections_drop(self.loop)
            failure = LayerFailure(exc)
            for name, inbox in list(layer.inboxes.items()):
                layer.inbox_detach(name)
                inbox.put_nowait(failure)


PUMP_NAME = "reader"


class CountingRedisChannelLayer(RedisLayerPatches):
    """channels-redis 4.x's layer (its copied parts: dispatch/patches/channels_redis.py) with the group sends'
    over-capacity count kept and recorded, `group_send_many` for the ephemeral frames' batches, a blocking
    connection pool, and delivery straight into an attached socket's input queue."""

    batched_ephemeral = True  # dispatch.live.publish.ephemeral_publish_async batches its sends

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Any] = {}
        self._pumps = PerLoop(partial(_Pump, self))

    def receive_buffers(self) -> dict:
        return _ReceiveBuffers(self)

    def dropped(self, group: str, count: int) -> None:
        overflow_record(group, count)

    def inbox_attach(self, channel: str, inbox: Any) -> None:
        """Deliver `channel` (a name of this process, from `new_channel`) into `inbox`, its socket's input queue:
        the inbox becomes the channel's receive buffer, which this loop's reader fills, until `inbox_detach`.
        Past the layer's capacity waiting in it, a message is dropped and counted (upstream's buffer dropped
        its oldest, uncounted)."""
        self.inboxes[channel] = inbox
        self.receive_buffer.pop(channel, None)
        self._pumps.get().ensure()

    def inbox_detach(self, channel: str) -> None:
        if self.inboxes.pop(channel, None) is not None:
            if not self.inboxes:  # the loop's last socket: its reader stops (a new socket starts another)
                self._pumps.get().stop()

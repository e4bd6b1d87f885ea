"""What the live path sends through the channel layer: the outbox's transport (set into
`dispatch.services.events` when the app is ready, so that services import no transport) and the ephemeral
publisher: high-rate, never-stored messages (rider positions, ETAs), sent from the event loop in batches."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from config.cache import OutageLog

from .loops import PerLoop, task_running

log = logging.getLogger("dispatch.services.events")  # a failed send is logged as the outbox's
# The outbox's failed sends and the ephemeral ones, in one rate-limited log.
layer_outage = OutageLog(log, "channel layer")


def _frame(type: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": "domain.event", "event": {"type": type, "seq": 0, **payload}}


def layer_send(method: str, target: str, message: dict[str, Any]) -> None:
    """The outbox's transport: `group_send` or `send` on the channel layer, from synchronous code."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(getattr(layer, method))(target, message)


def ephemeral_publish(*, group: str, type: str, payload: dict[str, Any]) -> None:
    """High-rate, no-replay messages (rider positions): sent straight away, never stored. A layer that is
    down drops them (logged, rate-limited): the next position supersedes this one."""
    try:
        layer_send("group_send", group, _frame(type, payload))
    except Exception as exc:
        layer_outage("group_send", exc)


async def ephemeral_publish_async(*, group: str, type: str, payload: dict[str, Any]) -> None:
    """`ephemeral_publish` from the event loop, with no hop to the sync thread. On a layer that sends many
    groups at once (Redis: `group_send_many`), the message joins the loop's batch, sent within
    EPHEMERAL_FLUSH_S in one round trip for all its groups, and the caller does not wait for Redis (a ping's
    ack no longer waits for its ETA frame's two round trips); elsewhere it is sent now."""
    layer = get_channel_layer()
    if layer is None:
        return
    if getattr(layer, "batched_ephemeral", False) and settings.EPHEMERAL_FLUSH_S > 0:
        _batches.get().add(layer, group, _frame(type, payload))
        return
    await publish_now_async(group=group, type=type, payload=payload)


async def publish_now_async(*, group: str, type: str, payload: dict[str, Any]) -> None:
    """An ephemeral message sent now from the event loop, never batched (the map's own batch)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, _frame(type, payload))
    except Exception as exc:
        layer_outage("group_send", exc)


class _EphemeralBatch:
    """One event loop's pending ephemeral messages, by layer, flushed together by a task of that loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: dict[Any, list[tuple[str, dict]]] = {}  # layer -> [(group, message)]
        self.task: asyncio.Task | None = None

    def add(self, layer: Any, group: str, message: dict) -> None:
        self.items.setdefault(layer, []).append((group, message))
        if not task_running(self.task):
            self.task = self.loop.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(settings.EPHEMERAL_FLUSH_S)
        batches, self.items = self.items, {}
        for layer, items in batches.items():
            try:
                await layer.group_send_many(items)
            except Exception as exc:  # dropped, like a single send on a layer that is down: the next one supersedes
                layer_outage("group_send", exc)


_batches = PerLoop(_EphemeralBatch)



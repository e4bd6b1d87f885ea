"""Outbox relay for the embedded profile.

With the in-memory channel layer, a group_send from another process (the Celery worker) would
vanish. Instead, every process writes events to the outbox table, and one task per web process
tails it and publishes to the local layer. Started lazily by the first socket that connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from .models import Event
from .services.events import route

log = logging.getLogger(__name__)
_task: asyncio.Task | None = None
_loop: asyncio.AbstractEventLoop | None = None


@database_sync_to_async
def _fetch(after: int | None) -> tuple[int, list[Event]]:
    if after is None:
        last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        return last, []
    events = list(Event.objects.filter(pk__gt=after).order_by("pk")[:500])
    return (events[-1].pk if events else after), events


async def _run(ready: asyncio.Event) -> None:
    layer = get_channel_layer()
    while True:
        try:
            after, _ = await _fetch(None)
            break
        except Exception:  # e.g. the database is briefly locked: try again, sockets wait for us
            log.exception("event relay could not start; retrying")
            await asyncio.sleep(0.5)
    ready.set()
    while True:
        try:
            after, events = await _fetch(after)
            for event in events:
                method, target, message = route(event)
                await getattr(layer, method)(target, message)
            if not events:
                await asyncio.sleep(settings.EVENTS_RELAY_INTERVAL_S)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep relaying; a transient DB lock must not stop live updates
            log.exception("event relay iteration failed")
            await asyncio.sleep(1.0)


_ready: asyncio.Event | None = None


async def ensure_relay() -> None:
    """Start this process's relay if needed, and return once it has taken its starting point, so
    that every event committed after the caller joined its groups is relayed to it."""
    global _task, _loop, _ready
    if not settings.EVENTS_RELAY:
        return
    loop = asyncio.get_running_loop()
    if _task is None or _task.done() or _loop is not loop:
        _loop = loop
        _ready = asyncio.Event()
        _task = loop.create_task(_run(_ready))
    assert _ready is not None
    await _ready.wait()


async def stop_relay() -> None:
    global _task
    if _task is not None:
        _task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await _task
        _task = None

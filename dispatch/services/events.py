"""Domain events to sockets: written to the outbox in the caller's transaction, sent after commit.

Each event's id is its sequence number. With a shared channel layer (Redis) the sender publishes
directly after commit. Without one (the embedded profile, where the Celery worker is another
process) the web process relays the outbox (see dispatch.relay).
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from ..models import Event

log = logging.getLogger(__name__)


def group_rider(rider_id: int) -> str:
    return f"rider.{rider_id}"


def group_store(store_id: int) -> str:
    return f"store.{store_id}"


def group_track(order_id: int) -> str:
    return f"track.{order_id}"


GROUP_DISPATCH = "dispatch"


def group_session(session_key: str) -> str:
    """Every socket opened with this login session; named from a digest, never the key itself."""
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def session_sockets_close(*, session_key: str | None) -> None:
    """Close the sockets of a session that ended (logout). Best effort: if the channel layer is down,
    each socket still re-checks its session before the next frame it delivers or handles."""
    if not session_key:
        return
    try:
        send_now(group_session(session_key), {"type": "session.ended"})
    except Exception:  # a logout must not fail because the channel layer is unreachable
        log.warning("could not tell a session's sockets to close", exc_info=True)


def to_message(event: Event) -> dict[str, Any]:
    return {"type": "domain.event", "event": {"type": event.type, "seq": event.pk, **event.payload}}


def send_now(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def context_version_key(rider_id: int) -> str:
    return f"ctx-ver:{rider_id}"


def _bump_context(rider_id: int) -> None:
    cache.set(context_version_key(rider_id), time.time_ns(), None)


def event_publish(*, groups: list[str], type: str, payload: dict[str, Any]) -> list[Event]:
    events = [Event.objects.create(group=g, type=type, payload=payload) for g in groups]
    for group in groups:
        if group.startswith("rider."):  # the rider's orders changed: drop cached ping contexts
            transaction.on_commit(partial(_bump_context, int(group.split(".", 1)[1])))
    if not settings.EVENTS_RELAY:
        def _send() -> None:
            for event in events:
                send_now(event.group, to_message(event))

        transaction.on_commit(_send)
    return events


def ephemeral_publish(*, group: str, type: str, payload: dict[str, Any]) -> None:
    """High-rate, no-replay messages (rider positions): sent straight away, never stored."""
    send_now(group, {"type": "domain.event", "event": {"type": type, "seq": 0, **payload}})


def events_since(*, groups: list[str], seq: int, limit: int = 200, not_before=None, not_after=None) -> list[Event]:
    """Stored events after `seq`; with `not_before`/`not_after`, only those written inside that access window."""
    events = Event.objects.filter(group__in=groups, pk__gt=seq)
    if not_before is not None:
        events = events.filter(created_at__gte=not_before)
    if not_after is not None:
        events = events.filter(created_at__lte=not_after)
    return list(events.order_by("pk")[:limit])

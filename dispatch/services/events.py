"""Domain events to sockets: written to the outbox in the caller's transaction, sent after commit.

Each event's id is its sequence number. With a shared channel layer (Redis) the sender publishes
directly after commit. Without one (the embedded profile, where the Celery worker is another
process) the web process relays the outbox (see dispatch.relay).

The layering: services import no transport (no `channels`, `asgiref` or `config`). What reaches a socket
goes through `layer_send`, a hook that the live path (`dispatch.live.publish.layer_send`) fills in when the
app is ready (`dispatch.apps`); a process where nothing is set sends nothing, as with no channel layer.
The high-rate, never-stored messages (rider positions, ETAs) are the live path's own: `dispatch.live.publish`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from ..models import Event

log = logging.getLogger(__name__)
Transport = Callable[[str, str, dict[str, Any]], None]  # (layer method, target, message)
Outage = Callable[[str, BaseException], None]  # (layer method, the error)
_transport: Transport | None = None
_outage: Outage | None = None


def transport_set(send: Transport | None, outage: Outage | None = None) -> None:
    """The live path's sender and its outage log (`dispatch.live.publish`), set once when the app is ready."""
    global _transport, _outage
    _transport, _outage = send, outage


def layer_send(method: str, target: str, message: dict[str, Any]) -> None:
    """Send `message` through the channel layer now (`group_send` to a group, `send` to a channel)."""
    if _transport is not None:
        _transport(method, target, message)


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
    layer_send("group_send", group, message)


# Outbox rows that carry a call frame as is, to one socket or to one group, never replayed on resume (no
# socket joins a group by these names: `:` is not allowed in a group name). A call the server ends from
# another process (the worker's sweep) reaches the two parties' sockets through the relay this way. The
# prefixes are short: a Redis layer's channel name is 74 characters and `Event.group` holds 80.
RTC_CHANNEL, RTC_GROUP = "ch:", "gr:"


def rtc_target(name: str, *, group: bool) -> str:
    return (RTC_GROUP if group else RTC_CHANNEL) + name if name else ""


def route(event: Event) -> tuple[str, str, dict[str, Any]]:
    """How an outbox row goes out: (layer method, target, message)."""
    for prefix, method in ((RTC_CHANNEL, "send"), (RTC_GROUP, "group_send")):
        if event.group.startswith(prefix):
            return method, event.group.removeprefix(prefix), {"type": "rtc.frame", "frame": event.payload}
    return "group_send", event.group, to_message(event)


def deliver_now(event: Event) -> None:
    layer_send(*route(event))


def _layer_outage(operation: str, exc: BaseException) -> None:
    """A send that failed, reported to the live path's rate-limited log (the sweep resends what was not marked sent)."""
    if _outage is not None:
        _outage(operation, exc)


def context_version_key(rider_id: int) -> str:
    return f"ctx-ver:{rider_id}"


def _bump_context(rider_id: int) -> None:
    cache.set(context_version_key(rider_id), time.time_ns(), None)


def _send_events(events: list[Event]) -> int:
    """Send in order until the layer fails; mark what went out. The rest stays pending for the sweep."""
    sent = []
    for event in events:
        try:
            deliver_now(event)
        except Exception as exc:
            _layer_outage("group_send", exc)
            break
        sent.append(event.pk)
    if sent:
        Event.objects.filter(pk__in=sent).update(sent_at=Now())  # one clock for every process
    return len(sent)


def event_publish(*, groups: list[str], type: str, payload: dict[str, Any]) -> list[Event]:
    """Write to the outbox now, send after commit. Every after-commit step is robust: a failing cache or
    channel layer is logged and never turns the committed write into an error; the sweep resends."""
    pending = not settings.EVENTS_RELAY
    sent_at = None if pending else timezone.now()
    events = [Event.objects.create(group=g, type=type, payload=payload, sent_at=sent_at) for g in groups]
    for group in groups:
        if group.startswith("rider."):  # the rider's orders changed: drop cached ping contexts
            on_commit_robust(_bump_context, int(group.split(".", 1)[1]))
    if pending:
        on_commit_robust(_send_events, events)
    return events


def on_commit_robust(func, *args) -> None:
    """`transaction.on_commit(..., robust=True)` for `func(*args)`: a failure is logged and the caller's committed
    write stands. Django names a failed robust hook by its `__qualname__`, which a `functools.partial` lacks: the
    failure then raised AttributeError out of the commit instead of being logged."""

    def hook():
        return func(*args)

    hook.__qualname__ = func.__qualname__
    transaction.on_commit(hook, robust=True)


def events_resend_pending(*, older_than_s: float | None = None, limit: int = 500) -> int:
    """Resend outbox events whose after-commit send did not happen (the beat sweep calls this). Events
    younger than EVENTS_RESEND_AFTER_S are left to their own after-commit send."""
    if settings.EVENTS_RELAY:
        return 0
    age = settings.EVENTS_RESEND_AFTER_S if older_than_s is None else older_than_s
    due = timezone.now() - timedelta(seconds=age)
    events = list(Event.objects.filter(sent_at__isnull=True, created_at__lte=due).order_by("pk")[:limit])
    return _send_events(events) if events else 0


RESUME_PAGE = 200


def events_since(*, groups: list[str], seq: int, limit: int = RESUME_PAGE, late: bool = True, not_before=None,
                 not_after=None) -> list[Event]:
    """Events after `seq`, and (`late`) events before it that went out after it did (a transaction that
    committed late, a send the sweep retried after an outage): a client that saw `seq` may have missed
    those. Pages: call again with the last seq returned and late=False until a page comes back short.
    With `not_before`/`not_after`, only events written inside that access window."""
    after = Q(pk__gt=seq)
    seen_sent_at = Event.objects.filter(pk=seq).values_list("sent_at", flat=True).first() if late else None
    if seen_sent_at is not None:
        after |= Q(pk__lt=seq, sent_at__gte=seen_sent_at)  # a repeat is harmless, a gap is not
    events = Event.objects.filter(after, group__in=groups)
    if not_before is not None:
        events = events.filter(created_at__gte=not_before)
    if not_after is not None:
        events = events.filter(created_at__lte=not_after)
    return list(events.order_by("pk")[:limit])

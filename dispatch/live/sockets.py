"""Socket plumbing shared by every party's socket.

A consumer authorises in `groups_for` with the same selectors the HTTP layer uses, joins its
groups, replays what a reconnecting client missed (`{"type": "resume", "seq": n}`), then relays
domain events. Frames carry ids, states and tiers only.

Access is not settled once at connect. What ends it sends an event to the socket's groups: a logout
closes every socket of its session (each joins its session's group, `session.ended`), a revoked or
reassigned order sends `order.revoked` to the rider's group. Access that ends at a known time is held in
memory and compared on every frame, with no I/O: the session's expiry (a frame past it re-reads the
session), a tracking link's expiry (which also closes the socket on a timer), a rider's grant expiry
(rider/consumers.py). What sends no event (an admin flushing a session, a role row removed, an account
deactivated) is caught by a periodic safety re-check (`still_allowed`, with the session read afresh)
every `SOCKET_RECHECK_S` (default 30 s). One sweep per process and second re-checks the sockets falling
due, in bulk: one cache round trip for their sessions, one query for their accounts (per role), so the
cost does not grow with a query per socket (at 10,000 sockets and 30 s, that was 333 checks a second).
A socket the sweep could not check (its database or cache away) re-checks itself before its next frame,
as does every socket when SOCKET_RECHECK_S is below SWEPT_FROM_S (0 re-checks every frame). A socket
whose access ended is closed with code 4403 (the client stops reconnecting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import weakref
from functools import partial
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from config.cache import OUTAGE, OutageLog

from ..auth import ROLE_RELATIONS
from ..instruments import OPEN_SOCKETS
from ..parsers import MAX_DEPTH, json_depth
from ..relay import ensure_relay
from ..services.events import RESUME_PAGE, events_since, group_session
from .access import CLOSE_ACCESS_ENDED, SocketAccess
from .layers import LayerFailure
from .sweep import SWEPT_FROM_S, _sweepers

log = logging.getLogger(__name__)
_layer_outage = OutageLog(log, "channel layer (socket)")
LAYER_DOWN = (*OUTAGE, OSError)
CLOSE_LAYER_RESTART = 4012  # "reconnect and resume" (1012 itself is not a code a server may send here)
_open_sockets: weakref.WeakSet[EventConsumer] = weakref.WeakSet()

MAX_SEQ = 2**63 - 1  # sequence numbers are 64-bit row ids
MAX_MESSAGE_BYTES = 64 * 1024


class EventConsumer(SocketAccess, AsyncWebsocketConsumer):
    groups_joined: list[str]
    uses_session = True  # False when a capability in the path, not a login, authorises (the tracking link)
    role_relations: tuple[str, ...] = ROLE_RELATIONS  # the role rows the re-check loads with the account
    session_expires_at: float | None = None  # epoch seconds: a frame past it re-reads the session
    counted_as: str | None = None  # the role this open socket counts under in the open sockets gauge

    @classmethod
    def metrics_role(cls) -> str:
        """The gauge's role label: the consumer's class name (RiderConsumer -> "rider"), a bounded name."""
        return cls.__name__.removesuffix("Consumer").lower() or "socket"

    async def __call__(self, scope, receive, send):
        """A channel layer that goes away (its Redis restarting, which forgets every group) ends the socket
        with 4012, logged and rate-limited, instead of crashing the application or leaving it open and
        deaf; the client reconnects and resumes from its last seq, which rejoins its groups. The process has
        one reader for all its sockets (dispatch/live/layers.py), so every open socket of the process is
        closed."""
        try:
            await self._serve(scope, receive, send)
        except LAYER_DOWN as exc:
            self._uncount()
            _layer_outage("socket", exc)
            _open_sockets.discard(self)
            for other in list(_open_sockets):
                _open_sockets.discard(other)
                with contextlib.suppress(Exception):
                    await other.close(code=CLOSE_LAYER_RESTART)
            for group in getattr(self, "groups_joined", []):
                with contextlib.suppress(Exception):
                    await self.channel_layer.group_discard(group, self.channel_name)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_LAYER_RESTART})

    async def _serve(self, scope, receive, send):
        """Channels' `AsyncConsumer.__call__`, in the one task the server runs this application in: when the
        layer can deliver into the server's input queue for this connection (`inbox_attach`: daphne's `receive`
        is that queue's `get`), client frames and layer messages are read from that one queue, in order of
        arrival. Channels' own loop keeps two more tasks waiting per socket and starts a new one, through
        `asyncio.wait`, for every message (and channels-redis's receive two more). A server whose `receive`
        is not a queue's `get` gets Channels' own loop."""
        layer = get_channel_layer(self.channel_layer_alias)
        inbox = getattr(receive, "__self__", None)
        if layer is None or not hasattr(layer, "inbox_attach") or not callable(getattr(inbox, "put_nowait", None)):
            await super().__call__(scope, receive, send)
            return
        self.scope, self.channel_layer, self.base_send = scope, layer, send
        self.channel_name = await layer.new_channel()
        self.channel_receive = partial(layer.receive, self.channel_name)
        layer.inbox_attach(self.channel_name, inbox)
        try:
            while True:
                message = await receive()
                if type(message) is LayerFailure:  # the process's reader died: every socket of it is deaf
                    if isinstance(message.exc, LAYER_DOWN):
                        raise message.exc
                    raise ConnectionError("the channel layer's reader failed") from message.exc
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            layer.inbox_detach(self.channel_name)

    async def groups_for(self) -> list[str] | None:
        """The groups this connection may join, or None to refuse it. May set `access_ends_at` (epoch seconds)."""
        raise NotImplementedError

    def still_allowed(self, user) -> bool:
        """Whether this connection's access still holds; runs in a database thread. `user` is the session's
        account read afresh (None if `uses_session` is False): the session is already known to be live."""
        return True

    def missed_since(self, seq: int, late: bool = True) -> list[Any]:
        """One page of the stored events after `seq` for this connection's groups (runs in a database thread)."""
        return events_since(groups=self.groups_joined, seq=seq, late=late)

    def replayable(self, events: list[Any]) -> list[Any]:
        """Of a page of stored events, those this connection may replay (runs in a database thread)."""
        return events

    def _replay_page(self, seq: int, late: bool) -> tuple[int, int, list[Any]]:
        events = self.missed_since(seq, late)
        return len(events), (events[-1].pk if events else seq), self.replayable(events)

    async def relays(self, event: dict) -> bool:
        """Whether to deliver this live event; access to the connection as a whole is already checked."""
        return True

    async def dispatch(self, message):
        """Channels' own, without the hop to the sync thread before every message (`aclose_old_connections`,
        added in Channels 4.2): a ping handled in the event loop touches no database connection, and every
        database call here goes through `database_sync_to_async`, which closes stale connections itself.
        Profile (scale profile, 2,000 sockets, 1,000 pings/s, 2026-12): that hop was 6.9 % of the servers' samples, and
        each message queued for the one sync thread behind every database call of the process."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle -----------------------------------------------------------------------------
    async def connect(self):
        self.groups_joined = []
        self.control_groups: list[str] = []
        self.ended = False
        self.access_ends_at: float | None = None
        self.expiry_task: asyncio.Task | None = None
        self.recheck_s = settings.SOCKET_RECHECK_S
        self.trusted_until = 0.0
        self.session_expires_at = None
        groups = await self.groups_for()
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        session_key = self._session_key()
        if self.uses_session and session_key:
            self.control_groups = [group_session(session_key)]
            await self.channel_layer.group_add(self.control_groups[0], self.channel_name)
        if self.uses_session and session_key:
            self.session_expires_at = await database_sync_to_async(self._session_expiry)()
        await ensure_relay()
        await self.accept()
        self.counted_as = self.metrics_role()
        OPEN_SOCKETS.labels(role=self.counted_as).inc()
        self.trusted_until = time.monotonic() + self._first_recheck_s()
        self._arm_expiry()
        _open_sockets.add(self)
        if self.recheck_s >= SWEPT_FROM_S:
            _sweepers.get().add(self)
        await self.send_json({"type": "hello", "seq": 0})

    async def websocket_disconnect(self, message):
        try:
            await super().websocket_disconnect(message)
        finally:  # a subclass's disconnect that fails still ends the socket
            self._uncount()

    def _uncount(self) -> None:
        if self.counted_as is not None:
            OPEN_SOCKETS.labels(role=self.counted_as).dec()
            self.counted_as = None

    async def disconnect(self, code):
        self.ended = True
        _open_sockets.discard(self)
        if self.expiry_task is not None:
            self.expiry_task.cancel()
        for group in self.groups_joined + self.control_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def end(self, code: int = CLOSE_ACCESS_ENDED) -> None:
        """Close because access ended: nothing more is delivered or handled from now on."""
        if self.ended:
            return
        self.ended = True
        if self.expiry_task is not None and self.expiry_task is not asyncio.current_task():
            self.expiry_task.cancel()
        await self.close(code=code)

    async def session_ended(self, message):
        await self.end()

    # --- frames ----------------------------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        if not await self.allowed():
            return
        if text_data is None:
            await self.error("malformed", "Send text frames of JSON.")
            return
        if len(text_data) > MAX_MESSAGE_BYTES or len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self.error("too_large", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
            return
        # Depth first, as for HTTP bodies: a deep document never reaches the C decoder's recursion (a RecursionError
        # raised there leaves CPython 3.11's AST recursion counter off, and later compiles fail).
        if text_data.count("[") + text_data.count("{") > MAX_DEPTH and json_depth(text_data) > MAX_DEPTH:
            await self.error("malformed", f"Messages may nest at most {MAX_DEPTH} levels.")
            return
        try:
            message = json.loads(text_data)
        except (ValueError, RecursionError):
            await self.error("malformed", "Send JSON.")
            return
        if not isinstance(message, dict):
            await self.error("malformed", "Send a JSON object.")
            return
        if message.get("type") == "resume":
            await self.resume(message.get("seq"))
            return
        await self.handle(message)

    async def handle(self, message: dict) -> None:
        await self.error("unknown_type", "Unknown message type.")

    async def error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    async def resume(self, seq) -> None:
        if type(seq) is not int or not 0 <= seq <= MAX_SEQ:
            await self.error("invalid", "seq must be a whole number from 0 to 2**63-1.")
            return
        if not await self.allowed(force=True):
            return
        late = True  # every missed event, page by page (after an outage there can be more than a page)
        while True:
            count, last, kept = await database_sync_to_async(self._replay_page)(seq, late)
            for event in kept:
                await self.send_json({"type": event.type, "seq": event.pk, **event.payload})
            if count < RESUME_PAGE:
                return
            seq, late = max(seq, last), False

    async def domain_event(self, message):
        if not await self.allowed():
            return
        event = message["event"]
        if await self.relays(event):
            await self.send_json(event)

    async def send_json(self, content) -> None:
        await self.send(text_data=json.dumps(content))

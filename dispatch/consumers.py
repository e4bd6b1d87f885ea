"""Socket plumbing shared by every party, and the dispatcher's socket.

A consumer authorises in `groups_for` with the same selectors the HTTP layer uses, joins its
groups, replays what a reconnecting client missed (`{"type": "resume", "seq": n}`), then relays
domain events. Frames carry ids, states and tiers only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from config.cache import OUTAGE, OutageLog

from .errors import NotFound
from .permissions import is_dispatcher
from .relay import ensure_relay
from .selectors import order_by_tracking_token
from .services.events import GROUP_DISPATCH, RESUME_PAGE, events_since, group_track

log = logging.getLogger(__name__)
_layer_outage = OutageLog(log, "channel layer (socket)")
LAYER_DOWN = (*OUTAGE, OSError)
CLOSE_LAYER_RESTART = 4012  # "reconnect and resume" (1012 itself is not a code a server may send here)
_open_sockets: weakref.WeakSet[EventConsumer] = weakref.WeakSet()


class EventConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]

    async def __call__(self, scope, receive, send):
        """A channel layer that goes away (its Redis restarting, which forgets every group) ends the socket
        with 4012, logged and rate-limited, instead of crashing the application or leaving it open and
        deaf; the client reconnects and resumes from its last seq, which rejoins its groups. Only one
        consumer of the process sees the error (channels-redis reads for all of them), so every open
        socket of the process is closed."""
        try:
            await super().__call__(scope, receive, send)
        except LAYER_DOWN as exc:
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

    async def groups_for(self) -> list[str] | None:
        """The groups this connection may join, or None to refuse it."""
        raise NotImplementedError

    async def connect(self):
        self.groups_joined = []
        groups = await self.groups_for()
        if not groups:
            await self.close(code=4403)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await ensure_relay()
        await self.accept()
        _open_sockets.add(self)
        await self.send_json({"type": "hello", "seq": 0})

    async def disconnect(self, code):
        _open_sockets.discard(self)
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self.send_json({"type": "error", "code": "malformed", "detail": "Send JSON."})
            return
        if not isinstance(message, dict):
            await self.send_json({"type": "error", "code": "malformed", "detail": "Send a JSON object."})
            return
        if message.get("type") == "resume":
            await self.resume(message.get("seq"))
            return
        await self.handle(message)

    async def handle(self, message: dict) -> None:
        await self.send_json({"type": "error", "code": "unknown_type", "detail": "Unknown message type."})

    async def resume(self, seq) -> None:
        if not isinstance(seq, int) or seq < 0:
            await self.send_json({"type": "error", "code": "invalid", "detail": "seq must be a whole number."})
            return
        late = True  # every missed event, page by page (after an outage there can be more than a page)
        while True:
            missed = await database_sync_to_async(events_since)(groups=self.groups_joined, seq=seq, late=late)
            for event in missed:
                await self.send_json({"type": event.type, "seq": event.pk, **event.payload})
            if len(missed) < RESUME_PAGE:
                return
            seq, late = max(seq, missed[-1].pk), False

    async def domain_event(self, message):
        await self.send_json(message["event"])

    async def send_json(self, content) -> None:
        await self.send(text_data=json.dumps(content))


class DispatchConsumer(EventConsumer):
    async def groups_for(self):
        user = self.scope.get("user")
        ok = await database_sync_to_async(is_dispatcher)(user)
        return [GROUP_DISPATCH] if ok else None


class TrackConsumer(EventConsumer):
    """The customer's tracking page: the token in the path is the capability, and it expires."""

    async def groups_for(self):
        token = self.scope["url_route"]["kwargs"]["token"]
        try:
            order = await database_sync_to_async(order_by_tracking_token)(token=token)
        except NotFound:
            return None
        return [group_track(order.pk)]

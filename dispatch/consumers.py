"""Socket plumbing shared by every party's socket.

A consumer authorises in `groups_for` with the same selectors the HTTP layer uses, joins its
groups, replays what a reconnecting client missed (`{"type": "resume", "seq": n}`), then relays
domain events. Frames carry ids, states and tiers only.
"""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .relay import ensure_relay
from .services.events import events_since

log = logging.getLogger(__name__)


class EventConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]

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
        await self.send_json({"type": "hello", "seq": 0})

    async def disconnect(self, code):
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
        missed = await database_sync_to_async(events_since)(groups=self.groups_joined, seq=seq)
        for event in missed:
            await self.send_json({"type": event.type, "seq": event.pk, **event.payload})

    async def domain_event(self, message):
        await self.send_json(message["event"])

    async def send_json(self, content) -> None:
        await self.send(text_data=json.dumps(content))

"""The embedded profile's channel layer: Channels' in-memory layer on a `ChannelQueue`, counting what it drops
(`overflow_record`), delivering into an attached socket's input queue (`inbox_attach`), and sweeping expiry at
most once every CLEAN_EVERY_S."""

from __future__ import annotations

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from .layers import ChannelQueue, overflow_record

CLEAN_EVERY_S = 1.0


class CountingInMemoryChannelLayer(InMemoryChannelLayer):
    """Also: the expiry sweep over every channel and group (upstream runs it on every group_send and every
    receive, so its cost grew with the open sockets: 10 % of a server's CPU at 300 rider sockets) runs at
    most once every CLEAN_EVERY_S; an expired message or membership lives at most that much longer. A send
    to a group nobody is in (a tracking page not open) costs nothing."""

    _cleaned_at = float("-inf")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Any] = {}

    def inbox_attach(self, channel: str, inbox: Any) -> None:
        """Deliver `channel`'s messages into `inbox` (its socket's input queue), up to the channel's capacity
        counted over all that waits in it, until `inbox_detach`."""
        self.inboxes[channel] = inbox

    def inbox_detach(self, channel: str) -> None:
        self.inboxes.pop(channel, None)

    # send and receive as upstream, on a ChannelQueue (upstream also built a throwaway asyncio.Queue on each call).
    async def send(self, channel, message):
        self._send_now(channel, message)

    def _send_now(self, channel, message) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        inbox = self.inboxes.get(channel)
        if inbox is not None:
            if inbox.qsize() >= self.get_capacity(channel):
                raise ChannelFull(channel)
            inbox.put_nowait(deepcopy(message))
            return
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = ChannelQueue(self.get_capacity(channel))
        try:
            queue.put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel):
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = ChannelQueue(self.get_capacity(channel))
        try:
            _, message = await queue.get()
        finally:
            if queue.empty():
                self.channels.pop(channel, None)
        return message

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_S:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        if not self.groups.get(group):
            return
        self._clean_expired()
        dropped = 0
        for channel in list(self.groups.get(group, {})):  # a send never waits: no task per member (upstream's)
            try:
                self._send_now(channel, message)
            except ChannelFull:
                dropped += 1
        overflow_record(group, dropped)


    async def group_send_many(self, items: list[tuple[str, dict]]) -> None:
        for group, message in items:
            await self.group_send(group, message)

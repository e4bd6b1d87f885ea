"""A bare Channels echo consumer, the benchmark's yardstick (`make bench-live`). Mounted at /ws/echo/ only
when BENCH_ECHO=1: it answers each JSON frame with an ack carrying the frame's seq, and does nothing else."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class EchoConsumer(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        try:
            seq = json.loads(text_data or "{}").get("seq")
        except (ValueError, AttributeError):
            seq = None
        await self.send(text_data=json.dumps({"type": "location.ack", "seq": seq, "accepted": True}))

"""Calls and chat over any party's socket: a mixin placed before `EventConsumer`.

Each consumer says who is on the socket (`rtc_party`); every message is authorised by the services with the
HTTP selectors. Chat events in the outbox carry ids only: the text is opened for this socket's party as the
frame leaves (live or on resume), and withheld once the party lost access.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from . import selectors
from .errors import DomainError, NotFound
from .serializers import ChatMessageOut
from .services import lines, rtc


class RtcMixin:
    channel_name: str

    def rtc_party(self) -> rtc.Caller | None:
        raise NotImplementedError

    async def handle(self, message: dict) -> None:
        kind = message.get("type")
        if not isinstance(kind, str) or not kind.startswith(("call.", "chat.")):
            await super().handle(message)  # type: ignore[misc]
            return
        party = self.rtc_party()
        if party is None:
            await self.send_json({"type": "error", "code": "not_found", "detail": "Not found.", "for": kind})
            return
        try:
            reply = await database_sync_to_async(self._rtc)(party, kind, message)
        except DomainError as exc:
            await self.send_json({"type": "error", "code": exc.code, "detail": exc.detail, "for": kind,
                                  "call": message.get("call"), "client_id": message.get("client_id")})
            return
        if reply is not None:
            await self.send_json(reply)

    def _rtc(self, party: rtc.Caller, kind: str, m: dict[str, Any]) -> dict[str, Any] | None:
        channel = self.channel_name
        if m.get("line") is not None and kind in ("call.start", "chat.send", "chat.history"):
            return self._line(party, kind, m)
        if kind == "call.start":
            order = selectors.access_party_order(party=party, order_id=m.get("order"))
            call, servers = rtc.call_start(party=party, order=order, to=str(m.get("to")), channel=channel)
            return {"type": "call.calling", "call": call.pk, "order": call.order_id, "to": call.callee_role,
                    "ice_servers": servers}
        if kind in ("call.accept", "call.signal", *(f"call.{a}" for a in rtc.END_ACTIONS)):
            try:
                call, _order, side = selectors.access_call(party=party, call_id=m.get("call"))
            except NotFound:
                rtc.call_end_if_access_lost(call_id=m.get("call"))  # a party who lost access ends its call
                raise
            if kind == "call.accept":
                call, servers = rtc.call_accept(party=party, call=call, side=side, channel=channel)
                return {"type": "call.connected", "call": call.pk, "order": call.order_id, "from": call.caller_role,
                        "ice_servers": servers}
            if kind == "call.signal":
                body = {k: m[k] for k in ("sdp", "candidate") if k in m}
                rtc.call_signal(call=call, side=side, channel=channel, kind=str(m.get("kind")), body=body)
                return None
            rtc.call_end(call=call, side=side, action=kind.split(".", 1)[1])
            return None
        if kind == "chat.send":
            order = selectors.access_party_order(party=party, order_id=m.get("order"))
            msg = rtc.chat_send(party=party, order=order, to=str(m.get("to")), text=str(m.get("text", "")),
                                client_id=str(m.get("client_id", "")))
            return {"type": "chat.sent", "id": msg.pk, "order": msg.order_id, "client_id": m.get("client_id")}
        if kind == "chat.history":
            history = selectors.chat_history(party=party, order_id=m.get("order"))
            return {"type": "chat.history", "order": m.get("order"), "messages": ChatMessageOut(history, many=True).data}
        raise DomainError("Unknown message type.", code="unknown_type")

    def _line(self, party: rtc.Caller, kind: str, m: dict[str, Any]) -> dict[str, Any] | None:
        """A rider's line to dispatch (`line`: the rider's id): no order, so no grant; see services/lines.py."""
        rider = selectors.access_line_rider(party=party, rider_id=m.get("line"))
        if kind == "call.start":
            call, servers = lines.line_call_start(party=party, rider=rider, to=str(m.get("to")),
                                                  channel=self.channel_name)
            return {"type": "call.calling", "call": call.pk, "order": None, "line": rider.pk, "to": call.callee_role,
                    "ice_servers": servers}
        if kind == "chat.send":
            msg = lines.line_chat_send(party=party, rider=rider, to=str(m.get("to")), text=str(m.get("text", "")),
                                       client_id=str(m.get("client_id", "")))
            return {"type": "chat.sent", "id": msg.pk, "order": None, "line": rider.pk, "client_id": m.get("client_id")}
        history = selectors.line_history(party=party, rider_id=rider.pk)
        return {"type": "chat.history", "order": None, "line": rider.pk,
                "messages": [{**row, "line": rider.pk} for row in ChatMessageOut(history, many=True).data]}

    async def rtc_frame(self, message) -> None:
        await self.send_json(message["frame"])

    async def send_json(self, content) -> None:
        if isinstance(content, dict) and content.get("type") == "chat.message" and "text" not in content:
            party = self.rtc_party()
            texts = {}
            if party is not None and isinstance(content.get("id"), int) and isinstance(content.get("line"), int):
                texts = await database_sync_to_async(selectors.line_texts)(
                    party=party, rider_id=content["line"], ids=[content["id"]])
            elif party is not None and isinstance(content.get("id"), int):
                texts = await database_sync_to_async(selectors.chat_texts)(
                    party=party, order_id=content.get("order"), ids=[content["id"]])
            content = {**content, "text": texts.get(content.get("id"))}
        await super().send_json(content)  # type: ignore[misc]

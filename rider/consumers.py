from __future__ import annotations

import time

from channels.db import database_sync_to_async
from rest_framework.exceptions import ValidationError

from dispatch.errors import DomainError
from dispatch.live.facade import EventConsumer, ping, rider_order_revoked, rider_orders_changed, rider_socket_closed
from dispatch.permissions import rider_of
from dispatch.rtc_consumer import RtcMixin
from dispatch.selectors import rider_access_ends, rider_access_starts, rider_access_windows
from dispatch.serializers import GeoStateIn, LocationIn, location_in_fast
from dispatch.services.detectors import rider_geo_state_set
from dispatch.services.events import group_rider
from dispatch.services.rtc import Caller

ORDER_VERDICT_S = 1.0  # an order's events are rare: its access verdict is re-read after this, or at its deadline


class RiderConsumer(RtcMixin, EventConsumer):
    """Besides the rider's account, each order's events are checked against the rider's access to that
    order: once it ends (revocation, reassignment, expiry) they stop, except the `order.revoked` frame
    that tells the phone to purge. Verdicts are kept for ORDER_VERDICT_S (or `SOCKET_RECHECK_S` if
    shorter) and never past the grant's deadline; `order.revoked` drops one, `order.assigned` re-checks."""

    role_relations = ("rider",)  # the re-check loads this role row only

    async def groups_for(self):
        self.rider = await database_sync_to_async(rider_of)(self.scope.get("user"))
        self.order_verdicts: dict[int, tuple[bool, float]] = {}  # order id -> (may see it, until when)
        return [group_rider(self.rider.pk)] if self.rider else None

    def rtc_party(self):
        return Caller("rider", user=self.scope.get("user")) if getattr(self, "rider", None) else None

    def still_allowed(self, user) -> bool:
        rider = rider_of(user)
        return rider is not None and rider.pk == self.rider.pk

    async def disconnect(self, code):
        if getattr(self, "rider", None) is not None:
            rider_socket_closed(self.rider.pk)
            # The reason a stale device alert gives until the app says otherwise (it tells its state on connect).
            await database_sync_to_async(rider_geo_state_set)(rider=self.rider, state="offline")
        await super().disconnect(code)

    async def relays(self, event: dict) -> bool:
        if event.get("seq"):  # a stored event on the rider's group: their orders changed, reload the context
            rider_orders_changed(self.rider.pk)
        if event.get("type") == "rider.duty":  # went on or off duty (any device): this socket's next ping knows
            self.rider.on_duty = event.get("on_duty") is True
            return True
        order_id = event.get("order")
        if type(order_id) is not int:
            return True
        if event.get("type") == "order.revoked":
            self.order_verdicts.pop(order_id, None)
            rider_order_revoked(order_id=order_id, rider_id=self.rider.pk)
            return True
        now = time.time()
        verdict = self.order_verdicts.get(order_id)
        if verdict is not None and now < verdict[1] and event.get("type") != "order.assigned":
            return verdict[0]
        ok, ends = await database_sync_to_async(rider_access_ends)(user=self.scope["user"], order_id=order_id)
        # Kept for ORDER_VERDICT_S, never past the grant's own deadline: an expired grant is refused at read time.
        self.order_verdicts[order_id] = (ok, min(now + min(self.recheck_s, ORDER_VERDICT_S), ends or float("inf")))
        return ok

    def replayable(self, events):
        """An order's events written while the rider held access to it, and the purges of orders they no
        longer hold; nothing written before their access began or after it ended."""
        order_ids = {e.payload.get("order") for e in events if type(e.payload.get("order")) is int}
        if not order_ids:
            return events
        user = self.scope["user"]
        windows = rider_access_windows(user=user, order_ids=order_ids)
        held = rider_access_starts(user=user, order_ids=order_ids)
        kept = []
        for event in events:
            order_id = event.payload.get("order")
            if type(order_id) is not int:
                kept.append(event)
            elif event.type == "order.revoked":
                if order_id not in held:
                    kept.append(event)
            elif any(start <= event.created_at and (end is None or event.created_at <= end)
                     for start, end in windows.get(order_id, ())):
                kept.append(event)
        return kept

    async def handle(self, message: dict) -> None:
        if message.get("type") == "geo.state":  # the app's location sharing state: permission denied, off, ...
            data = GeoStateIn(data={"state": message.get("state")})
            if not data.is_valid():
                await self.send_json({"type": "error", "code": "invalid", "for": "geo.state",
                                      "detail": "Send one of the location sharing states."})
                return
            await database_sync_to_async(rider_geo_state_set)(rider=self.rider, state=data.validated_data["state"])
            return
        if message.get("type") != "location":
            await super().handle(message)
            return
        v = location_in_fast(message)
        if v is None:  # anything but the common ping: the serializer's verdict and messages
            data = LocationIn(data=message)
            try:
                data.is_valid(raise_exception=True)
            except ValidationError as exc:
                await self.send_json({"type": "location.ack", "seq": message.get("seq"), "accepted": False,
                                      "code": "invalid", "errors": exc.detail})
                return
            v = data.validated_data
        try:
            # The ack means the fix is durable: `ping` waits for the batch writer's group commit. A fix that could
            # not be written in time is answered not_saved: never acknowledged as accepted. (The page does not
            # resend socket fixes yet; the HTTP fallback's queue keeps a fix until a 2xx.)
            result = await ping(rider=self.rider, lat=v["lat"], lng=v["lng"], accuracy=v["accuracy"],
                                timestamp=v["timestamp"], seq=v["seq"], here=v["here"])
        except DomainError as exc:
            await self.send_json({"type": "location.ack", "seq": v["seq"], "accepted": False, "code": exc.code,
                                  "detail": exc.detail})
            return
        await self.send_json({"type": "location.ack", "seq": v["seq"], "accepted": result.accepted,
                              "reason": result.reason})

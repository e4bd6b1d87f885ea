from __future__ import annotations

from channels.db import database_sync_to_async
from rest_framework.exceptions import ValidationError

from dispatch.consumers import EventConsumer
from dispatch.errors import DomainError
from dispatch.permissions import rider_of
from dispatch.rtc_consumer import RtcMixin
from dispatch.serializers import LocationIn
from dispatch.services.delivery import location_ping
from dispatch.services.events import group_rider
from dispatch.services.rtc import Caller


class RiderConsumer(RtcMixin, EventConsumer):
    def rtc_party(self):
        return Caller("rider", user=self.scope.get("user")) if getattr(self, "rider", None) else None

    async def groups_for(self):
        self.rider = await database_sync_to_async(rider_of)(self.scope.get("user"))
        return [group_rider(self.rider.pk)] if self.rider else None

    async def handle(self, message: dict) -> None:
        if message.get("type") != "location":
            await super().handle(message)
            return
        data = LocationIn(data=message)
        try:
            data.is_valid(raise_exception=True)
        except ValidationError as exc:
            await self.send_json({"type": "location.ack", "seq": message.get("seq"), "accepted": False,
                                  "code": "invalid", "errors": exc.detail})
            return
        v = data.validated_data
        try:
            result = await database_sync_to_async(location_ping)(
                rider=self.rider, lat=v["lat"], lng=v["lng"], accuracy=v["accuracy"], timestamp=v["timestamp"],
                seq=v["seq"], here=v["here"])
        except DomainError as exc:
            await self.send_json({"type": "location.ack", "seq": v["seq"], "accepted": False, "code": exc.code,
                                  "detail": exc.detail})
            return
        await self.send_json({"type": "location.ack", "seq": v["seq"], "accepted": result.accepted,
                              "reason": result.reason})

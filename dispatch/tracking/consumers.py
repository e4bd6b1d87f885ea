from channels.db import database_sync_to_async

from ..consumers import EventConsumer
from ..errors import NotFound
from ..rtc_consumer import RtcMixin
from ..selectors import order_by_tracking_token
from ..services.events import group_track
from ..services.rtc import Caller


class TrackConsumer(RtcMixin, EventConsumer):
    """The customer's tracking page: the token in the path is the capability, and it expires."""

    async def groups_for(self):
        token = self.scope["url_route"]["kwargs"]["token"]
        try:
            order = await database_sync_to_async(order_by_tracking_token)(token=token)
        except NotFound:
            return None
        return [group_track(order.pk)]

    def rtc_party(self):
        return Caller("customer", token=self.scope["url_route"]["kwargs"]["token"])

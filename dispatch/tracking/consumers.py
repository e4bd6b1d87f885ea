import time
from datetime import UTC, datetime

from channels.db import database_sync_to_async

from ..errors import NotFound
from ..live.facade import EventConsumer
from ..rtc_consumer import RtcMixin
from ..selectors import order_by_tracking_token
from ..services.events import events_since, group_track
from ..services.rtc import Caller
from .limits import scope_address, track_missed, track_try


class TrackConsumer(RtcMixin, EventConsumer):
    """The customer's tracking page: the token in the path is the capability, and it expires. The socket
    closes when the link expires, and `resume` replays only what was written while the link was valid."""

    uses_session = False

    async def groups_for(self):
        if await database_sync_to_async(track_try)(scope_address(self.scope)):
            return None  # over the address's tracking limit: refused as an unknown link is
        order = await database_sync_to_async(self._lookup)()
        if order is None:
            await database_sync_to_async(track_missed)(scope_address(self.scope))
            return None
        self.order_id = order.pk
        return [group_track(order.pk)]

    def _lookup(self):
        try:
            order = order_by_tracking_token(token=self.scope["url_route"]["kwargs"]["token"])
        except NotFound:
            return None
        self.window = (order.created_at, order.tracking_expires_at)
        self.access_ends_at = order.tracking_expires_at.timestamp()
        return order

    async def tracking_expiry(self, message):
        """The link's expiry changed (services.orders.tracking_expiry_set): ended, close now; else re-arm the
        timer and tell the page. The next frame re-checks the link in the database as well."""
        if self.ended:
            return
        ends_at = float(message["expires_at"])
        self.access_ends_at = ends_at
        self.window = (self.window[0], datetime.fromtimestamp(ends_at, tz=UTC))
        self.trusted_until = 0.0
        if ends_at <= time.time():
            await self.end()
            return
        self._arm_expiry()
        await self.send_json({"type": "expiry", "expires_at": self.window[1].isoformat()})

    def still_allowed(self, user) -> bool:
        order = self._lookup()
        return order is not None and order.pk == self.order_id

    def missed_since(self, seq: int, late: bool = True):
        not_before, not_after = self.window
        return events_since(groups=self.groups_joined, seq=seq, late=late, not_before=not_before, not_after=not_after)

    def rtc_party(self):
        return Caller("customer", token=self.scope["url_route"]["kwargs"]["token"])

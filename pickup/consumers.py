from channels.db import database_sync_to_async

from dispatch.consumers import EventConsumer
from dispatch.permissions import staff_of
from dispatch.rtc_consumer import RtcMixin
from dispatch.services.events import group_store
from dispatch.services.rtc import Caller


class StoreConsumer(RtcMixin, EventConsumer):
    async def groups_for(self):
        staff = await database_sync_to_async(staff_of)(self.scope.get("user"))
        self.staff = staff
        return [group_store(staff.store_id)] if staff else None

    def rtc_party(self):
        return Caller("store", user=self.scope.get("user")) if getattr(self, "staff", None) else None

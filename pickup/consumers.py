from channels.db import database_sync_to_async

from dispatch.live.facade import EventConsumer
from dispatch.permissions import staff_of
from dispatch.rtc_consumer import RtcMixin
from dispatch.services.events import group_store
from dispatch.services.rtc import Caller


class StoreConsumer(RtcMixin, EventConsumer):
    role_relations = ("staff__store",)  # the re-check loads this role row only

    async def groups_for(self):
        staff = await database_sync_to_async(staff_of)(self.scope.get("user"))
        if not staff:
            return None
        self.staff = staff
        self.store_id = staff.store_id
        return [group_store(staff.store_id)]

    def still_allowed(self, user) -> bool:
        staff = staff_of(user)
        return staff is not None and staff.store_id == self.store_id

    def rtc_party(self):
        return Caller("store", user=self.scope.get("user")) if getattr(self, "staff", None) else None

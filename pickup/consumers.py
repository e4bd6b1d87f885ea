from channels.db import database_sync_to_async

from dispatch.consumers import EventConsumer
from dispatch.permissions import staff_of
from dispatch.services.events import group_store


class StoreConsumer(EventConsumer):
    async def groups_for(self):
        staff = await database_sync_to_async(staff_of)(self.scope.get("user"))
        return [group_store(staff.store_id)] if staff else None

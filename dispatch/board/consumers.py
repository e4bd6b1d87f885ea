from channels.db import database_sync_to_async

from ..consumers import EventConsumer
from ..permissions import is_dispatcher
from ..services.events import GROUP_DISPATCH


class DispatchConsumer(EventConsumer):
    async def groups_for(self):
        user = self.scope.get("user")
        ok = await database_sync_to_async(is_dispatcher)(user)
        return [GROUP_DISPATCH] if ok else None

    def still_allowed(self, user) -> bool:
        return is_dispatcher(user)

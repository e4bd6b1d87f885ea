from channels.db import database_sync_to_async

from ..live.facade import EventConsumer
from ..permissions import is_dispatcher
from ..rtc_consumer import RtcMixin
from ..services.events import GROUP_DISPATCH
from ..services.rtc import Caller


class DispatchConsumer(RtcMixin, EventConsumer):
    role_relations = ("dispatcher",)  # the re-check loads this role row only

    async def groups_for(self):
        user = self.scope.get("user")
        ok = await database_sync_to_async(is_dispatcher)(user)
        self.dispatcher = ok
        return [GROUP_DISPATCH] if ok else None

    def still_allowed(self, user) -> bool:
        return is_dispatcher(user)

    def rtc_party(self):
        """A dispatcher joins an order's calls and chat only with a live break-glass grant (checked per message)."""
        return Caller("dispatch", user=self.scope.get("user")) if getattr(self, "dispatcher", False) else None

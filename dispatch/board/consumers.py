from channels.db import database_sync_to_async

from ..live.facade import EventConsumer
from ..permissions import is_dispatcher
from ..rtc_consumer import RtcMixin
from ..services.fleets import consumer_groups, dispatcher_scope
from ..services.rtc import Caller


class DispatchConsumer(RtcMixin, EventConsumer):
    role_relations = ("dispatcher",)  # the re-check loads this role row only

    def _groups(self, user) -> list[str] | None:
        """A dispatcher with no fleet scope joins the all-fleets group; a scoped one its fleet's group only."""
        if not is_dispatcher(user):
            return None
        self.fleet_scope = dispatcher_scope(user)
        return consumer_groups(self.fleet_scope) or None

    async def groups_for(self):
        groups = await database_sync_to_async(self._groups)(self.scope.get("user"))
        self.dispatcher = groups is not None
        return groups

    def still_allowed(self, user) -> bool:
        """Still a dispatcher, of the same scope (a changed scope closes the socket: it reconnects to its new groups)."""
        return is_dispatcher(user) and dispatcher_scope(user) == getattr(self, "fleet_scope", None)

    def rtc_party(self):
        """A dispatcher joins an order's calls and chat only with a live break-glass grant (checked per message)."""
        return Caller("dispatch", user=self.scope.get("user")) if getattr(self, "dispatcher", False) else None

from channels.db import database_sync_to_async

from .. import selectors
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

    def replayable(self, events):
        """A scoped dispatcher resuming gets the events of the orders its fleet sees now, not of those that
        left it meanwhile (reassigned to another fleet's rider)."""
        if not getattr(self, "fleet_scope", ""):
            return events
        ids = {e.payload.get("order") for e in events if type(e.payload.get("order")) is int}
        seen = set(selectors.dispatch_orders(user=self.scope.get("user")).filter(pk__in=ids)
                   .values_list("pk", flat=True)) if ids else set()
        return [e for e in events if type(e.payload.get("order")) is not int or e.payload["order"] in seen]

    def still_allowed(self, user) -> bool:
        """Still a dispatcher, of the same scope (a changed scope closes the socket: it reconnects to its new groups)."""
        return is_dispatcher(user) and dispatcher_scope(user) == getattr(self, "fleet_scope", None)

    def rtc_party(self):
        """A dispatcher joins an order's calls and chat only with a live break-glass grant (checked per message)."""
        return Caller("dispatch", user=self.scope.get("user")) if getattr(self, "dispatcher", False) else None

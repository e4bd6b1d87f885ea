"""The core's wiring. The live path (dispatch/live) sits above the domain services, which import no
transport: here it plugs into them: the outbox's transport, erasure's reach into the engine's state, and
logout's closing of the session's sockets."""

from django.apps import AppConfig


def _close_session_sockets(sender, request=None, **kwargs) -> None:
    from .services.events import session_sockets_close

    session = getattr(request, "session", None)
    session_sockets_close(session_key=getattr(session, "session_key", None))


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch (core)"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from .live import publish, state
        from .services import events
        from .signals import traces_erased

        # Every logout path (the logout page, the admin, a test client) closes that session's sockets.
        user_logged_out.connect(_close_session_sockets, dispatch_uid="dispatch.close_session_sockets")
        events.transport_set(publish.layer_send, publish.layer_outage)
        traces_erased.connect(state.traces_erased_forget, dispatch_uid="dispatch.live.traces_erased")

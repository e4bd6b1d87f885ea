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

        # Every logout path (the logout page, the admin, a test client) closes that session's sockets.
        user_logged_out.connect(_close_session_sockets, dispatch_uid="dispatch.close_session_sockets")

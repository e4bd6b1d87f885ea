import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_POOL", "1")  # a server process pools its PostgreSQL connections
django_asgi_app = get_asgi_application()  # before importing anything that touches models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from config.logs import install_daphne_access_log  # noqa: E402
from config.middleware import SocketAuth  # noqa: E402
from config.origins import OriginValidator  # noqa: E402
from dispatch.board import routing as board_routing  # noqa: E402
from dispatch.middleware import SocketGuard  # noqa: E402
from dispatch.tracking import routing as tracking_routing  # noqa: E402
from pickup import routing as pickup_routing  # noqa: E402
from rider import routing as rider_routing  # noqa: E402

install_daphne_access_log()  # daphne builds its access log after importing this module

echo_urlpatterns = []
if os.environ.get("BENCH_ECHO") == "1":  # make bench-live's yardstick (dispatch/live/echo.py); never set in production
    from django.urls import path  # noqa: E402

    from dispatch.live.echo import EchoConsumer  # noqa: E402

    echo_urlpatterns = [path("ws/echo/", EchoConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        # /static/ is served by WhiteNoise's middleware (config/settings/base.py): one command, no web server in front.
        "http": django_asgi_app,
        "websocket": SocketGuard(  # outermost: before the session lookup and the URL router
            OriginValidator(
                SocketAuth(  # the session and the account (channels' AuthMiddlewareStack, lighter)
                    URLRouter(
                        rider_routing.websocket_urlpatterns
                        + pickup_routing.websocket_urlpatterns
                        + board_routing.websocket_urlpatterns
                        + tracking_routing.websocket_urlpatterns
                        + echo_urlpatterns
                    )
                )
            )
        ),
    }
)

# Garbage collection for a process holding thousands of sockets: a full collection walks every tracked object
# (about 250 ms for 2.4 million here), so everything loaded at start-up is frozen out of it, and the young
# generation is collected less often, so the objects of a ping in flight die before they reach the old ones
# (settings.GC_THRESHOLDS; docs/performance.md).
gc.freeze()
if settings.GC_THRESHOLDS:
    gc.set_threshold(*settings.GC_THRESHOLDS)

"""An open socket keeps its session's key, not its session store (config.middleware.SocketAuth): the store and
its data were held by every scope copy for the life of the socket. The re-check still reads the session afresh."""

import gc

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cached_db import SessionStore

from dispatch.live.sockets import _open_sockets

from .socket_helpers import frames_until_closed, login_cookie, open_socket, session_key, shut

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path,username", [("/ws/dispatch/", "dispatcher1"), ("/ws/store/", "store1")])
def test_an_open_socket_holds_no_session_store_and_still_ends_with_its_session(demo, settings, path, username):
    settings.SOCKET_RECHECK_S = 0  # the re-check runs before every frame
    cookie = login_cookie(demo[username])
    key = session_key(cookie)

    async def scenario():
        comm, ok = await open_socket(path, cookie)
        assert ok
        gc.collect()
        stores = [o for o in gc.get_objects() if issubclass(type(o), SessionBase) and o.session_key == key]
        assert stores == []
        (consumer,) = list(_open_sockets)
        assert consumer.scope["session"].session_key == key
        assert consumer.scope["user"].pk == demo[username].pk
        assert consumer.session_expires_at is not None
        await sync_to_async(SessionStore(session_key=key).delete)()
        await comm.send_json_to({"type": "resume", "seq": 0})
        assert await frames_until_closed(comm) == ([], 4403)
        await shut(comm)

    async_to_sync(scenario)()


def test_an_open_socket_s_scope_keeps_no_cookie_header_and_no_handshake_headers(demo):
    """The session's key is kept once, as the session's: not again in the Cookie header or a `cookies` dict that every
    open socket's scope held for as long as it was open, beside the handshake's own headers."""
    cookie = login_cookie(demo["rider1"])
    key = session_key(cookie)

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        (consumer,) = list(_open_sockets)
        names = {name for name, _ in consumer.scope["headers"]}
        assert b"cookie" not in names and not names & {b"sec-websocket-key", b"upgrade", b"connection"}
        assert b"origin" in names  # what the origin check read stays
        assert "cookies" not in consumer.scope
        assert not any(key.encode() in value for _, value in consumer.scope["headers"])
        assert consumer.scope["session"].session_key == key
        await shut(comm)

    async_to_sync(scenario)()

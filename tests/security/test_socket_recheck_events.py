"""With the periodic safety re-check slow (SOCKET_RECHECK_S = 30 s, the default), an open
socket still loses access at once when it ends by time: the session's expiry and a
rider's grant deadline are held in memory and compared on every frame (logout and revocation send events:
tests/security/test_socket_access.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.cached_db import SessionStore
from django.utils import timezone

from dispatch.models import Grant, Order
from dispatch.services.orders import order_event

from .socket_helpers import frames_until_closed, frames_until_quiet, login_cookie, open_socket, session_key, shut
from .test_socket_access import post_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def slow_recheck(settings):
    settings.SOCKET_RECHECK_S = 30


def test_a_session_past_its_expiry_gets_no_frame(demo, merchant):
    cookie = login_cookie(demo["dispatcher1"])
    store = SessionStore(session_key=session_key(cookie))
    store.set_expiry(2)  # seconds from now
    store.save()

    async def scenario():
        board, ok = await open_socket("/ws/dispatch/", cookie)
        assert ok
        await sync_to_async(post_order)(merchant)
        assert [f["type"] for f in await frames_until_quiet(board)] == ["order.created"]
        await asyncio.sleep(2.2)
        await sync_to_async(post_order)(merchant)
        assert await frames_until_closed(board) == ([], 4403)
        await shut(board)

    asyncio.run(scenario())


def test_a_rider_whose_grant_deadline_passed_gets_no_more_of_that_order(demo, assigned_order):
    order_id = assigned_order["id"]
    cookie = login_cookie(demo["rider1"])

    def changed():
        order_event(Order.objects.get(pk=order_id))

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        await sync_to_async(changed)()
        assert [f.get("order") for f in await frames_until_quiet(comm)] == [order_id]
        # The deadline passes with no event (as if the revocation sweep were late).
        await sync_to_async(lambda: Grant.objects.filter(order_id=order_id).update(
            expires_at=timezone.now() + timedelta(seconds=0.3)))()
        await asyncio.sleep(0.5)
        await sync_to_async(changed)()
        assert await frames_until_quiet(comm) == []
        await shut(comm)

    asyncio.run(scenario())  # the frame is refused on its own deadline, not by the re-check 30 s away


def test_the_recheck_loads_the_sockets_own_role_row_only(demo, settings, monkeypatch):
    """Profile: the re-check loaded the account with all four role rows joined; a rider socket needs its rider."""
    from django.db.backends import utils

    settings.SOCKET_RECHECK_S = 0
    cookie = login_cookie(demo["rider1"])
    seen: list[str] = []
    original = utils.CursorWrapper.execute
    monkeypatch.setattr(utils.CursorWrapper, "execute",
                        lambda self, sql, params=None: seen.append(sql) or original(self, sql, params))

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        seen.clear()
        await comm.send_json_to({"type": "resume", "seq": 0})
        await frames_until_quiet(comm)
        await shut(comm)

    asyncio.run(scenario())
    users = [sql for sql in seen if 'FROM "auth_user"' in sql]
    assert users, seen
    assert all('"dispatch_rider"' in sql and '"dispatch_dispatcher"' not in sql and '"dispatch_staff"' not in sql
               for sql in users), users

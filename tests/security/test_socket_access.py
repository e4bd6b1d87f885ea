"""Sockets never outlive access: logout, a flushed or expired session, a removed role, an expired
tracking link, a revoked or reassigned order; and malformed messages get an error frame.

Findings: groups were joined once at connect and never re-checked
(a tracking socket kept receiving after its link expired and `resume` from 0 replayed the events; a
dispatcher socket kept receiving after logout), and `{"type": "resume", "seq": 10**23}` got no reply.
"""

import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from dispatch.models import Dispatcher, Grant, Order, Staff
from dispatch.services.orders import order_cancel
from tests.factories import order_payload

from .socket_helpers import (
    frames_until_closed,
    frames_until_quiet,
    login_cookie,
    open_socket,
    session_key,
    shut,
    tracking_token,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def every_frame_checked(settings):
    """No cached verdict: the access check runs before every frame, so "the next frame" is exact."""
    settings.SOCKET_RECHECK_S = 0


def post_order(merchant) -> int:
    return merchant.post("/api/orders/", order_payload(), format="json").json()["id"]


# --- logins ---------------------------------------------------------------------------------------
def test_logout_closes_that_sessions_sockets_and_no_other(demo, merchant):
    """Plays a dispatcher who logs out at a shared desk while the board's socket stays open (and the same
    dispatcher's other login elsewhere). Covers "a dispatcher socket kept receiving after logout"."""
    browser = Client()
    browser.force_login(demo["dispatcher1"])
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    other = login_cookie(demo["dispatcher1"])

    async def scenario():
        board, ok = await open_socket("/ws/dispatch/", cookie)
        elsewhere, ok2 = await open_socket("/ws/dispatch/", other)
        assert ok and ok2
        response = await sync_to_async(browser.post)("/accounts/logout/")
        assert response.status_code in (200, 302)
        await sync_to_async(post_order)(merchant)
        frames, code = await frames_until_closed(board)
        assert (frames, code) == ([], 4403)
        assert [f["type"] for f in await frames_until_quiet(elsewhere)] == ["order.created"]
        await shut(board, elsewhere)

    async_to_sync(scenario)()


@pytest.mark.parametrize("how", ["flushed", "expired"])
def test_ended_session_stops_frames(demo, merchant, every_frame_checked, how):
    """Plays a dispatcher whose session ends without a logout request (flushed by an admin, or past its
    expiry) while the socket stays open. Covers the "never re-checked" finding for sessions."""
    cookie = login_cookie(demo["dispatcher1"])
    key = session_key(cookie)

    def end_session():
        if how == "flushed":
            SessionStore(session_key=key).delete()
        else:
            Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
            caches[django_settings.SESSION_CACHE_ALIAS].delete(SessionStore(session_key=key).cache_key)

    async def scenario():
        board, ok = await open_socket("/ws/dispatch/", cookie)
        assert ok
        await sync_to_async(end_session)()
        await sync_to_async(post_order)(merchant)
        assert await frames_until_closed(board) == ([], 4403)
        again, ok = await open_socket("/ws/dispatch/", cookie)
        assert not ok
        await shut(board, again)

    async_to_sync(scenario)()


@pytest.mark.parametrize("path,username", [("/ws/dispatch/", "dispatcher1"), ("/ws/store/", "store1")])
def test_removed_role_stops_at_the_next_frame(demo, merchant, every_frame_checked, path, username):
    """Plays a dispatcher (or store clerk) whose role row is removed while their socket is open. Covers
    the "never re-checked" finding for roles."""
    cookie = login_cookie(demo[username])

    async def scenario():
        comm, ok = await open_socket(path, cookie)
        assert ok
        await sync_to_async(post_order)(merchant)
        assert [f["type"] for f in await frames_until_quiet(comm)] == ["order.created"]
        model = Dispatcher if username == "dispatcher1" else Staff
        await sync_to_async(lambda: model.objects.filter(user=demo[username]).delete())()
        await sync_to_async(post_order)(merchant)
        assert await frames_until_closed(comm) == ([], 4403)
        await shut(comm)

    async_to_sync(scenario)()


def test_inbound_message_rechecks_the_session(demo, every_frame_checked):
    """Plays a store clerk's tablet that keeps sending after the session was flushed. Covers the
    "never re-checked" finding for inbound messages: nothing is answered, the socket closes."""
    cookie = login_cookie(demo["store1"])

    async def scenario():
        comm, ok = await open_socket("/ws/store/", cookie)
        assert ok
        await sync_to_async(SessionStore(session_key=session_key(cookie)).delete)()
        await comm.send_json_to({"type": "resume", "seq": 0})
        assert await frames_until_closed(comm) == ([], 4403)
        await shut(comm)

    async_to_sync(scenario)()


def test_verdict_is_cached_between_checks(demo, merchant, settings, monkeypatch):
    """Plays the operator: a burst of frames costs one access check per SOCKET_RECHECK_S, not one each."""
    from dispatch.board.consumers import DispatchConsumer

    settings.SOCKET_RECHECK_S = 3600
    checks = []
    original = DispatchConsumer.still_allowed
    monkeypatch.setattr(DispatchConsumer, "still_allowed", lambda self, user: checks.append(1) or original(self, user))
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        board, ok = await open_socket("/ws/dispatch/", cookie)
        for _ in range(5):
            await sync_to_async(post_order)(merchant)
        frames = await frames_until_quiet(board)
        await shut(board)
        return frames

    assert len(async_to_sync(scenario)()) == 5
    assert checks == []


# --- the tracking link ------------------------------------------------------------------------------
def set_link_expiry(order_id: int, at) -> None:
    Order.objects.filter(pk=order_id).update(tracking_expires_at=at)


def test_tracking_socket_closes_when_the_link_expires(posted_order):
    """Plays a customer's tracking page (or whoever holds a forwarded link) left open past the link's
    expiry. Covers "a tracking socket kept receiving events after its link expired": a timer closes it."""
    set_link_expiry(posted_order["id"], timezone.now() + timedelta(seconds=2))

    async def scenario():
        comm, ok = await open_socket(f"/ws/track/{tracking_token(posted_order)}/")
        assert ok
        assert await frames_until_closed(comm) == ([], 4403)
        await shut(comm)

    async_to_sync(scenario)()


def test_expired_link_gets_no_frame_and_resume_replays_nothing(posted_order, staff1, every_frame_checked):
    """Plays the holder of a tracking link that expired while the socket was open: the next event is not
    delivered, and `resume` from 0 replays nothing. Covers the tracking finding (frames and resume)."""
    path = f"/ws/track/{tracking_token(posted_order)}/"
    order_id = posted_order["id"]

    async def scenario():
        live, ok = await open_socket(path)
        replay, ok2 = await open_socket(path)
        assert ok and ok2
        await sync_to_async(set_link_expiry)(order_id, timezone.now() - timedelta(seconds=1))
        await sync_to_async(staff1.post)(f"/api/pickup/orders/{order_id}/ready/")
        assert await frames_until_closed(live) == ([], 4403)
        await replay.send_json_to({"type": "resume", "seq": 0})
        assert await frames_until_closed(replay) == ([], 4403)
        again, ok = await open_socket(path)
        assert not ok
        await shut(live, replay, again)

    async_to_sync(scenario)()


# --- riders and their orders --------------------------------------------------------------------------
def test_rider_gets_the_purge_and_nothing_more_of_a_cancelled_order(demo, assigned_order, every_frame_checked):
    """Plays a rider whose order is cancelled while the app is open. Covers the rider half of "never
    re-checked": after `order.revoked` no event of that order reaches the rider."""
    cookie = login_cookie(demo["rider1"])
    order_id = assigned_order["id"]

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        await sync_to_async(order_cancel)(order_id=order_id, by=demo["dispatcher1"])
        frames = await frames_until_quiet(comm)
        await shut(comm)
        return frames

    assert [(f["type"], f["order"]) for f in async_to_sync(scenario)()] == [("order.revoked", order_id)]


def test_rider_whose_grant_lapsed_gets_no_more_events_of_that_order(demo, assigned_order, staff1, every_frame_checked):
    """Plays a rider whose access to a delivered order lapsed at read time (no sweep has run yet) while
    the store still changes the order. Covers the rider half of "never re-checked"."""
    cookie = login_cookie(demo["rider1"])
    order_id = assigned_order["id"]

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        await sync_to_async(lambda: Grant.objects.filter(order_id=order_id).update(
            expires_at=timezone.now() - timedelta(seconds=1)))()
        await sync_to_async(staff1.post)(f"/api/pickup/orders/{order_id}/ready/")
        frames = await frames_until_quiet(comm)
        await shut(comm)
        return frames

    assert async_to_sync(scenario)() == []


def rider_replay(cookie: str) -> list[tuple[str, int, str | None]]:
    async def replay():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        await comm.send_json_to({"type": "resume", "seq": 0})
        frames = await frames_until_quiet(comm)
        await shut(comm)
        return [(f["type"], f["order"], f.get("status")) for f in frames]

    return async_to_sync(replay)()


def test_rider_resume_replays_nothing_written_after_access_ended(demo, assigned_order, staff1, merchant, dispatcher):
    """Plays a rider's phone reconnecting and resuming from 0 after the rider lost two orders: one cancelled
    (revoked), one whose grant lapsed at read time before the store marked it ready. Events written after
    access ended are not replayed; the purges are. Covers the resume finding for riders."""
    cancelled = assigned_order["id"]
    order_cancel(order_id=cancelled, by=demo["dispatcher1"])
    lapsed = post_order(merchant)
    assign(dispatcher, demo, lapsed, "rider1")
    Grant.objects.filter(order_id=lapsed).update(expires_at=timezone.now())  # lapses now, after order.assigned
    assert staff1.post(f"/api/pickup/orders/{lapsed}/ready/").status_code == 200

    assert rider_replay(login_cookie(demo["rider1"])) == [
        ("order.assigned", cancelled, "assigned"), ("order.revoked", cancelled, None),
        ("order.assigned", lapsed, "assigned"),
    ]


def test_rider_resume_after_reassignment(demo, assigned_order, dispatcher):
    """Plays the rider an order was taken from, and the rider it went to, both resuming from 0: each replays
    only what was written while they held the order, the first also the purge."""
    order_id = assigned_order["id"]
    assign(dispatcher, demo, order_id, "rider2")
    cookies = {name: login_cookie(demo[name]) for name in ("rider1", "rider2")}
    assert rider_replay(cookies["rider1"]) == [("order.assigned", order_id, "assigned"), ("order.revoked", order_id, None)]
    assert rider_replay(cookies["rider2"]) == [("order.assigned", order_id, "assigned")]


def assign(dispatcher, demo, order_id: int, username: str) -> None:
    response = dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": demo[username].rider.pk},
                               format="json")
    assert response.status_code == 200, response.content


# --- malformed messages --------------------------------------------------------------------------------
BAD = [
    ('{"type": "resume", "seq": 99999999999999999999999}', "invalid"),
    ('{"type": "resume", "seq": 9223372036854775808}', "invalid"),
    ('{"type": "resume", "seq": -1}', "invalid"),
    ('{"type": "resume", "seq": 1.5}', "invalid"),
    ('{"type": "resume", "seq": 1e400}', "invalid"),
    ('{"type": "resume", "seq": NaN}', "invalid"),
    ('{"type": "resume", "seq": "12"}', "invalid"),
    ('{"type": "resume", "seq": true}', "invalid"),
    ('{"type": "resume"}', "invalid"),
    ('{"type": "nope"}', "unknown_type"),
    ("{}", "unknown_type"),
    ("[1, 2]", "malformed"),
    ('"resume"', "malformed"),
    ("42", "malformed"),
    ("null", "malformed"),
    ("not json", "malformed"),
    (" ", "malformed"),
    ("[" * 60_000, "malformed"),
    ('{"type": "resume", "seq": 1' + "0" * 5000 + "}", "malformed"),
    (json.dumps({"type": "nope", "pad": "x" * 70_000}), "too_large"),
    (json.dumps({"type": "nope", "pad": "é" * 40_000}), "too_large"),  # 40,000 characters, 80,000 bytes
    (b"\x00\x01binary", "malformed"),
]


@pytest.mark.parametrize("path,username", [("/ws/store/", "store1"), ("/ws/rider/", "rider1")])
def test_malformed_messages_get_an_error_frame_and_the_socket_stays_usable(demo, merchant, path, username):
    """Plays a buggy or hostile client sending malformed and out-of-range messages. Covers "resume with
    seq 10**23 gets no reply at all": every one is answered with an error frame, and the socket still
    delivers events and resumes afterwards."""
    cookie = login_cookie(demo[username])

    async def scenario():
        comm, ok = await open_socket(path, cookie)
        assert ok
        codes = []
        for message, _ in BAD:
            if isinstance(message, bytes):
                await comm.send_to(bytes_data=message)
            else:
                await comm.send_to(text_data=message)
            reply = await comm.receive_json_from(timeout=3)
            assert reply["type"] == "error", (message[:40], reply)
            codes.append(reply["code"])
        await comm.send_json_to({"type": "resume", "seq": 2**63 - 1})  # the largest valid seq: nothing to replay
        if username == "store1":
            await sync_to_async(post_order)(merchant)
            assert [f["type"] for f in await frames_until_quiet(comm)] == ["order.created"]
        await comm.send_json_to({"type": "resume", "seq": 0})
        await frames_until_quiet(comm)
        await shut(comm)
        return codes

    assert async_to_sync(scenario)() == [code for _, code in BAD]


def test_frame_cost_figures(demo, settings):
    """Plays the operator sizing the socket tier: prints what delivering a frame costs with the verdict
    cached (the default) and with a check before every frame. Benchmark: asserts only delivery."""
    from channels.layers import get_channel_layer

    cookie = login_cookie(demo["dispatcher1"])
    n = 2000

    async def run(recheck_s: float) -> float:
        settings.SOCKET_RECHECK_S = recheck_s
        board, ok = await open_socket("/ws/dispatch/", cookie)
        assert ok
        layer = get_channel_layer()
        t0 = time.perf_counter()
        for i in range(n):
            await layer.group_send("dispatch", {"type": "domain.event", "event": {"type": "x", "seq": i + 1}})
            await board.receive_output(timeout=3)
        dt = time.perf_counter() - t0
        await shut(board)
        return dt

    async def cached_check() -> float:
        from dispatch.board.consumers import DispatchConsumer

        consumer = DispatchConsumer()
        consumer.ended, consumer.access_ends_at, consumer.trusted_until = False, time.time() + 3600, time.monotonic() + 3600
        t0 = time.perf_counter()
        for _ in range(100_000):
            assert await consumer.allowed()
        return (time.perf_counter() - t0) / 100_000

    cached = async_to_sync(run)(3600)
    every = async_to_sync(run)(0)
    check = async_to_sync(cached_check)()
    print(f"\nthe per-frame access check with a cached verdict: {check * 1e9:.0f} ns")
    print(f"{n} frames through a dispatcher socket (group_send to receive, in-memory layer): "
          f"verdict cached {cached / n * 1e6:.0f} us/frame ({n / cached:.0f}/s); "
          f"checked every frame {every / n * 1e6:.0f} us/frame ({n / every:.0f}/s)")

"""Off duty on an open socket: a rider with two sockets open (the phone and a second tab) goes off duty over
HTTP. Every open socket is told at once, and a ping after that is refused (`off_duty`) and nothing of it is
stored, though the sockets loaded the rider's row (on duty) when they connected and the first socket's pings
were on the event loop's fast path. Back on duty, the same sockets' pings are accepted again."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from dispatch.models import LocationFix, Rider

from .socket_helpers import frames_until_quiet, login_cookie, open_socket, shut

pytestmark = pytest.mark.django_db(transaction=True)


def _ping(seq: int, t: float) -> dict:
    return {"type": "location", "lat": 51.52 + seq * 1e-5, "lng": -0.12, "accuracy": 8, "timestamp": t + seq * 0.5,
            "seq": seq}


async def _acked(comm, seq: int, t: float, others: list | None = None) -> dict:
    """The ping's ack; the frames that came before it go to `others`."""
    await comm.send_json_to(_ping(seq, t))
    while True:
        frame = await comm.receive_json_from(timeout=3)
        if frame.get("type") == "location.ack":
            assert frame["seq"] == seq
            return frame
        if others is not None:
            others.append(frame)


def test_off_duty_over_http_refuses_pings_on_every_open_socket(demo, assigned_order, rider1):
    user = demo["rider1"]
    cookies = [login_cookie(user), login_cookie(user)]
    t = time.time() - 4

    async def scenario():
        phone, ok1 = await open_socket("/ws/rider/", cookies[0])
        tab, ok2 = await open_socket("/ws/rider/", cookies[1])
        assert ok1 and ok2
        try:
            for seq in (1, 2):  # on duty: accepted (the second on the fast path, the context in memory)
                assert (await _acked(phone, seq, t))["accepted"] is True
            r = await sync_to_async(rider1.post)("/api/rider/duty/", {"on_duty": False}, format="json")
            assert r.status_code == 200 and r.json() == {"on_duty": False}
            assert await sync_to_async(lambda: Rider.objects.get(user=user).on_duty)() is False
            others: dict = {phone: [], tab: []}
            for comm, seq in ((phone, 3), (tab, 4), (phone, 5)):
                ack = await _acked(comm, seq, t, others[comm])
                assert ack["accepted"] is False and ack["code"] == "off_duty", ack
            stored = await sync_to_async(lambda: sorted(LocationFix.objects.filter(rider__user=user)
                                                        .values_list("seq", flat=True)))()
            assert stored == [1, 2]  # nothing of the pings after going off duty
            for comm in (phone, tab):  # every open socket was told, before its next ping
                told = [f for f in others[comm] + await frames_until_quiet(comm, 0.2) if f.get("type") == "rider.duty"]
                assert [f["on_duty"] for f in told] == [False]
            r = await sync_to_async(rider1.post)("/api/rider/duty/", {"on_duty": True}, format="json")
            assert r.status_code == 200
            assert (await _acked(tab, 6, t))["accepted"] is True
        finally:
            await shut(phone, tab)

    async_to_sync(scenario)()


def test_a_process_that_missed_the_message_still_refuses_after_its_version_check(demo, assigned_order):
    """Another process's socket: the duty changed in the database and the context version was bumped, but no
    message reached this socket. Once the version check (the daemon thread's, run here by hand) drops the
    context, the next ping re-reads the duty and is refused; back on duty, the refusal's re-read lets it in."""
    from dispatch.live.contexts import contexts_version_check
    from dispatch.services.events import _bump_context

    user = demo["rider1"]
    cookie = login_cookie(user)
    rider_id = user.rider.pk
    t = time.time() - 4

    def duty(on: bool) -> None:
        Rider.objects.filter(pk=rider_id).update(on_duty=on)
        _bump_context(rider_id)

    async def scenario():
        phone, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        try:
            for seq in (1, 2):
                assert (await _acked(phone, seq, t))["accepted"] is True
            await sync_to_async(duty)(False)
            assert await sync_to_async(contexts_version_check)() == 1
            ack = await _acked(phone, 3, t)
            assert ack["accepted"] is False and ack["code"] == "off_duty", ack
            await sync_to_async(duty)(True)
            assert (await _acked(phone, 4, t))["accepted"] is True
            stored = await sync_to_async(lambda: sorted(LocationFix.objects.filter(rider_id=rider_id)
                                                        .values_list("seq", flat=True)))()
            assert stored == [1, 2, 4]
        finally:
            await shut(phone)

    async_to_sync(scenario)()

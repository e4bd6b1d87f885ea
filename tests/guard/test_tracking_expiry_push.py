"""A tracking link's expiry changed in the database reaches its open sockets at once: shortened into the past, the
socket closes; moved later, the socket is told. Nothing waits for the periodic re-check (SOCKET_RECHECK_S is an
hour here) and the socket sends nothing that would trigger one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.utils import timezone

from dispatch.live.access import CLOSE_ACCESS_ENDED
from dispatch.models import Order
from dispatch.services.orders import tracking_expiry_set
from tests.security.socket_helpers import frames_until_closed, open_socket, shut, tracking_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def slow_recheck(settings):
    settings.SOCKET_RECHECK_S = 3600


def _set(order_id: int, delta: timedelta):
    order = Order.objects.get(pk=order_id)
    tracking_expiry_set(order=order, expires_at=timezone.now() + delta)


def test_an_expiry_moved_into_the_past_closes_the_open_socket_at_once(assigned_order):
    token = tracking_token(assigned_order)

    async def scenario():
        comm, connected = await open_socket(f"/ws/track/{token}/")
        assert connected
        await database_sync_to_async(_set)(assigned_order["id"], timedelta(seconds=-1))
        frames, code = await frames_until_closed(comm, wait_s=2.0)
        assert code == CLOSE_ACCESS_ENDED
        await shut(comm)

    async_to_sync(scenario)()


def test_an_expiry_moved_later_is_told_to_the_open_socket(assigned_order):
    token = tracking_token(assigned_order)

    async def scenario():
        comm, connected = await open_socket(f"/ws/track/{token}/")
        assert connected
        await database_sync_to_async(_set)(assigned_order["id"], timedelta(hours=2))
        frame = await comm.receive_json_from(timeout=2.0)
        assert frame["type"] == "expiry" and frame["expires_at"]
        await shut(comm)

    async_to_sync(scenario)()

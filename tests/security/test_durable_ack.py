"""Finding "kill -9 of daphne lost 1 of 103 acknowledged fixes": the socket acked a fix while it still
sat in the process's batch buffer. The choice made: a location ack means the fix is durable (the ack
waits for the batch writer's group commit). The rider's view: every fix acked is in the database."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import DatabaseError

from dispatch.live import statements
from dispatch.live.writer import buffer
from dispatch.models import LocationFix
from tests.test_websockets import connect, cookie_for

pytestmark = pytest.mark.django_db(transaction=True)
FAR = (51.53, -0.1196)


@pytest.fixture
def batched(settings):
    settings.LOCATION_FIX_BATCH = True  # as in production: the history goes through the batch writer
    settings.LOCATION_FIX_FLUSH_S = 0.5  # the base commit's flush interval: an ack must not beat it
    yield
    buffer.flush()


def ping(seq: int) -> dict:
    return {"type": "location", "lat": FAR[0], "lng": FAR[1], "accuracy": 10, "timestamp": time.time(), "seq": seq}


def test_socket_ack_means_the_fix_is_in_the_database(demo, batched, assigned_order):
    """Rider (finding 3): each `location.ack` arrives only once its fix is written. (With an order: a free
    rider's pings are stored at most every 30 s, tests/test_free_position.py.)"""
    cookie = cookie_for(demo["rider1"])
    stored_at_ack = []

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", cookie)
        assert ok
        for seq in (1, 2, 3):
            await comm.send_json_to(ping(seq))
            ack = await comm.receive_json_from(timeout=5)
            assert ack["type"] == "location.ack" and ack["seq"] == seq and ack["accepted"], ack
            stored_at_ack.append(await sync_to_async(LocationFix.objects.filter(seq=seq).count)())
        await comm.disconnect()

    async_to_sync(scenario)()
    assert stored_at_ack == [1, 1, 1]


def test_http_ack_means_the_fix_is_in_the_database(demo, batched):
    """Rider, HTTP fallback (finding 3): the 200 for a queued fix means it is written."""
    from django.test import Client

    client = Client()
    client.force_login(demo["rider1"])
    body = {k: v for k, v in ping(7).items() if k != "type"}
    r = client.post("/api/rider/location/", body, content_type="application/json")
    assert r.status_code == 200 and r.json()["accepted"], r.content
    assert LocationFix.objects.filter(seq=7).count() == 1


def test_no_ack_claims_durability_when_the_write_fails(demo, batched, monkeypatch, settings):
    """Rider, database trouble (finding 3): a fix that could not be written is not acked as accepted, so
    the device keeps it; it is written later, once the database answers."""
    settings.LOCATION_ACK_TIMEOUT_S = 1.0
    cookie = cookie_for(demo["rider1"])
    real = statements._history_insert  # the batch writer's INSERT (COPY on PostgreSQL)

    def failing(*args, **kwargs):
        raise DatabaseError("the database is away")

    monkeypatch.setattr(statements, "_history_insert", failing)
    frames = []

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", cookie)
        assert ok
        await comm.send_json_to(ping(11))
        frames.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()

    async_to_sync(scenario)()
    assert frames[0]["type"] == "location.ack" and frames[0]["seq"] == 11
    assert frames[0]["accepted"] is False and frames[0]["code"] == "not_saved", frames[0]
    monkeypatch.setattr(statements, "_history_insert", real)
    buffer.flush()
    assert LocationFix.objects.filter(seq=11).count() == 1

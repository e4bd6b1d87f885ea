"""Riders' ping contexts loaded in bulk: a reconnect storm (a server restarted, 10,000 sockets back at once)
loads many riders' contexts together, with the same contexts, audit events and chain as one by one.

Finding (scale profile, 10,000 rider sockets, 2026-12): every socket's first ping loaded its rider's context on the
database path, one at a time on the sync thread (the orders, the tiers, a vault open and an audit append with
its commit: 40-80 ms each), so the first pings of 10,000 sockets took minutes: 1,417 of 10,000 were acked within
70 s, and the pings after them queued behind."""

from __future__ import annotations

import asyncio
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.live import contexts as live_contexts
from dispatch.live import ping as live_ping
from dispatch.live import state as live_state
from dispatch.live.writer import buffer as fix_buffer
from dispatch.models import AuditEvent, Rider
from dispatch.services.audit import audit_verify
from dispatch.simulation import accounts, geo

from .socket_helpers import open_socket, shut

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def batched(settings, transactional_db):
    settings.LOCATION_FIX_BATCH = True  # as in production: the fast path needs the batch writer
    yield
    fix_buffer.flush()


@pytest.fixture
def sim(demo):
    """Sim riders on duty, each with a picked-up order (the load generator's set-up)."""
    return accounts.accounts_setup(riders=12, orders=True, prefix="bulk")


def riders_of(setup, n: int) -> list[Rider]:
    return [Rider.objects.select_related("user").get(pk=s["id"]) for s in setup["riders"][:n]]


def forget_all() -> None:
    for rider_id in list(live_state._contexts):
        live_state.context_invalidate(rider_id)


def test_bulk_contexts_equal_one_by_one_with_the_same_audit(sim, demo, assigned_order):
    """Covers sim riders with picked-up orders, rider1 with an assigned order, rider2 with none."""
    riders = riders_of(sim, 4) + [demo["rider1"].rider, demo["rider2"].rider]
    forget_all()
    reads0 = AuditEvent.objects.filter(action="destination.read").count()
    single = {r.pk: live_contexts.rider_context(r) for r in riders}
    reads1 = AuditEvent.objects.filter(action="destination.read").count()
    forget_all()
    assert live_contexts.rider_contexts_load(riders) == len(riders)
    bulk = {r.pk: live_state._contexts[r.pk][2] for r in riders}
    reads2 = AuditEvent.objects.filter(action="destination.read").count()
    assert bulk == single
    assert len(single[demo["rider1"].rider.pk]) == 1 and single[demo["rider2"].rider.pk] == []
    assert reads2 - reads1 == reads1 - reads0 == 5  # one audited vault open per order, either way
    assert audit_verify().ok  # the bulk append keeps the hash chain whole
    assert live_contexts.rider_contexts_load(riders) == 0  # fresh in memory: nothing reloaded, nothing audited
    assert AuditEvent.objects.filter(action="destination.read").count() == reads2


def test_bulk_load_costs_the_same_queries_for_2_riders_as_for_12(sim):
    def counted(riders):
        forget_all()
        with CaptureQueriesContext(connection) as queries:
            live_contexts.rider_contexts_load(riders)
        return len(queries)

    small, large = counted(riders_of(sim, 2)), counted(riders_of(sim, 12))
    assert small == large, (small, large)


def test_a_burst_of_first_pings_loads_the_contexts_together_and_stays_off_the_database_path(sim, monkeypatch):
    """12 sockets send their first ping at once: every ping is acked accepted, none takes the one-by-one
    database path, and the contexts come in fewer loads than sockets."""
    slow: list[int] = []
    loads: list[int] = []
    original_slow, original_load = live_ping.location_ping, live_contexts.rider_contexts_load
    monkeypatch.setattr(live_ping, "location_ping", lambda **kw: slow.append(1) or original_slow(**kw))
    monkeypatch.setattr(live_contexts, "rider_contexts_load", lambda riders: loads.append(len(riders)) or original_load(riders))
    forget_all()

    async def scenario():
        opened = [await open_socket("/ws/rider/", f"sessionid={s['session']}") for s in sim["riders"]]
        assert all(ok for _, ok in opened)
        now = time.time()
        for k, ((comm, _), spec) in enumerate(zip(opened, sim["riders"], strict=True)):
            lat, lng = geo.offset(spec["dest"][0], spec["dest"][1], 2000.0, 0.0)
            await comm.send_json_to({"type": "location", "lat": lat, "lng": lng, "accuracy": 10.0,
                                     "timestamp": now - 1, "seq": 1 + k})
        acks = [await comm.receive_json_from(timeout=10) for comm, _ in opened]
        await shut(*(comm for comm, _ in opened))
        return acks

    acks = asyncio.run(scenario())
    assert [a["type"] for a in acks] == ["location.ack"] * 12 and all(a["accepted"] for a in acks), acks
    assert slow == []
    assert sum(loads) == 12 and len(loads) < 12, loads

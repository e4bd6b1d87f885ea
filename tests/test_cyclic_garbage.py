"""Work that runs steadily under load leaves no garbage that only the cycle collector can free.

Finding (scale profile, 10,000 sockets, 2,500 pings/s, 2026-12; an event-loop lag probe with `gc.callbacks`): the
loops' worst stalls, 52-68 ms, were young-generation collections, each freeing 15,000-29,000 objects that
reference counting could not: accounts and their rider rows (the socket re-check's bulk load: `users_prefetched`
fetches the account with its role rows, and Django caches a one-to-one both ways, account -> rider -> account),
and orders with their sealed record (the context load). Young collections then came every 10-15 s per process
and took 20-42 ms each. Every other stall was under 27 ms."""

from __future__ import annotations

import collections
import gc
from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client

from dispatch.live import contexts as live_contexts
from dispatch.live import state as live_state
from dispatch.live.sweep import verify_many
from dispatch.models import Rider
from dispatch.simulation import accounts
from rider.consumers import RiderConsumer
from tests.factories import RiderFactory

pytestmark = pytest.mark.django_db
SOCKETS = 40
RIDERS = 12


def cyclic_garbage(work) -> collections.Counter:
    """What `work()` left that only the cycle collector frees, by type."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work()
        gc.collect()
        return collections.Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def models_in(garbage: collections.Counter) -> int:
    """Model instances (each with its ModelState) among the garbage. What else a check leaves is Django's query
    compiler's own: a recursive local function (`SQLCompiler.get_select`), three objects per query with
    `select_related`, whatever the rows."""
    return garbage["ModelState"]


def rider_sockets(n: int) -> list[RiderConsumer]:
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    sockets = []
    for _ in range(n):
        rider = RiderFactory()
        client = Client()
        client.force_login(rider.user)
        sock = RiderConsumer.__new__(RiderConsumer)
        sock.scope = {"user": rider.user, "session": engine(session_key=client.cookies["sessionid"].value)}
        sock.rider, sock.ended = rider, False
        sockets.append(sock)
    return sockets


def test_the_bulk_access_re_check_leaves_no_cyclic_garbage():
    sockets = rider_sockets(SOCKETS)
    verdicts: list = []
    garbage = cyclic_garbage(lambda: verdicts.extend(verify_many(sockets)))
    assert models_in(garbage) == 0  # 2 per socket before (the account and its rider row)
    assert garbage.total() <= 3  # 7 per socket before
    assert verdicts == [True] * SOCKETS  # still checked: the account and its rider row were read


def test_the_one_socket_re_check_leaves_no_cyclic_garbage():
    (sock,) = rider_sockets(1)
    verdicts: list = []
    garbage = cyclic_garbage(lambda: [verdicts.append(sock._verify()) for _ in range(SOCKETS)])
    assert models_in(garbage) == 0  # 2 per check before
    assert garbage.total() <= 3 * SOCKETS  # the compiler's 3 per query; 10 per check before
    assert verdicts == [True] * SOCKETS


def test_loading_riders_contexts_leaves_no_cyclic_garbage(demo):
    setup = accounts.accounts_setup(riders=RIDERS, orders=True, prefix="cycles")
    riders = [Rider.objects.select_related("user").get(pk=s["id"]) for s in setup["riders"]]

    def load():
        for _ in range(3):
            for rider in riders:
                live_state.context_invalidate(rider.pk)
            assert live_contexts.rider_contexts_load(riders) == RIDERS
        for rider in riders:  # and one by one (a socket's own reload)
            live_state.context_invalidate(rider.pk)
            assert len(live_contexts.rider_context(rider)) == 1

    garbage = cyclic_garbage(load)
    assert models_in(garbage) == 0  # 2 per order and load before (the order and its sealed record)
    assert garbage.total() <= 3 * (3 + RIDERS)  # the compiler's 3 per query: 525 in all before
    assert all(live_state._contexts[r.pk][2][0].picked_up for r in riders)

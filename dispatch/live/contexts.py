"""Loading the riders' contexts (their active orders with destinations) into this process's memory
(`state.py`), one by one or many at once, and keeping them current: a loop's loader batches the sockets that
wait for one, and a daemon thread re-reads every held context's version."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db.models import Exists, Max, OuterRef

from ..models import GrantScope, Order, OrderStatus, Rider, Tier
from ..patches.django import release
from ..services.delivery import ACTIVE, active_orders, radii_for
from ..services.events import context_version_key
from ..services.privacy import destination_point, destination_points, live_grants
from . import state
from .loops import PerLoop, task_running
from .state import ActiveOrder

log = logging.getLogger(__name__)


def rider_context(rider: Rider) -> list[ActiveOrder]:
    """The rider's active orders with their destinations, held in this process's memory only (never in
    a shared cache: the destination is PII). It lives as long as the orders' state: reloaded when an
    order event for the rider bumps its version (grants reached are re-checked in the database, see
    `services.delivery.location_tier_reached`), with CONTEXT_TTL_S as a long backstop."""
    version = cache.get(context_version_key(rider.pk))
    hit = state._contexts.get(rider.pk)
    now = time.monotonic()
    if hit and hit[1] == version and now - hit[0] < state.CONTEXT_TTL_S:
        state._checked[rider.pk] = now
        return hit[2]
    if not rider_duty_refresh(rider):  # going off duty bumps the version: nothing is loaded for an off-duty rider
        state.context_invalidate(rider.pk)
        return []
    orders = active_orders(rider)
    tiers = dict(
        live_grants().filter(principal=rider.user, scope=GrantScope.ADDRESS, order__in=orders)
        .values_list("order_id").annotate(top=Max("tier"))
    )
    # A destination never changes: one audited vault open per order while it stays in this rider's context.
    known = {a.order_id: a.dest for a in hit[2]} if hit else {}
    ctx = [
        ActiveOrder(o.pk, o.status == OrderStatus.PICKED_UP, known.get(o.pk) or destination_point(order=o),
                    radii_for(o), tiers.get(o.pk, Tier.AREA))
        for o in orders
    ]
    release(orders)  # the context keeps plain values; the rows go now (dispatch/patches/django.py)
    state.context_keep(rider.pk, now=now, version=version, ctx=ctx)
    _checker_start()
    return ctx


def rider_duty_refresh(rider: Rider) -> bool:
    """Re-read the rider's duty into `rider` (a socket's row, loaded at connect) and return it. Called when the
    context is reloaded (going on or off duty bumps its version) and before a ping is refused as off duty."""
    rider.on_duty = bool(Rider.objects.filter(pk=rider.pk).values_list("on_duty", flat=True).first())
    return rider.on_duty


def rider_contexts_load(riders: list[Rider]) -> int:
    """`rider_context` for many riders at once (a reconnect storm: every socket's first ping needs its context):
    versions in one cache round trip, orders and tiers in one query each, the destinations opened and audited
    with one append to the chain. Same contexts as one by one; returns how many were (re)loaded."""
    if not riders:
        return 0
    versions = cache.get_many([context_version_key(r.pk) for r in riders])
    now = time.monotonic()
    need: dict[int, Rider] = {}
    for rider in riders:
        hit, version = state._contexts.get(rider.pk), versions.get(context_version_key(rider.pk))
        if hit and hit[1] == version and now - hit[0] < state.CONTEXT_TTL_S:
            state._checked[rider.pk] = now
        else:
            need[rider.pk] = rider
    if not need:
        return 0
    on_duty = set(Rider.objects.filter(pk__in=list(need), on_duty=True).values_list("pk", flat=True))
    for rider_id, rider in list(need.items()):  # the sockets' rows adopt the duty read now (see rider_duty_refresh)
        rider.on_duty = rider_id in on_duty
        if not rider.on_duty:  # nothing is loaded for an off-duty rider: their ping takes the database path
            state.context_invalidate(rider_id)
            del need[rider_id]
    if not need:
        return 0
    live = live_grants().filter(scope=GrantScope.ADDRESS, order=OuterRef("pk"), principal=OuterRef("rider__user"))
    orders = list(Order.objects.filter(rider__in=list(need), status__in=ACTIVE).filter(Exists(live))
                  .select_related("store", "sealed").order_by("pk"))
    user_of = {r.pk: r.user_id for r in need.values()}
    tiers = {(order_id, user_id): top for order_id, user_id, top in
             live_grants().filter(scope=GrantScope.ADDRESS, order__in=orders)
             .values_list("order_id", "principal_id").annotate(top=Max("tier")).values_list("order_id", "principal_id", "top")}
    known = {a.order_id: a.dest for rider_id in need for a in (state._contexts.get(rider_id) or (0, 0, []))[2]}
    opened = destination_points(orders=[o for o in orders if o.pk not in known])
    by_rider: dict[int, list[ActiveOrder]] = {rider_id: [] for rider_id in need}
    for o in orders:
        dest = known.get(o.pk) or opened.get(o.pk)
        if dest is None or o.rider_id is None:  # shredded meanwhile: nothing to judge against
            continue
        by_rider[o.rider_id].append(ActiveOrder(o.pk, o.status == OrderStatus.PICKED_UP, dest, radii_for(o),
                                                tiers.get((o.pk, user_of[o.rider_id]), Tier.AREA)))
    release(orders)  # an order and its sealed record cache each other (dispatch/patches/django.py)
    for rider_id, ctx in by_rider.items():
        state.context_keep(rider_id, now=now, version=versions.get(context_version_key(rider_id)), ctx=ctx)
    _checker_start()
    return len(need)


class _ContextLoader:
    """One event loop's queue of riders whose context must be loaded: what queues while a load runs is the
    next load (natural batching, as the batch writer), at most CONTEXT_LOAD_MAX riders each."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[int, tuple[Rider, list[asyncio.Future]]] = {}
        self.task: asyncio.Task | None = None

    async def load(self, rider: Rider) -> None:
        future = self.loop.create_future()
        self.waiting.setdefault(rider.pk, (rider, []))[1].append(future)
        if not task_running(self.task):
            self.task = self.loop.create_task(self._run())
        await asyncio.shield(future)

    async def _run(self) -> None:
        while self.waiting:
            batch = list(self.waiting.items())[:CONTEXT_LOAD_MAX]
            for rider_id, _waiting in batch:
                del self.waiting[rider_id]
            try:
                await database_sync_to_async(rider_contexts_load)([rider for rider, _futures in
                                                                   (entry for _id, entry in batch)])
            except Exception:  # each ping then takes the database path, which reports its own error
                log.warning("could not load %d riders' contexts", len(batch), exc_info=True)
            for _id, (_rider, futures) in batch:
                for future in futures:
                    if not future.done():
                        future.set_result(None)


CONTEXT_LOAD_MAX = 500
_loaders = PerLoop(_ContextLoader)


async def context_load_async(rider: Rider) -> None:
    """Load the rider's context with every other rider's that is waiting for one in this loop (see
    `rider_contexts_load`); the socket calls this when its ping finds no context, then tries the fast path again."""
    await _loaders.get().load(rider)


def contexts_version_check() -> int:
    """Re-read every in-memory context's version in one cache round trip: unchanged marks it checked, changed
    drops it. A daemon thread runs this every CONTEXT_CHECK_S / 2, so a busy rider's pings stay on the fast
    path and an event that other processes' sockets never saw still reaches this one within seconds. Returns
    the contexts dropped."""
    riders = list(state._contexts)
    if not riders:
        return 0
    keys = {context_version_key(r): r for r in riders}
    versions = cache.get_many(list(keys))
    now = time.monotonic()
    dropped = 0
    for key, rider_id in keys.items():
        hit = state._contexts.get(rider_id)
        if hit is None:
            continue
        if versions.get(key) == hit[1]:
            state._checked[rider_id] = now
        else:
            state.context_invalidate(rider_id)
            dropped += 1
    return dropped


_checker: threading.Thread | None = None


def _checker_start() -> None:
    global _checker
    if _checker is None or not _checker.is_alive():
        _checker = threading.Thread(target=_check_forever, name="context-checker", daemon=True)
        _checker.start()


def _check_forever() -> None:
    while True:
        time.sleep(state.CONTEXT_CHECK_S / 2)
        try:
            contexts_version_check()
        except Exception:  # a cache that is away: the contexts age out of the fast path; the next read reloads
            log.warning("could not re-read the riders' context versions", exc_info=True)

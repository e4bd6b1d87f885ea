"""Rider positions, the reveal engine's wiring, and delivery."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import current_app
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from config.loops import PerLoop, task_running

from .. import geofence, tokens
from ..cycles import release
from ..errors import DomainError, Invalid
from ..models import GrantPurpose, GrantScope, Order, OrderStatus, Rider, Tier
from .attempts import failed_attempt_counts, failed_attempt_note
from .audit import audit_record
from .calls import call_sessions_window_set
from .events import (
    GROUP_DISPATCH,
    context_version_key,
    ephemeral_publish,
    ephemeral_publish_async,
    event_publish,
    group_track,
)
from .fixes import FixRow, loop_writer
from .fixes import buffer as fix_buffer
from .orders import access_deadline_set, order_event
from .positions import aggregator as position_aggregator
from .privacy import address_tier, destination_point, destination_points, grant_create, live_grants

log = logging.getLogger(__name__)
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)
POSITION_EVERY_S = 1.0
ETA_SPEED_MPS = 6.0


def radii_for(order: Order) -> geofence.Radii:
    store = order.store
    return geofence.Radii(
        street=float(store.reveal_street_m or settings.REVEAL_STREET_M),
        door=float(store.reveal_door_m or settings.REVEAL_DOOR_M),
    )


# The reveal engine's state per (order, rider), in this process's memory: a rider's socket lives on one
# process. Lost or new state starts from the tier the grants say, which is the durable truth; it is dropped
# when the order leaves the rider's context, on `order.revoked`, when the socket closes, and on erasure.
_states: dict[tuple[int, int], geofence.TrackState] = {}


def _load_state(ctx: ActiveOrder, rider_id: int) -> geofence.TrackState:
    state = _states.get((ctx.order_id, rider_id))
    return state if state is not None else geofence.TrackState(tier=ctx.tier)


def track_states_forget(*, order_id: int | None = None, rider_ids=None) -> None:
    """Drop engine state (it holds the last fix): of one order (for `rider_ids`, or every rider), or of the
    riders' every order. Erasure calls this in its process; other processes drop theirs when the order
    leaves the rider's context or the socket closes."""
    riders = None if rider_ids is None else set(rider_ids)
    for key in list(_states):
        if (order_id is None or key[0] == order_id) and (riders is None or key[1] in riders):
            _states.pop(key, None)
            _eta_sent.pop(key[0], None)


def active_orders(rider: Rider) -> list[Order]:
    live = live_grants().filter(principal=rider.user, scope=GrantScope.ADDRESS).values("order_id")
    return list(Order.objects.filter(rider=rider, status__in=ACTIVE, pk__in=live).select_related("store"))


@dataclass(frozen=True)
class ActiveOrder:
    order_id: int
    picked_up: bool
    dest: tuple[float, float]
    radii: geofence.Radii
    tier: int


CONTEXT_TTL_S = 600.0  # a backstop only (a version lost with the cache): events are what invalidate
CONTEXT_CHECK_S = 10.0  # the async path trusts a context whose version was read this recently
_contexts: dict[int, tuple[float, object, list[ActiveOrder]]] = {}
_checked: dict[int, float] = {}  # rider id -> when the context's version was last read (monotonic)


def rider_context(rider: Rider) -> list[ActiveOrder]:
    """The rider's active orders with their destinations, held in this process's memory only (never in
    a shared cache: the destination is PII). It lives as long as the orders' state: reloaded when an
    order event for the rider bumps its version (grants reached are re-checked in the database, see
    `_tier_reached`), with CONTEXT_TTL_S as a long backstop."""
    version = cache.get(context_version_key(rider.pk))
    hit = _contexts.get(rider.pk)
    now = time.monotonic()
    if hit and hit[1] == version and now - hit[0] < CONTEXT_TTL_S:
        _checked[rider.pk] = now
        return hit[2]
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
    release(orders)  # the context keeps plain values; the rows go now (dispatch/cycles.py)
    kept = {a.order_id for a in ctx}
    for key in [k for k in _states if k[1] == rider.pk and k[0] not in kept]:  # orders that left: no state kept
        _states.pop(key, None)
        _eta_sent.pop(key[0], None)
    _contexts[rider.pk] = (now, version, ctx)
    _checked[rider.pk] = now
    _checker_start()
    return ctx


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
        hit, version = _contexts.get(rider.pk), versions.get(context_version_key(rider.pk))
        if hit and hit[1] == version and now - hit[0] < CONTEXT_TTL_S:
            _checked[rider.pk] = now
        else:
            need[rider.pk] = rider
    if not need:
        return 0
    live = live_grants().filter(scope=GrantScope.ADDRESS, order=OuterRef("pk"), principal=OuterRef("rider__user"))
    orders = list(Order.objects.filter(rider__in=list(need), status__in=ACTIVE).filter(Exists(live))
                  .select_related("store", "sealed").order_by("pk"))
    user_of = {r.pk: r.user_id for r in need.values()}
    tiers = {(order_id, user_id): top for order_id, user_id, top in
             live_grants().filter(scope=GrantScope.ADDRESS, order__in=orders)
             .values_list("order_id", "principal_id").annotate(top=Max("tier")).values_list("order_id", "principal_id", "top")}
    known = {a.order_id: a.dest for rider_id in need for a in (_contexts.get(rider_id) or (0, 0, []))[2]}
    opened = destination_points(orders=[o for o in orders if o.pk not in known])
    by_rider: dict[int, list[ActiveOrder]] = {rider_id: [] for rider_id in need}
    for o in orders:
        dest = known.get(o.pk) or opened.get(o.pk)
        if dest is None or o.rider_id is None:  # shredded meanwhile: nothing to judge against
            continue
        by_rider[o.rider_id].append(ActiveOrder(o.pk, o.status == OrderStatus.PICKED_UP, dest, radii_for(o),
                                                tiers.get((o.pk, user_of[o.rider_id]), Tier.AREA)))
    release(orders)  # an order and its sealed record cache each other (dispatch/cycles.py)
    for rider_id, ctx in by_rider.items():
        kept = {a.order_id for a in ctx}
        for key in [k for k in _states if k[1] == rider_id and k[0] not in kept]:
            _states.pop(key, None)
            _eta_sent.pop(key[0], None)
        _contexts[rider_id] = (now, versions.get(context_version_key(rider_id)), ctx)
        _checked[rider_id] = now
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
    riders = list(_contexts)
    if not riders:
        return 0
    keys = {context_version_key(r): r for r in riders}
    versions = cache.get_many(list(keys))
    now = time.monotonic()
    dropped = 0
    for key, rider_id in keys.items():
        hit = _contexts.get(rider_id)
        if hit is None:
            continue
        if versions.get(key) == hit[1]:
            _checked[rider_id] = now
        else:
            context_invalidate(rider_id)
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
        time.sleep(CONTEXT_CHECK_S / 2)
        try:
            contexts_version_check()
        except Exception:  # a cache that is away: the contexts age out of the fast path; the next read reloads
            log.warning("could not re-read the riders' context versions", exc_info=True)


def context_check(rider_id: int) -> list[ActiveOrder] | None:
    """The rider's context if it is in memory and its version was read within CONTEXT_CHECK_S; else None
    (then the ping takes the database path, which reads the version and reloads what changed)."""
    hit = _contexts.get(rider_id)
    if hit is None or time.monotonic() - _checked.get(rider_id, -CONTEXT_CHECK_S) >= CONTEXT_CHECK_S:
        return None
    return hit[2]


def context_invalidate(rider_id: int) -> None:
    """An event changed the rider's orders: the next ping reloads the context (engine state is kept for the
    orders that stay, dropped for those that left)."""
    _contexts.pop(rider_id, None)
    _checked.pop(rider_id, None)


def context_forget(rider_id: int) -> None:
    """The rider's socket closed: drop everything this process holds for them."""
    context_invalidate(rider_id)
    track_states_forget(rider_ids=[rider_id])
    _saved_at.pop(rider_id, None)
    _map_sent.pop(rider_id, None)


@dataclass(frozen=True)
class PingResult:
    accepted: bool
    reason: str
    tiers: dict[int, str]  # order id -> tier reached by this ping
    # Resolves once the ping's location history is committed: an ack waits for it (services/fixes.py).
    durable: Future | asyncio.Future | None = field(default=None, compare=False)


def _validate(lat: float, lng: float, accuracy: float, ts: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid(_("Coordinates are out of range."), code="bad_coordinates")
    if accuracy < 0:
        raise Invalid(_("Accuracy cannot be negative."), code="bad_accuracy")
    if ts < 946_684_800 or ts > time.time() + 86_400:  # before 2000, or a day ahead
        raise Invalid(_("The timestamp is not plausible."), code="bad_timestamp")


_CONFIG: tuple[float, geofence.Config] | None = None


def _config() -> geofence.Config:
    global _CONFIG
    if _CONFIG is None or _CONFIG[0] != settings.MAX_SPEED_MPS:
        _CONFIG = (settings.MAX_SPEED_MPS, geofence.Config(max_speed_mps=settings.MAX_SPEED_MPS))
    return _CONFIG[1]


def _judge(rider_id: int, contexts: list[ActiveOrder], fix: geofence.Fix, *, now: float,
           here: bool) -> list[geofence.Decision]:
    """The reveal engine's verdict for each active order. Pure: nothing is saved here, so a path that finds
    it cannot finish (a tier reached, a spoof) hands the same fix to the other path, which judges it alike."""
    config = _config()
    return [geofence.evaluate(_load_state(ctx, rider_id), fix, ctx.dest, ctx.radii, now=now,
                              picked_up=ctx.picked_up, config=config, here_tap=here)
            for ctx in contexts]


_eta_sent: dict[int, float] = {}  # order id -> when its last ETA frame went (monotonic): at most one a second
_map_sent: dict[int, float] = {}  # rider id -> when its last unbatched map frame went


def _throttled(clock: dict[int, float], key: int, every: float) -> bool:
    now = time.monotonic()
    if now - clock.get(key, -every) < every:
        return True
    clock[key] = now
    return False


def _record(rider: Rider, contexts: list[ActiveOrder], decisions: list[geofence.Decision], fix: geofence.Fix,
            writer: Any = None) -> tuple[PingResult, list[tuple[str, str, dict]]]:
    """Save the engine's state, queue the history (and the rider's last position) for the batch writer, and
    batch the map position. Returns the result and the frames to send (ETA; the map's when unbatched)."""
    at = datetime.fromtimestamp(fix.ts, tz=UTC)
    received = timezone.now()
    # The history's rows as its columns' types (a caller may pass ints): FixRow's values are written as they are.
    lat, lng, accuracy, seq = float(fix.lat), float(fix.lng), float(fix.accuracy), int(fix.seq)
    rows = []
    frames: list[tuple[str, str, dict]] = []
    for ctx, decision in zip(contexts, decisions, strict=True):
        if decision.accepted or decision.spoof:
            _states[(ctx.order_id, rider.pk)] = decision.state
        rows.append(FixRow(rider.pk, ctx.order_id, lat, lng, accuracy, at, received, seq, decision.accepted,
                           decision.reason[:32]))
        if decision.accepted and ctx.picked_up and decision.distance_m is not None \
                and not _throttled(_eta_sent, ctx.order_id, POSITION_EVERY_S):
            frames.append((group_track(ctx.order_id), "rider.approaching",
                           {"distance_m": round(decision.distance_m), "eta_s": round(decision.distance_m / ETA_SPEED_MPS)}))
    if not contexts:  # on duty without an order: a position for the dispatch map only
        rows.append(FixRow(rider.pk, None, lat, lng, accuracy, at, received, seq, True))
    accepted = not decisions or any(d.accepted for d in decisions)
    position = None
    if accepted:
        # The last known position (for the board's first paint and ETAs) is saved at most every 5 s per rider
        # and process (a rider's socket lives on one process), by the batch writer with the history.
        if not _throttled(_saved_at, rider.pk, POSITION_SAVE_EVERY_S):
            position = (rider.pk, fix.lat, fix.lng, at)
        if settings.POSITION_BATCH:
            position_aggregator.add(rider_id=rider.pk, lat=fix.lat, lng=fix.lng, at=at)
        elif not _throttled(_map_sent, rider.pk, POSITION_EVERY_S):  # at most one a second per rider
            frames.append((GROUP_DISPATCH, "rider.position",
                           {"rider": rider.pk, "lat": fix.lat, "lng": fix.lng, "at": at.isoformat()}))
    durable = (writer or fix_buffer).add(rows, position=position)
    pool = [d for d in decisions if d.accepted == accepted]
    return PingResult(accepted, next((d.reason for d in pool if d.reason), ""), {}, durable), frames


def location_ping(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    """One position report: the reveal engine for each active order, then the record, then the map.

    The database path: it reads the context's version (and reloads what changed), writes grants and audit
    when a tier is reached and the spoof alert; the history goes to the batch writer. The socket tries
    `location_ping_fast` first."""
    _validate(lat, lng, accuracy, timestamp)
    if not rider.on_duty:
        raise DomainError(_("You are off duty: positions are not recorded."), code="off_duty")
    fix = geofence.Fix(lat, lng, accuracy, timestamp, seq)
    contexts = rider_context(rider)
    decisions = _judge(rider.pk, contexts, fix, now=time.time(), here=here)
    result, frames = _record(rider, contexts, decisions, fix)
    for ctx, decision in zip(contexts, decisions, strict=True):
        if decision.spoof:
            _spoof_alert(order_id=ctx.order_id, rider=rider, flags=decision.flags)
        if decision.new_tier and _tier_reached(order_id=ctx.order_id, rider=rider, tier=decision.new_tier,
                                               accuracy=accuracy, distance=decision.distance_m or 0.0,
                                               radii=ctx.radii):
            result.tiers[ctx.order_id] = geofence.TIER_NAMES[decision.new_tier]
    for group, kind, payload in frames:
        ephemeral_publish(group=group, type=kind, payload=payload)
    return result


async def location_ping_fast(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult | None:
    """The common ping, in the event loop: no query, no cache round trip, no thread hop. Judged by the same
    `_judge` and recorded by the same `_record` as `location_ping`. Returns None (nothing done: call
    `location_ping`) when the database must take part: the context is not in memory or its version was not
    read for CONTEXT_CHECK_S, a tier is reached (grants and audit), a spoof rule trips (audit), the rider is
    off duty, or the batch writer is off (a write per ping)."""
    _validate(lat, lng, accuracy, timestamp)
    if settings.POSITION_BATCH:
        position_aggregator.attach()  # the map's batch flushes from this loop (the database path's pings too)
    if not (rider.on_duty and settings.LOCATION_FIX_BATCH):
        return None
    contexts = context_check(rider.pk)
    if contexts is None:
        return None
    fix = geofence.Fix(lat, lng, accuracy, timestamp, seq)
    decisions = _judge(rider.pk, contexts, fix, now=time.time(), here=here)
    if any(d.new_tier or d.spoof for d in decisions):
        return None
    result, frames = _record(rider, contexts, decisions, fix, loop_writer())
    for group, kind, payload in frames:
        await ephemeral_publish_async(group=group, type=kind, payload=payload)
    return result


POSITION_SAVE_EVERY_S = 5.0
_saved_at: dict[int, float] = {}


@transaction.atomic
def _tier_reached(
    *, order_id: int, rider: Rider, tier: int, accuracy: float, distance: float, radii: geofence.Radii
) -> bool:
    """Persist a reached tier as grants. Re-checked against the database: a rider whose access was
    revoked meanwhile (the context in memory may be seconds old) gets nothing."""
    order = Order.objects.select_for_update().get(pk=order_id)
    held = address_tier(order=order, user=rider.user)
    if held is None or order.rider_id != rider.pk or order.status != OrderStatus.PICKED_UP:
        return False
    for t in range(held + 1, tier + 1):
        grant_create(
            order=order, user=rider.user, scope=GrantScope.ADDRESS, tier=t, purpose=GrantPurpose.DELIVERY,
            # A band, never coordinates or the figure: the log is append-only and outlives the door.
            audit_data={"distance_band": geofence.distance_band(distance, radii),
                        "accuracy": round(accuracy), "rider": rider.pk},
        )
    order_event(order, extra={"tier": geofence.TIER_NAMES[tier]})
    return held < tier


def _spoof_alert(*, order_id: int, rider: Rider, flags: list[str]) -> None:
    if cache.add(f"spoof-alert:{order_id}:{rider.pk}:{','.join(flags)}", 1, timeout=60):
        with transaction.atomic():
            audit_record(action="location.spoof_flagged", order=Order.objects.get(pk=order_id),
                         data={"rider": rider.pk, "flags": flags})
            event_publish(groups=[GROUP_DISPATCH], type="alert",
                          payload={"kind": "spoofing", "rider": rider.pk, "order": order_id, "flags": flags})


PIN_TRIES = 5  # wrong PINs an order takes within PIN_WINDOW before it locks (counted in the database)
PIN_WINDOW = timedelta(hours=1)


def order_deliver(*, rider: Rider, order_id: int, pin: str) -> Order:
    """Deliver with the customer's PIN. A wrong PIN is audited, and the audit commits before the refusal."""
    order, refusal = _order_deliver_tx(rider=rider, order_id=order_id, pin=pin)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _order_deliver_tx(*, rider: Rider, order_id: int, pin: str) -> tuple[Order, DomainError | None]:
    order = Order.objects.select_for_update().get(pk=order_id, rider=rider)
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("This order is already delivered."), code="already_delivered")
    if order.status != OrderStatus.PICKED_UP:
        raise DomainError(_("Pick the order up at the store before delivering it."), code="not_picked_up")
    key = ("pin", order.pk)
    if failed_attempt_counts(keys=[key], window=PIN_WINDOW)[key] >= PIN_TRIES:
        raise DomainError(_("Too many wrong PINs. Call the customer or dispatch."), code="pin_locked")
    if not tokens.pin_matches(token_digest=order.tracking_token_digest, stored_digest=order.delivery_pin_digest, pin=pin):
        failed_attempt_note(scope="pin", key=order.pk, window=PIN_WINDOW)
        audit_record(actor=rider.user, action="delivery.wrong_pin", order=order)
        return order, Invalid(_("That PIN is not right. Ask the customer again."), code="wrong_pin")
    now = timezone.now()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = now
    order.save(update_fields=["status", "delivered_at"])
    access_deadline_set(order=order, rider=rider)
    call_sessions_window_set(order=order, delivered_at=now)
    audit_record(actor=rider.user, action="order.delivered", order=order)
    order_event(order)
    transaction.on_commit(lambda: schedule_revocation(order.pk), robust=True)
    return order, None


MAX_COUNTDOWN_S = 900  # well under Redis's visibility timeout: longer waits are left to the sweep


def schedule_revocation(order_id: int) -> None:
    """On time when it can be; the beat sweep over grants' expires_at is the backstop."""
    delay = settings.ACCESS_REVOKE_AFTER_S
    if delay > MAX_COUNTDOWN_S:
        return
    try:
        current_app.send_task("dispatch.tasks.revoke_order_access", args=[order_id], countdown=delay + 1)
    except Exception as exc:  # the broker being down must not fail a delivery; the sweep will revoke
        log.warning("could not schedule revocation for order %s (%s: %s); the sweep will revoke", order_id,
                    type(exc).__name__, exc)

"""The ping, the live path's one entry for the edges: `ping` from a rider's socket, `ping_sync` from the HTTP
fallback. Both return once the ping's location history is durable (the batch writer's group commit), and raise
NotSaved when it could not be written in time: a fix is never acknowledged as accepted unless it is saved.

Two paths judge a ping with the same `_judge` and record it with the same `_record`:
- `location_ping_fast`, in the event loop: no query, no cache round trip, no thread hop;
- `location_ping`, the database path: reads the context's version (and reloads what changed), writes grants and
  audit when a tier is reached and the spoof alert (domain services, `services/delivery.py`)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from .. import geofence
from ..errors import NotSaved
from ..instruments import ping_observe
from ..models import Rider
from ..services.delivery import location_spoof_alert, location_tier_reached, location_validate, rider_on_duty_require
from ..services.events import group_track
from ..services.fleets import dispatch_groups, fleet_of
from . import state
from .contexts import context_load_async, rider_context, rider_duty_refresh
from .loop_writer import loop_writer
from .positions import aggregator as position_aggregator
from .publish import ephemeral_publish, ephemeral_publish_async
from .state import ActiveOrder
from .statements import FixRow
from .writer import buffer as fix_buffer
from .writer import fixes_durable, fixes_wait_durable

POSITION_EVERY_S = 1.0
POSITION_SAVE_EVERY_S = 5.0
# On duty without an order, a rider's position is stored (history and last position, for suggestions and the
# dispatch map) at most once per FREE_POSITION_EVERY_S; the pings between are answered `sparse`, not stored.
FREE_POSITION_EVERY_S = 30.0
ETA_SPEED_MPS = 6.0


@dataclass(frozen=True)
class PingResult:
    accepted: bool
    reason: str
    tiers: dict[int, str]  # order id -> tier reached by this ping
    # Resolves once the ping's location history is committed: an ack waits for it (live/writer.py).
    durable: Future | asyncio.Future | None = field(default=None, compare=False)


async def ping(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    """A rider's socket's ping: the fast path in the event loop; when the rider's context is not in memory (a
    new socket, a change), loaded with the other sockets' that wait now and tried again; else the database
    path in a database thread. Then the wait for the history's commit. Raises DomainError (NotSaved: the fix
    was not written in time, the client may resend). Counted, with its time from here to the ack, in
    dispatch/instruments.py."""
    started = time.perf_counter()
    try:
        result = await _ping(rider=rider, lat=lat, lng=lng, accuracy=accuracy, timestamp=timestamp, seq=seq, here=here)
    except Exception:
        ping_observe(kind="socket", outcome="error", started=started)
        raise
    ping_observe(kind="socket", outcome="accepted" if result.accepted else "refused", started=started)
    return result


async def _ping(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    result = await location_ping_fast(rider=rider, lat=lat, lng=lng, accuracy=accuracy, timestamp=timestamp,
                                      seq=seq, here=here)
    if result is None and state.context_check(rider.pk) is None:
        await context_load_async(rider)
        result = await location_ping_fast(rider=rider, lat=lat, lng=lng, accuracy=accuracy, timestamp=timestamp,
                                          seq=seq, here=here)
    if result is None:
        result = await database_sync_to_async(location_ping)(rider=rider, lat=lat, lng=lng, accuracy=accuracy,
                                                             timestamp=timestamp, seq=seq, here=here)
    if result.durable is not None and not await fixes_durable(result.durable):
        raise NotSaved()
    return result


def ping_sync(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    """`ping` for the HTTP fallback: the database path, then the wait for the history's commit."""
    started = time.perf_counter()
    try:
        result = location_ping(rider=rider, lat=lat, lng=lng, accuracy=accuracy, timestamp=timestamp, seq=seq,
                               here=here)
        if result.durable is not None and not fixes_wait_durable(cast(Future, result.durable)):  # the thread's buffer
            raise NotSaved()
    except Exception:
        ping_observe(kind="http", outcome="error", started=started)
        raise
    ping_observe(kind="http", outcome="accepted" if result.accepted else "refused", started=started)
    return result


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
    return [geofence.evaluate(state.load_state(ctx, rider_id), fix, ctx.dest, ctx.radii, now=now,
                              picked_up=ctx.picked_up, config=config, here_tap=here)
            for ctx in contexts]


def _throttled(clock: dict[int, float], key: int, every: float) -> bool:
    now = time.monotonic()
    if now - clock.get(key, -every) < every:
        return True
    clock[key] = now
    return False


def _free_sparse(rider: Rider, at: datetime) -> bool:
    """A free rider's ping that comes within FREE_POSITION_EVERY_S of the last position stored, by the fixes'
    times: the rider row's `last_seen_at` (as loaded: fresh for an HTTP ping) or the last position this process
    queued (a socket's pings, before the batch writer has written it; an order's ping counts too); and by this
    process's own clock of free positions. Otherwise that clock is set, and the ping is stored."""
    times = [t for t in (rider.last_seen_at, state._stored_fix_at.get(rider.pk)) if t is not None]
    if times and (at - max(times)).total_seconds() < FREE_POSITION_EVERY_S:
        return True
    return _throttled(state._free_stored_at, rider.pk, FREE_POSITION_EVERY_S)


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
    if not contexts and _free_sparse(rider, at):
        return PingResult(False, "sparse", {}), frames
    for ctx, decision in zip(contexts, decisions, strict=True):
        if decision.accepted or decision.spoof:
            state._states[(ctx.order_id, rider.pk)] = decision.state
        rows.append(FixRow(rider.pk, ctx.order_id, lat, lng, accuracy, at, received, seq, decision.accepted,
                           decision.reason[:32]))
        if decision.accepted and ctx.picked_up and decision.distance_m is not None \
                and not _throttled(state._eta_sent, ctx.order_id, POSITION_EVERY_S):
            frames.append((group_track(ctx.order_id), "rider.approaching",
                           {"distance_m": round(decision.distance_m), "eta_s": round(decision.distance_m / ETA_SPEED_MPS)}))
    if not contexts:  # on duty without an order: a sparse position, for dispatch only
        rows.append(FixRow(rider.pk, None, lat, lng, accuracy, at, received, seq, True))
    accepted = not decisions or any(d.accepted for d in decisions)
    position = None
    if accepted:
        # The last known position (for the board's first paint and ETAs) is saved at most every 5 s per rider
        # and process (a rider's socket lives on one process), by the batch writer with the history; a free
        # rider's, every time one is stored (`_free_sparse` let it through, by its own clock).
        if not contexts or not _throttled(state._saved_at, rider.pk, POSITION_SAVE_EVERY_S):
            position = (rider.pk, fix.lat, fix.lng, at)
            state._stored_fix_at[rider.pk] = at
        if settings.POSITION_BATCH:
            position_aggregator.add(rider_id=rider.pk, lat=fix.lat, lng=fix.lng, at=at, fleet=fleet_of(rider))
        elif not _throttled(state._map_sent, rider.pk, POSITION_EVERY_S):  # at most one a second per rider
            frame = {"rider": rider.pk, "lat": fix.lat, "lng": fix.lng, "at": at.isoformat()}
            frames += [(group, "rider.position", frame) for group in dispatch_groups(fleet_of(rider))]
    durable = (writer or fix_buffer).add(rows, position=position)
    pool = [d for d in decisions if d.accepted == accepted]
    return PingResult(accepted, next((d.reason for d in pool if d.reason), ""), {}, durable), frames


def location_ping(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    """One position report: the reveal engine for each active order, then the record, then the map.

    The database path: it reads the context's version (and reloads what changed), writes grants and audit
    when a tier is reached and the spoof alert; the history goes to the batch writer. The socket tries
    `location_ping_fast` first. Returns before the history is durable (`ping_sync` waits)."""
    location_validate(lat, lng, accuracy, timestamp)
    if not rider.on_duty:  # re-read (a socket's row may have missed going back on duty): refusals are rare
        rider_duty_refresh(rider)
    rider_on_duty_require(rider=rider)
    contexts = rider_context(rider)  # a reload re-reads the duty: a process that missed going off duty
    rider_on_duty_require(rider=rider)
    fix = geofence.Fix(lat, lng, accuracy, timestamp, seq)
    decisions = _judge(rider.pk, contexts, fix, now=time.time(), here=here)
    result, frames = _record(rider, contexts, decisions, fix)
    for ctx, decision in zip(contexts, decisions, strict=True):
        if decision.spoof:
            location_spoof_alert(order_id=ctx.order_id, rider=rider, flags=decision.flags)
        if decision.new_tier and location_tier_reached(order_id=ctx.order_id, rider=rider, tier=decision.new_tier,
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
    location_validate(lat, lng, accuracy, timestamp)
    if settings.POSITION_BATCH:
        position_aggregator.attach()  # the map's batch flushes from this loop (the database path's pings too)
    if not (rider.on_duty and settings.LOCATION_FIX_BATCH):
        return None
    contexts = state.context_check(rider.pk)
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

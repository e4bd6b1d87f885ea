"""The reveal engine's state and the riders' contexts, in this process's memory: a rider's socket lives on one
process. Imports no service: what loads a context is `contexts.py`, what judges a ping is `ping.py`.

Lost or new engine state starts from the tier the grants say, which is the durable truth; it is dropped when the
order leaves the rider's context, on `order.revoked`, when the socket closes, and on erasure. Erasure is a domain
service (`services/area.py`) that imports no live path: it sends `dispatch.signals.traces_erased`, which
`traces_erased_forget` receives (connected in `dispatch.apps`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from .. import geofence

# (order id, rider id) -> the engine's state (it holds the last fix)
_states: dict[tuple[int, int], geofence.TrackState] = {}


@dataclass(frozen=True)
class ActiveOrder:
    order_id: int
    picked_up: bool
    dest: tuple[float, float]
    radii: geofence.Radii
    tier: int


CONTEXT_TTL_S = 600.0  # a backstop only (a version lost with the cache): events are what invalidate
CONTEXT_CHECK_S = 10.0  # the async path trusts a context whose version was read this recently
_contexts: dict[int, tuple[float, object, list[ActiveOrder]]] = {}  # rider id -> (loaded at, version, orders)
_checked: dict[int, float] = {}  # rider id -> when the context's version was last read (monotonic)
_eta_sent: dict[int, float] = {}  # order id -> when its last ETA frame went (monotonic): at most one a second
_map_sent: dict[int, float] = {}  # rider id -> when its last unbatched map frame went
_saved_at: dict[int, float] = {}  # rider id -> when its last position was queued for saving (the 5 s throttle)
# rider id -> when its last free position (on duty, no order) was stored: FREE_POSITION_EVERY_S's own clock, apart
# from `_saved_at`, so that neither throttle's save holds back the other's.
_free_stored_at: dict[int, float] = {}
# rider id -> the fix time of the last position this process queued for saving, by either path: what a free
# rider's 30 s is counted from, before the batch writer has put it in the rider's row.
_stored_fix_at: dict[int, datetime] = {}


def load_state(ctx: ActiveOrder, rider_id: int) -> geofence.TrackState:
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


def traces_erased_forget(sender, *, order_id: int, rider_ids, **kwargs) -> None:
    """`dispatch.signals.traces_erased`'s receiver: the engine's state of an erased order goes with its traces."""
    track_states_forget(order_id=order_id, rider_ids=rider_ids)


def context_keep(rider_id: int, *, now: float, version: object, ctx: list[ActiveOrder]) -> None:
    """Hold a freshly loaded context; the engine's state of the orders that left it is dropped."""
    kept = {a.order_id for a in ctx}
    for key in [k for k in _states if k[1] == rider_id and k[0] not in kept]:  # orders that left: no state kept
        _states.pop(key, None)
        _eta_sent.pop(key[0], None)
    _contexts[rider_id] = (now, version, ctx)
    _checked[rider_id] = now


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
    _free_stored_at.pop(rider_id, None)
    _stored_fix_at.pop(rider_id, None)
    _map_sent.pop(rider_id, None)


def state_clear() -> None:
    """Forget everything (a test's fresh start)."""
    for held in (_contexts, _checked, _states, _saved_at, _free_stored_at, _stored_fix_at, _eta_sent, _map_sent):
        held.clear()

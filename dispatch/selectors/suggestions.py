"""Who to send: on-duty riders ranked for one order by an ETA to the store, from the riders' spatial index.

The contract (the API's `GET /api/dispatch/orders/{id}/suggestions/`, auto-dispatch and offers use it):
`suggest_riders(order=..., user=None, limit=10)` → `Suggestion`s, best first, only riders who may take the
order (their fleet, `fleets.rider_may_take`) and, with a `user`, whom that dispatcher's fleet scope allows.

The ranking, in words a dispatcher can check on the screen:
- `distance_m`: straight from the rider's last position to the store;
- `eta_s`: that distance at RIDE_SPEED_MPS, plus STOP_S for each order the rider carries now (`load`);
- best first by `eta_s`, then the smaller `load`, then the shorter distance, then the rider's id;
- a rider with no position, or one older than POSITION_FRESH_S, has no distance and no ETA and comes after
  every rider who has one (by load, then id).

The search (docs/suggestions.md): riders are found through `Rider.cell` (dispatch/grid.py), square by square
around the store's cell, each square twice the last (0, 1, 2, 4, ... cells), each query only the new ring. Any
rider outside a searched square is at least `grid.reach_m` away, so at least that distance's ride away: once
`limit` riders found have a smaller ETA, nobody unsearched can rank among them, and the search stops. It
stops anyway at SEARCH_MAX_M; riders farther away are not suggested."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q
from django.utils import timezone

from .. import grid
from ..geofence import fast_distance
from ..models import Order, OrderStatus, Rider
from ..services.fleets import FLEET_KEY, dispatcher_scope, fleet_of, fleet_sees_rider, rider_may_take, takers_q
from ..services.safety import blocked_rider_ids

# The orders a rider carries: each is a stop before this one.
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP, OrderStatus.RETURNING)
RIDE_SPEED_MPS = 4.0  # an e-bike in town, door to door
STOP_S = 300  # what each order a rider already carries adds to the ETA
POSITION_FRESH_S = 900  # an on-duty rider's position is used for 15 minutes (a free rider sends one every 30 s)
SEARCH_MAX_M = 50_000.0  # about 3.5 hours' ride: nobody farther is suggested
MAX_SQUARE = 4096  # cells around the store's cell: SEARCH_MAX_M is reached long before, but near a pole
_FIELDS = ("id", "display_name", "last_lat", "last_lng", "last_seen_at", "fleet_id")


@dataclass(frozen=True)
class Suggestion:
    rider: int
    name: str
    fleet: str
    distance_m: int | None
    load: int
    eta_s: int | None


def rank_key(s: Suggestion) -> tuple:
    """Best first: located riders by ETA, then load, then distance, then id; the rest by load, then id."""
    if s.eta_s is None:
        return (1, 0, s.load, 0, s.rider)
    return (0, s.eta_s, s.load, s.distance_m, s.rider)


def eta_of(distance_m: int, load: int) -> int:
    return int(distance_m / RIDE_SPEED_MPS) + load * STOP_S


def _loads(ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = (Order.objects.filter(rider_id__in=ids, status__in=ACTIVE).values("rider_id")
            .annotate(n=Count("id")).values_list("rider_id", "n"))
    return dict(rows)


def _suggestion(rider: Rider, order: Order, scope: str, load: int, fresh_after: datetime) -> Suggestion | None:
    if not rider_may_take(rider, order) or not fleet_sees_rider(scope, rider):
        return None
    dist = eta = None
    if rider.last_lat is not None and rider.last_lng is not None and rider.last_seen_at is not None \
            and rider.last_seen_at >= fresh_after:
        dist = round(fast_distance(rider.last_lat, rider.last_lng, order.store.lat, order.store.lng))
        eta = eta_of(dist, load)
    return Suggestion(rider=rider.pk, name=rider.display_name, fleet=fleet_of(rider), distance_m=dist, load=load,
                      eta_s=eta)


def _found(riders: list[Rider], order: Order, scope: str, fresh_after: datetime) -> list[Suggestion]:
    loads = _loads([r.pk for r in riders])
    out = [_suggestion(r, order, scope, loads.get(r.pk, 0), fresh_after) for r in riders]
    return [s for s in out if s is not None]


def suggest_riders(*, order: Order, user=None, limit: int = 10, exclude: Iterable[int] = (),
                   now: datetime | None = None) -> list[Suggestion]:
    """The best `limit` riders for `order`, best first (the module's docstring says how). `exclude`: riders
    not to suggest (one who declined, say); `now`: the clock that decides which positions are fresh."""
    if limit <= 0:
        return []
    scope = dispatcher_scope(user) if user is not None else ""
    fresh_after = (now or timezone.now()) - timedelta(seconds=POSITION_FRESH_S)
    riders = (Rider.objects.annotate(fleet_key=FLEET_KEY).filter(takers_q(order, scope), on_duty=True)
              .exclude(pk__in=[*exclude, *blocked_rider_ids(order)]).only(*_FIELDS))
    lat, lng = order.store.lat, order.store.lng
    row, col = grid.row_col(lat, lng)
    located: list[Suggestion] = []
    unlocated: list[Suggestion] = []  # found in the index, but their position is too old
    inner, k = -1, 0
    while True:
        ranges = grid.ring_ranges(row, col, inner, k)
        inner = k
        ring = list(riders.filter(reduce(or_, (Q(cell__range=r) for r in ranges))))
        for s in _found(ring, order, scope, fresh_after):
            (located if s.eta_s is not None else unlocated).append(s)
        located.sort(key=rank_key)
        reach = grid.reach_m(lat, lng, k)
        if reach >= SEARCH_MAX_M or k >= MAX_SQUARE or \
                (len(located) >= limit and located[limit - 1].eta_s < int(reach / RIDE_SPEED_MPS)):
            break
        k = max(1, 2 * k)
    located = [s for s in located if s.distance_m is not None and s.distance_m <= SEARCH_MAX_M]
    if len(located) < limit:
        # Riders with no position at all (never seen, or cleared): after every rider who has one.
        unlocated += _found(list(riders.filter(cell__isnull=True).order_by("pk")[:limit - len(located)]),
                            order, scope, fresh_after)
        unlocated.sort(key=rank_key)
    return (located + unlocated)[:limit]

"""Batches: a rider carrying several orders gets their delivery stops in an order, nearest first.

The sequence is a greedy nearest-neighbour walk from where the rider sets off: the store, when every order not
yet picked up comes from one store (a batch), else the rider's last position, else the first order's store.
Each stop is measured to the order's ~1 km rounded area point (`Order.approx_lat/lng`, which the dispatch map
already shows), never to the door: the sequence tells the rider nothing about a door that its own tier does not.
Each order's reveal stays its own (the geofence runs per order); the stop number is only an order of work."""

from __future__ import annotations

from collections.abc import Iterable

from .. import geofence
from ..models import GrantScope, Order, OrderStatus
from ..permissions import rider_of
from ..services.privacy import live_grants

ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)
Point = tuple[float, float]


def sequence_stops(start: Point | None, points: dict[int, Point | None]) -> dict[int, int]:
    """Stop numbers (1, 2, ...) for `points` (id -> point), nearest first from `start`, each next stop the nearest
    to the last; ties by id. Ids without a point come last."""
    left = {k: p for k, p in points.items() if p is not None}
    order: list[int] = []
    here = start
    while left:
        if here is None:
            nxt = min(left)
        else:
            nxt = min(left, key=lambda k: (geofence.fast_distance(here[0], here[1], *left[k]), k))
        order.append(nxt)
        here = left.pop(nxt)
    order += sorted(k for k, p in points.items() if p is None)
    return {k: i for i, k in enumerate(order, start=1)}


def _start(rows: list[tuple[int, str, Point | None, Point]], rider_point: Point | None) -> Point | None:
    stores = {store for _, status, _, store in rows if status != OrderStatus.PICKED_UP}
    if len(stores) == 1:
        return stores.pop()
    if rider_point is not None:
        return rider_point
    return rows[0][3] if rows else None


def order_stops(orders: Iterable[Order], *, rider_point: Point | None = None) -> dict[int, int]:
    """Stop numbers for the active ones among `orders` (with their stores loaded): what the rider's list shows."""
    rows = [(o.pk, o.status, (o.approx_lat, o.approx_lng) if o.approx_lat is not None and o.approx_lng is not None
             else None, (o.store.lat, o.store.lng)) for o in orders if o.status in ACTIVE]
    rows.sort(key=lambda r: r[0])
    return sequence_stops(_start(rows, rider_point), {pk: point for pk, _, point, _ in rows})


def rider_stops(*, user) -> dict[int, int]:
    """The rider's stops over every active order they hold (one query): for one order's detail."""
    rider = rider_of(user)
    if rider is None:
        return {}
    live = live_grants().filter(principal=user, scope=GrantScope.ADDRESS)
    orders = (Order.objects.select_related("store").filter(rider=rider, status__in=ACTIVE,
                                                            pk__in=live.values("order_id"))
              .only("pk", "status", "approx_lat", "approx_lng", "store__lat", "store__lng"))
    point = (rider.last_lat, rider.last_lng) if rider.last_lat is not None and rider.last_lng is not None else None
    return order_stops(orders, rider_point=point)

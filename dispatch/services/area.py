"""The area point (what an AREA-tier distance is measured to) and the erasure of positions near a door.

Contract: an AREA-tier rider learns distances to the area point only, in coarse steps
(geofence.coarse_distance), never a figure measured to the door. The area point lies
AREA_OFFSET_M[0]..AREA_OFFSET_M[1] from the door on a uniformly random bearing, both drawn with
`secrets` once per order and kept in columns of the order (not derived from any key, so a key
rotation cannot move it), stored as an offset so no column holds the point itself. Whatever the
answers, the door stays unknown on a ring of that radius around the area point: an attacker who
found the area point exactly would still be at least AREA_OFFSET_M[0] from the door, and one who
missed it by e metres at least AREA_OFFSET_M[0] - e (tests/adversary/test_area_tier.py measures it).
"""

from __future__ import annotations

import secrets

from .. import geofence
from ..models import Grant, LocationFix, Order, ProxySession, Rider
from ..signals import traces_erased

AREA_OFFSET_M = (500.0, 800.0)
ERASE_RADIUS_M = 500.0
_random = secrets.SystemRandom()


def area_offset_draw() -> tuple[float, float]:
    """(bearing in degrees, distance in metres) for a new order's area point."""
    return _random.uniform(0.0, 360.0), _random.uniform(*AREA_OFFSET_M)


def area_point(*, order: Order, dest: tuple[float, float]) -> tuple[float, float]:
    """The order's area point. An order created before area points existed gets one now, once:
    the conditional update lets only the first of concurrent readers draw it."""
    bearing, metres = order.area_bearing, order.area_offset_m
    if bearing is None or metres is None:
        drawn = area_offset_draw()
        Order.objects.filter(pk=order.pk, area_offset_m__isnull=True).update(area_bearing=drawn[0], area_offset_m=drawn[1])
        order.refresh_from_db(fields=["area_bearing", "area_offset_m"])
        bearing, metres = order.area_bearing or drawn[0], order.area_offset_m or drawn[1]
    return geofence.offset_point(dest[0], dest[1], bearing, metres)


def _box(dest: tuple[float, float], metres: float) -> dict[str, float]:
    """Lookups for a lat/lng box holding the circle of `metres` around `dest` (an index-friendly superset)."""
    north = geofence.offset_point(dest[0], dest[1], 0.0, metres)
    east = geofence.offset_point(dest[0], dest[1], 90.0, metres)
    dlat, dlng = north[0] - dest[0], east[1] - dest[1]
    return {"lat__gte": dest[0] - dlat, "lat__lte": dest[0] + dlat, "lng__gte": dest[1] - dlng, "lng__lte": dest[1] + dlng}


def order_traces_erase(*, order: Order, dest: tuple[float, float] | None) -> dict[str, int]:
    """For shredding: remove every stored trace that places the door. Runs inside order_shred's transaction.

    - the order's location history, and every fix of a rider who held the order within
      ERASE_RADIUS_M of the door, whichever order (or none) it was recorded for;
    - a rider's last known position, if it lies within ERASE_RADIUS_M of the door: the rider's
      position is their own, but one at this door may be the door itself (the next ping restores it);
    - the proxy sessions' phone digests (the rows stay, for statistics);
    - the area point's offset and the rounded destination kept for the dispatch map.
    `dest` is None when the vault was already shredded: only the order's own rows can be found then."""
    riders = set(Grant.objects.filter(order=order, principal__rider__isnull=False).values_list("principal__rider", flat=True))
    riders |= set(LocationFix.objects.filter(order=order).values_list("rider_id", flat=True))
    riders |= set(ProxySession.objects.filter(order=order).values_list("rider_id", flat=True))
    if order.rider_id:
        riders.add(order.rider_id)
    fixes, _ = LocationFix.objects.filter(order=order).delete()
    cleared = 0
    if dest is not None:
        box = _box(dest, ERASE_RADIUS_M * 1.05)  # 5% for the local-plane approximation
        near, _ = LocationFix.objects.filter(rider_id__in=riders, **box).delete()
        fixes += near
        last = {f"last_{k}": v for k, v in box.items()}
        cleared = Rider.objects.filter(pk__in=riders, **last).update(last_lat=None, last_lng=None, cell=None)
    sessions = ProxySession.objects.filter(order=order).update(rider_digest="", customer_digest="")
    Order.objects.filter(pk=order.pk).update(approx_lat=None, approx_lng=None, area_bearing=None, area_offset_m=None)
    order.approx_lat = order.approx_lng = order.area_bearing = order.area_offset_m = None
    traces_erased.send(sender=Order, order_id=order.pk, rider_ids=riders)  # the engine's state holds the last fix
    return {"fixes_deleted": fixes, "rider_positions_cleared": cleared, "sessions_blanked": sessions}

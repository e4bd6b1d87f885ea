"""Who to send: on-duty riders ranked for one order by distance to the store, current load and an ETA.

The contract (the API's `GET /api/dispatch/orders/{id}/suggestions/`, auto-dispatch and offers use it):
`suggest_riders(order=..., user=None, limit=10)` → `Suggestion`s, best first, only riders who may take the
order (their fleet) and, with a `user`, whom that dispatcher's fleet scope allows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from ..geofence import distance_m
from ..models import Order, OrderStatus, Rider
from ..services.fleets import dispatcher_scope, fleet_of, rider_may_take
from ..services.safety import blocked_rider_ids

ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)
RIDE_SPEED_MPS = 4.0  # an e-bike in town, door to door
STOP_S = 300  # what each order a rider already carries adds to the ETA


@dataclass(frozen=True)
class Suggestion:
    rider: int
    name: str
    fleet: str
    distance_m: int | None
    load: int
    eta_s: int | None


def _rank_key(s: Suggestion) -> tuple:
    return (s.eta_s is None, s.eta_s if s.eta_s is not None else 0, s.load, s.rider)


def suggest_riders(*, order: Order, user=None, limit: int = 10) -> list[Suggestion]:
    scope = dispatcher_scope(user) if user is not None else ""
    riders = Rider.objects.filter(on_duty=True).annotate(load=Count("orders", filter=Q(orders__status__in=ACTIVE)))
    out = []
    blocked = blocked_rider_ids(order)  # riders who blocked this customer
    for rider in riders:
        if not rider_may_take(rider, order) or (scope and fleet_of(rider) != scope) or rider.pk in blocked:
            continue
        if rider.last_lat is None or rider.last_lng is None:
            dist = eta = None
        else:
            dist = int(distance_m(rider.last_lat, rider.last_lng, order.store.lat, order.store.lng))
            eta = int(dist / RIDE_SPEED_MPS) + rider.load * STOP_S
        out.append(Suggestion(rider=rider.pk, name=rider.display_name, fleet=fleet_of(rider), distance_m=dist,
                              load=rider.load, eta_s=eta))
    out.sort(key=_rank_key)
    return out[:limit]

"""An order as the store's counter sees it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from ..models import Order
from ..services.counter import Eta, rider_eta


@dataclass(frozen=True)
class CounterOrder:
    """An order at the store's counter: the masked order, the rider's coarse ETA, its age and its label."""

    order: Order
    eta: Eta | None
    age_s: int
    label_url: str


def counter_order(order: Order) -> CounterOrder:
    return CounterOrder(order=order, eta=rider_eta(order=order),
                        age_s=int((timezone.now() - order.created_at).total_seconds()),
                        label_url=f"/pickup/orders/{order.pk}/label/")

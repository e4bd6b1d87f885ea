"""The merchant's own orders, filtered for `GET /api/orders/`."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Order
from ..permissions import merchant_of
from .access import merchant_orders
from .board import pickup_q


def merchant_order_list(*, user, statuses: tuple[str, ...] = (), store_id: int | None = None,
                        created_after: datetime | None = None, created_before: datetime | None = None,
                        external_ref: str | None = None, q: str = "") -> QuerySet[Order]:
    """Newest first (by id: an order made while a client pages lands before its cursor, never inside a page).
    A store that is not the merchant's: 400 unknown_store, as when creating. `q` finds a pickup number exactly, as
    the board's search does (`board.pickup_q`), or the start of the merchant's own reference."""
    qs = merchant_orders(user=user).order_by("-pk")
    if store_id is not None:
        merchant = merchant_of(user)
        if merchant is None or not merchant.stores.filter(pk=store_id).exists():
            raise Invalid(_("That is not one of your stores."), code="unknown_store")
        qs = qs.filter(store_id=store_id)
    if statuses:
        qs = qs.filter(status__in=statuses)
    if created_after is not None:
        qs = qs.filter(created_at__gte=created_after)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    if external_ref is not None:
        qs = qs.filter(external_ref=external_ref)
    if q:
        match = Q(external_ref__startswith=q)
        pickup = pickup_q(q)
        qs = qs.filter(match | pickup if pickup is not None else match)
    return qs

"""The rider's offers: only their own, only while open and not past the deadline; another rider's is 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ..errors import NotFound
from ..models import Offer, OfferStatus, OrderItem
from ..permissions import rider_of
from ..services.offers import offer_job


def _offers() -> QuerySet[Offer]:
    return Offer.objects.select_related("order__store").prefetch_related(
        Prefetch("order__items", queryset=OrderItem.objects.order_by("position")))


def rider_offers(*, user, now: datetime | None = None) -> list[dict[str, Any]]:
    """The rider's open offers, soonest deadline first, as `offer_job` shows them."""
    rider = rider_of(user)
    if rider is None:
        return []
    now = now or timezone.now()
    offers = _offers().filter(rider=rider, status=OfferStatus.OPEN, expires_at__gt=now).order_by("expires_at", "pk")
    return [offer_job(o, now=now) for o in offers]


def access_offer(*, user, offer_id) -> Offer:
    rider = rider_of(user)
    if rider is None:
        raise NotFound()
    try:
        return _offers().get(pk=int(offer_id), rider=rider)
    except (Offer.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc

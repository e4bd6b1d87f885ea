"""Pickup numbers: short, sayable, unique per store per local business day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import PickupCounter, Store


def business_date(*, store: Store, at: datetime, rollover_hour: int | None = None) -> date:
    """The store's local day, which starts at the rollover hour (04:00 by default)."""
    hour = settings.PICKUP_ROLLOVER_HOUR if rollover_hour is None else rollover_hour
    local = at.astimezone(ZoneInfo(store.timezone))
    return (local - timedelta(hours=hour)).date()


def format_pickup_code(*, prefix: str, seq: int) -> str:
    return f"{prefix}{seq}"


def pickup_number_allocate(*, store: Store, at: datetime) -> tuple[date, int, str]:
    """Next number for the store-day. Row-locked increment: concurrent orders never share one."""
    day = business_date(store=store, at=at)
    with transaction.atomic():
        updated = PickupCounter.objects.filter(store=store, business_date=day).update(last=F("last") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    PickupCounter.objects.create(store=store, business_date=day, last=1)
            except IntegrityError:  # another transaction created it first
                PickupCounter.objects.filter(store=store, business_date=day).update(last=F("last") + 1)
        seq = PickupCounter.objects.get(store=store, business_date=day).last
    return day, seq, format_pickup_code(prefix=store.pickup_prefix, seq=seq)

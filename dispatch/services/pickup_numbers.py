"""Pickup numbers: short, sayable, unique per store per local business day."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from ..models import PickupCounter, Store

_CODE = re.compile(r"^#?([A-Z]{0,2})0*(\d{1,7})$")


def business_date(*, store: Store, at: datetime, rollover_hour: int | None = None) -> date:
    """The store's local day, which starts at the rollover hour (04:00 by default)."""
    hour = settings.PICKUP_ROLLOVER_HOUR if rollover_hour is None else rollover_hour
    local = at.astimezone(ZoneInfo(store.timezone))
    return (local - timedelta(hours=hour)).date()


def clean_prefix(prefix: str) -> str:
    """Letters only (A-Z), so that `B1` + 27 can never read as `B` + 127."""
    return "".join(c for c in (prefix or "").upper() if "A" <= c <= "Z")[:2]


def format_pickup_code(*, prefix: str, seq: int) -> str:
    return f"{clean_prefix(prefix)}{seq}"


def normalise_pickup_code(text: str) -> str | None:
    """What staff type or riders say (` a027 `, `#27`) as the stored form (`A27`); None if it is not one."""
    m = _CODE.match(re.sub(r"[\s-]", "", text or "").upper())
    if m is None or int(m.group(2)) == 0:
        return None
    return f"{m.group(1)}{int(m.group(2))}"


def pickup_number_allocate(*, store: Store, at: datetime) -> tuple[date, int, str]:
    """Next number for the store-day, in one statement (an upsert on the day's counter row).

    Call it inside the transaction that stores the order: the counter row stays locked until that
    commits, so concurrent orders never share a number, and a rolled-back order gives its number back
    (the numbers of a day stay contiguous). Works on SQLite (3.35+) and PostgreSQL."""
    day = business_date(store=store, at=at)
    seq = PickupCounter.objects.next_for(store_id=store.pk, day=day)
    return day, seq, format_pickup_code(prefix=store.pickup_prefix, seq=seq)

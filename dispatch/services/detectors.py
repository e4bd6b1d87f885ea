"""The detectors that raise dispatch's alerts (services/alerts.py) from what the database already holds. The beat
task `dispatch.tasks.alerts_sweep` runs them every ALERTS_SWEEP_S; each takes `now=` so a test never waits.

- A stale device: a rider holding an active order whose last accepted fix (`Rider.last_seen_at`, or the
  assignment when none came since) is older than ALERT_STALE_AFTER_S. The reason is what the app last said of
  its location sharing (`Rider.geo_state`: "denied", "unavailable", ...) or "offline" when its socket closed,
  or "off_duty"; "" when nothing is known.
- A late order: still open (not yet delivered or out of the road) after its promised time (`Order.promised_at`,
  set at creation, see `order_promise`).
- A late pickup: a scheduled order (`Order.pickup_ready_at`) not yet picked up SCHEDULE_PICKUP_GRACE_S after its
  ready time (still unassigned, or its rider not at the counter): a `late` alert with detail `what: "pickup"`.
- An unusual rate: more audit events of one kind within ALERT_RATE_WINDOW_S than a limit, per rider or per
  store (address and contact reveals, break-glass, counter lookups).

Spoofing (services/delivery.py `location_spoof_alert`), failed pickups at a counter (services/counter.py), SOS and
offers nobody took raise their alerts where they happen.

A detector passes `quiet_since` (when the condition began): once a dispatcher acknowledged this episode, the
sweep does not raise it again until the condition ends and starts anew."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import Alert, AuditEvent, Order, OrderStatus, Rider, Store
from .alerts import alert_raise

S = OrderStatus
ACTIVE = (S.ASSIGNED, S.READY, S.PICKED_UP)
NOT_YET_DELIVERED = (S.CREATED, S.OFFERED, S.ASSIGNED, S.READY, S.PICKED_UP)

# What the rider's app may say of its location sharing (static/rider/js/geo.js Tracker states), and "offline",
# set by the server when the rider's socket closes.
GEO_STATES = ("sharing", "waiting", "denied", "unavailable", "unsupported", "idle", "offline")
STALE_REASONS = ("denied", "unavailable", "unsupported", "offline", "waiting", "idle")


def order_promise(*, store: Store, created_at: datetime, promised_at: datetime | None = None) -> datetime:
    """The time promised to the customer: the merchant's, else the store's `promise_s`, else ORDER_PROMISE_S."""
    if promised_at is not None:
        return promised_at
    return created_at + timedelta(seconds=store.promise_s or settings.ORDER_PROMISE_S)


@transaction.atomic
def rider_geo_state_set(*, rider: Rider, state: str, now: datetime | None = None) -> bool:
    """Record what the rider's app says of its location sharing. Unknown states are ignored (False)."""
    if state not in GEO_STATES:
        return False
    Rider.objects.filter(pk=rider.pk).update(geo_state=state, geo_state_at=now or timezone.now())
    return True


class _Known:
    """What the alerts table already says of a sweep's keys, read in one query, so that a sweep over many late
    orders or silent phones calls `alert_raise` (a lock and a write) only for what changed."""

    def __init__(self, keys: list[str]):
        self.open: dict[str, dict] = {}
        self.acked: dict[str, datetime] = {}
        for key, acked_at, detail in Alert.objects.filter(key__in=keys).values_list("key", "acked_at", "detail"):
            if acked_at is None:
                self.open[key] = detail
            elif key not in self.acked or acked_at > self.acked[key]:
                self.acked[key] = acked_at

    def unchanged(self, key: str, detail: dict, since: datetime) -> bool:
        if key in self.open:
            return self.open[key] == detail
        return key in self.acked and self.acked[key] >= since


def stale_devices_detect(*, now: datetime | None = None) -> int:
    """Raise `stale_device` for each rider on an active order whose device is silent. Returns how many it found."""
    now = now or timezone.now()
    silent_after = timedelta(seconds=settings.ALERT_STALE_AFTER_S)
    orders = (Order.objects.filter(status__in=ACTIVE, rider__isnull=False)
              .filter(Q(rider__last_seen_at__isnull=True) | Q(rider__last_seen_at__lt=now - silent_after))
              .select_related("rider", "store").order_by("pk"))
    by_rider: dict[int, list[Order]] = {}
    for order in orders:
        by_rider.setdefault(order.rider_id, []).append(order)  # type: ignore[arg-type]
    raised = 0
    known = _Known([f"stale_device:rider:{rider_id}" for rider_id in by_rider])
    for orders_of in by_rider.values():
        rider = orders_of[0].rider
        assert rider is not None
        held_since = min(o.assigned_at or o.created_at for o in orders_of)
        last = max(d for d in (rider.last_seen_at, held_since) if d is not None)
        if now - last < silent_after:
            continue  # assigned recently: its first fix may still come
        if not rider.on_duty:
            reason = "off_duty"
        elif rider.geo_state in STALE_REASONS:
            reason = rider.geo_state
        else:
            reason = ""
        key, detail = f"stale_device:rider:{rider.pk}", {"reason": reason, "since": last.isoformat(),
                                                         "orders": [o.pk for o in orders_of]}
        raised += 1
        if not known.unchanged(key, detail, last):
            alert_raise(kind="stale_device", key=key, rider=rider, order=orders_of[0], detail=detail,
                        quiet_since=last, bump=False)
    return raised


def late_orders_detect(*, now: datetime | None = None) -> int:
    """Raise `late` for each order not yet delivered after its promised time. Returns how many it found."""
    now = now or timezone.now()
    overdue = Order.objects.filter(status__in=NOT_YET_DELIVERED).filter(
        Q(promised_at__lt=now) | Q(promised_at__isnull=True)).select_related("store", "rider").order_by("pk")
    raised = 0
    late = list(overdue)
    known = _Known([f"late:order:{order.pk}" for order in late])
    for order in late:
        promised = order_promise(store=order.store, created_at=order.created_at, promised_at=order.promised_at)
        if promised >= now:
            continue
        key, detail = f"late:order:{order.pk}", {"promised_at": promised.isoformat(), "status": order.status}
        raised += 1
        if not known.unchanged(key, detail, promised):
            alert_raise(kind="late", key=key, order=order, rider=order.rider, detail=detail, quiet_since=promised,
                        bump=False)
    return raised


NOT_YET_PICKED_UP = (S.CREATED, S.OFFERED, S.ASSIGNED, S.READY)


def late_pickups_detect(*, now: datetime | None = None) -> int:
    """Raise `late` (detail `what: "pickup"`) for each scheduled order not picked up SCHEDULE_PICKUP_GRACE_S after
    its pickup_ready_at: unassigned, or its rider not at the counter. Returns how many it found."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SCHEDULE_PICKUP_GRACE_S)
    overdue = list(Order.objects.filter(status__in=NOT_YET_PICKED_UP, pickup_ready_at__lt=now - grace)
                   .select_related("store", "rider").order_by("pk"))
    known = _Known([f"late:pickup:order:{order.pk}" for order in overdue])
    for order in overdue:
        assert order.pickup_ready_at is not None
        due = order.pickup_ready_at + grace
        key = f"late:pickup:order:{order.pk}"
        detail = {"what": "pickup", "pickup_ready_at": order.pickup_ready_at.isoformat(), "status": order.status}
        if not known.unchanged(key, detail, due):
            alert_raise(kind="late", key=key, order=order, rider=order.rider, detail=detail, quiet_since=due,
                        bump=False)
    return len(overdue)


@dataclass(frozen=True)
class RateRule:
    what: str  # the alert's detail "what": reveals, break_glass, lookups
    actions: tuple[str, ...]  # audit actions counted
    per: str  # "rider" (the actor's rider row) or "store" (the order's store, or data.store)
    limit_setting: str


RATE_RULES = (
    RateRule("reveals", ("address.read", "contact.read"), "rider", "ALERT_RATE_REVEALS_PER_RIDER"),
    RateRule("reveals", ("address.read", "contact.read"), "store", "ALERT_RATE_REVEALS_PER_STORE"),
    RateRule("break_glass", ("breakglass.used",), "store", "ALERT_RATE_BREAK_GLASS_PER_STORE"),
    RateRule("lookups", ("pickup.lookup",), "store", "ALERT_RATE_LOOKUPS_PER_STORE"),
)


def _rate_counts(rule: RateRule, since: datetime, until: datetime) -> dict[int, int]:
    events = AuditEvent.objects.filter(action__in=rule.actions, at__gte=since, at__lte=until)
    if rule.per == "rider":
        rows = events.filter(actor__rider__isnull=False).values_list("actor__rider").annotate(n=Count("pk"))
    elif rule.actions == ("pickup.lookup",):  # a refused lookup has no order: the store is in its data
        rows = events.values_list("data__store").annotate(n=Count("pk"))
    else:
        rows = events.filter(order__isnull=False).values_list("order__store").annotate(n=Count("pk"))
    return {int(ident): n for ident, n in rows if ident is not None}


def unusual_rates_detect(*, now: datetime | None = None) -> int:
    """Raise `rate` for each rider or store past a rule's limit within the window. Returns alerts raised."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.ALERT_RATE_WINDOW_S)
    raised = 0
    for rule in RATE_RULES:
        limit = getattr(settings, rule.limit_setting)
        over = {ident: n for ident, n in _rate_counts(rule, now - window, now).items() if n > limit}
        if not over:
            continue
        model = Rider if rule.per == "rider" else Store
        for obj in model.objects.filter(pk__in=over).order_by("pk"):
            detail = {"what": rule.what, "per": rule.per, "count": over[obj.pk], "limit": limit,
                      "window_s": int(window.total_seconds())}
            alert_raise(kind="rate", key=f"rate:{rule.what}:{rule.per}:{obj.pk}", detail=detail,
                        quiet_since=now - window, bump=False,
                        **({"rider": obj} if isinstance(obj, Rider) else {"store": obj}))
            raised += 1
    return raised


def alerts_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Every detector once (the beat task)."""
    now = now or timezone.now()
    return {"stale_device": stale_devices_detect(now=now), "late": late_orders_detect(now=now),
            "late_pickup": late_pickups_detect(now=now), "rate": unusual_rates_detect(now=now)}

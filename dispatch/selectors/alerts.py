"""Dispatch's alerts, scoped by the dispatcher's fleet: an unscoped dispatcher sees every fleet's, a scoped one
its fleet's (`services.alerts.alert_fleets`: its riders' alerts, and for a merchant's own fleet also the alerts
with no rider about that merchant's stores and its orders no rider holds); anyone else, none. Another fleet's
alert is 404, as a missing one."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from ..errors import NotFound
from ..models import Alert, Store
from ..permissions import is_dispatcher
from ..services.fleets import dispatcher_scope, fleet_merchant

ALERTS_MAX = 500  # a list answers at most this many (the newest)


def scope_q(scope: str) -> Q:
    """The alerts a dispatcher with this (non-empty) scope sees, the rule of `services.alerts.alert_fleets`."""
    seen = Q(fleet=scope)
    merchant = fleet_merchant(scope)
    if merchant is not None:
        riderless = Q(rider__isnull=True)
        seen |= riderless & Q(order__isnull=False, order__rider__isnull=True, order__merchant_id=merchant)
        seen |= riderless & Q(order__isnull=True, store__in=Store.objects.filter(merchants__pk=merchant).values("pk"))
    return seen


def dispatch_alerts(*, user, open_only: bool = False) -> QuerySet[Alert]:
    """Newest first: SOS before everything else when open, then by the last time each was raised."""
    if not is_dispatcher(user):
        return Alert.objects.none()
    qs = Alert.objects.all()
    scope = dispatcher_scope(user)
    if scope:
        qs = qs.filter(scope_q(scope))
    if open_only:
        qs = qs.filter(acked_at__isnull=True)
    sos_first = Case(When(Q(kind="sos", acked_at__isnull=True), then=Value(0)), default=Value(1),
                     output_field=IntegerField())
    return qs.order_by(sos_first, "-last_at", "-pk")


def access_alert(*, user, alert_id, lock: bool = False) -> Alert:
    qs = dispatch_alerts(user=user)
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=int(alert_id))
    except (Alert.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc

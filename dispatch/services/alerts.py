"""Alerts for dispatch: persisted rows, raised by detectors (stale device, late, rates, spoofing, SOS,
nobody accepting an offer), told to the dispatch sockets of their fleet, closed by an acknowledgement with
a note. Raising and acknowledging are both audited."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Alert, Order, Rider, Store
from .audit import audit_record
from .events import event_publish
from .fleets import PLATFORM, dispatch_groups, fleet_of


def alert_out(alert: Alert) -> dict[str, Any]:
    """The alert as the board and the API show it: codes, counts and ids, no customer data."""
    return {
        "id": alert.pk, "kind": alert.kind, "fleet": alert.fleet, "order": alert.order_id, "rider": alert.rider_id,
        "store": alert.store_id, "lat": alert.lat, "lng": alert.lng, "detail": alert.detail,
        "count": alert.count, "created_at": alert.created_at.isoformat() if alert.created_at else None,
        "last_at": alert.last_at.isoformat() if alert.last_at else None,
        "acked_at": alert.acked_at.isoformat() if alert.acked_at else None, "ack_note": alert.ack_note,
    }


@transaction.atomic
def alert_raise(*, kind: str, key: str, order: Order | None = None, rider: Rider | None = None,
                store: Store | None = None, lat: float | None = None, lng: float | None = None,
                detail: dict[str, Any] | None = None, fleet: str | None = None) -> Alert:
    """Open an alert, or bump the open one with the same key (count, last_at, detail)."""
    if fleet is None:
        fleet = fleet_of(rider) if rider is not None else PLATFORM
    if store is None and order is not None:
        store = order.store
    alert = Alert.objects.select_for_update().filter(key=key, acked_at__isnull=True).first()
    if alert is not None:
        Alert.objects.filter(pk=alert.pk).update(count=F("count") + 1, last_at=timezone.now(),
                                                 detail=detail or alert.detail,
                                                 lat=lat if lat is not None else alert.lat,
                                                 lng=lng if lng is not None else alert.lng)
        alert.refresh_from_db()
    else:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(kind=kind, key=key, fleet=fleet, order=order, rider=rider, store=store,
                                             lat=lat, lng=lng, detail=detail or {})
        except IntegrityError:  # raised at the same moment elsewhere: bump that one
            return alert_raise(kind=kind, key=key, order=order, rider=rider, store=store, lat=lat, lng=lng,
                               detail=detail, fleet=fleet)
        audit_record(action="alert.raised", order=order,
                     data={"alert": alert.pk, "kind": kind, "rider": rider.pk if rider else None})
    event_publish(groups=dispatch_groups(alert.fleet), type="alert", payload={"alert": alert_out(alert)})
    return alert


@transaction.atomic
def alert_ack(*, alert: Alert, by, note: str) -> Alert:
    """Close the alert with the dispatcher's note. Acknowledging a closed alert changes nothing."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.acked_at is not None:
        return alert
    alert.acked_at, alert.acked_by, alert.ack_note = timezone.now(), by, note[:500]
    alert.save(update_fields=["acked_at", "acked_by", "ack_note"])
    audit_record(actor=by, action="alert.acked", order=alert.order, data={"alert": alert.pk, "kind": alert.kind})
    event_publish(groups=dispatch_groups(alert.fleet), type="alert", payload={"alert": alert_out(alert)})
    return alert

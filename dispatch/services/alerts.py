"""Alerts for dispatch: persisted rows, raised by detectors (stale device, late, rates, spoofing, SOS,
nobody accepting an offer), told to the dispatch sockets of their fleet, closed by an acknowledgement with
a note. Raising and acknowledging are both audited (`alert.raised`, `alert.acked`); bumping an open alert
(the same key raised again) is not, it counts in the row. An alert whose condition ended by itself is resolved
(`alert_resolve`: closed with no dispatcher and the reason code in `detail.resolved`, audited `alert.resolved`):
the `unassigned` alert when the order gets a rider or is cancelled.

The detectors are in services/detectors.py; the list and the acknowledgement API in dispatch/board/apis.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Alert, Merchant, Order, Rider, Store
from .audit import audit_record
from .events import event_publish
from .fleets import PLATFORM, fleet_of, fleets_groups, merchant_fleet

NOTE_MAX = 500


def alert_out(alert: Alert) -> dict[str, Any]:
    """The alert as the board and the API show it (serializers.AlertOut renders the same): codes, counts and
    ids, no customer data."""
    return {
        "id": alert.pk, "kind": alert.kind, "fleet": alert.fleet, "order": alert.order_id, "rider": alert.rider_id,
        "store": alert.store_id, "lat": alert.lat, "lng": alert.lng, "detail": alert.detail,
        "count": alert.count, "created_at": alert.created_at.isoformat() if alert.created_at else None,
        "last_at": alert.last_at.isoformat() if alert.last_at else None,
        "acked_at": alert.acked_at.isoformat() if alert.acked_at else None, "ack_note": alert.ack_note,
    }


def unassigned_key(order_id: int) -> str:
    """The key of the `unassigned` alert (auto-dispatch found nobody) of this order."""
    return f"unassigned:order:{order_id}"


def alert_fleet(*, rider: Rider | None, order: Order | None) -> str:
    """Whose dispatch hears of it: the rider's fleet, else the fleet of the order's rider, else the platform's."""
    if rider is not None:
        return fleet_of(rider)
    if order is not None and order.rider_id is not None and order.rider is not None:
        return fleet_of(order.rider)
    return PLATFORM


def alert_fleets(alert: Alert) -> list[str]:
    """Every fleet whose dispatch sees this alert (selectors.alerts scopes the list alike): its own (`fleet`, its
    rider's); and for one with no rider, the merchants' own fleets that work for what it is about, as orders are
    seen (`fleets.order_fleets`): its order's merchant's while no rider holds the order, or, with no order, the
    merchants' of its store. Never another fleet's rider or a held order's: those stay with the rider's fleet."""
    fleets = [alert.fleet]
    if alert.rider_id is None:
        if alert.order_id is not None:
            order = Order.objects.filter(pk=alert.order_id).values("rider_id", "merchant_id").first()
            if order and order["rider_id"] is None and order["merchant_id"]:
                fleets.append(merchant_fleet(order["merchant_id"]))
        elif alert.store_id is not None:
            merchants = Merchant.objects.filter(stores=alert.store_id).order_by("pk").values_list("pk", flat=True)
            fleets += [merchant_fleet(pk) for pk in merchants]
    return list(dict.fromkeys(fleets))


def _tell(alert: Alert) -> None:
    event_publish(groups=fleets_groups(alert_fleets(alert)), type="alert", payload={"alert": alert_out(alert)})


@transaction.atomic
def alert_raise(*, kind: str, key: str, order: Order | None = None, rider: Rider | None = None,
                store: Store | None = None, lat: float | None = None, lng: float | None = None,
                detail: dict[str, Any] | None = None, fleet: str | None = None,
                quiet_since: datetime | None = None, bump: bool = True) -> Alert:
    """Open an alert, or bump the open one with the same key (count, last_at, detail, position).

    `quiet_since`: the moment the condition began (a device's last fix, an order's promised time, a rate's
    window). If an alert with this key was acknowledged after it, dispatch has seen this very episode: that
    alert is returned unchanged and nothing is raised, so a sweep does not re-open what a dispatcher closed.

    `bump=False` (a sweep that finds the same condition again): an open alert whose detail and position did not
    change is left as it is, untold; the count then says how often its detail changed."""
    key = key[:96]
    if fleet is None:
        fleet = alert_fleet(rider=rider, order=order)
    if store is None and order is not None:
        store = order.store
    alert = Alert.objects.select_for_update().filter(key=key, acked_at__isnull=True).first()
    if alert is None and quiet_since is not None:
        seen = Alert.objects.filter(key=key, acked_at__gte=quiet_since).order_by("-acked_at").first()
        if seen is not None:
            return seen
    if alert is not None and not bump and (detail or alert.detail) == alert.detail \
            and (lat is None or lat == alert.lat) and (lng is None or lng == alert.lng):
        return alert
    if alert is not None:
        Alert.objects.filter(pk=alert.pk).update(count=F("count") + 1, last_at=timezone.now(),
                                                 detail=detail or alert.detail,
                                                 lat=lat if lat is not None else alert.lat,
                                                 lng=lng if lng is not None else alert.lng)
        alert.refresh_from_db()
    else:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(kind=kind, key=key, fleet=fleet, order=order, rider=rider,
                                             store=store, lat=lat, lng=lng, detail=detail or {})
        except IntegrityError:  # raised at the same moment elsewhere: bump that one
            return alert_raise(kind=kind, key=key, order=order, rider=rider, store=store, lat=lat, lng=lng,
                               detail=detail, fleet=fleet, bump=bump)
        audit_record(action="alert.raised", order=order,
                     data={"alert": alert.pk, "kind": kind, "fleet": fleet, "rider": rider.pk if rider else None,
                           "store": store.pk if store else None})
    _tell(alert)
    return alert


@transaction.atomic
def alert_ack(*, alert: Alert, by, note: str) -> Alert:
    """Close the alert with the dispatcher's note (required: 400 `note_required` when blank). Acknowledging a
    closed alert changes nothing."""
    note = (note or "").strip()
    if not note:
        raise Invalid(_("Say what you did about this alert: a note is required."), code="note_required")
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.acked_at is not None:
        return alert
    alert.acked_at, alert.acked_by, alert.ack_note = timezone.now(), by, note[:NOTE_MAX]
    alert.save(update_fields=["acked_at", "acked_by", "ack_note"])
    # The note is the dispatcher's own words about the alert; the audit keeps its length, not its text.
    audit_record(actor=by, action="alert.acked", order=alert.order,
                 data={"alert": alert.pk, "kind": alert.kind, "fleet": alert.fleet, "note_chars": len(note)})
    _tell(alert)
    return alert


@transaction.atomic
def alert_resolve(*, key: str, reason: str, by=None) -> Alert | None:
    """Close the open alert with this key because its condition ended (`reason`, a code: "assigned",
    "cancelled"): acknowledged at once, by nobody when no user did it (`by`), with no note, the reason in
    `detail.resolved`, and told to the dispatch sockets as an acknowledgement is. None when none is open. Call it
    before the change that ends the condition is written (an order's new rider), so that every fleet that saw
    the alert hears it closed."""
    alert = Alert.objects.select_for_update().filter(key=key[:96], acked_at__isnull=True).first()
    if alert is None:
        return None
    alert.acked_at = timezone.now()
    alert.acked_by = by if getattr(by, "pk", None) else None
    alert.detail = {**(alert.detail or {}), "resolved": reason}
    alert.save(update_fields=["acked_at", "acked_by", "detail"])
    audit_record(actor=alert.acked_by, action="alert.resolved", order=alert.order,
                 data={"alert": alert.pk, "kind": alert.kind, "fleet": alert.fleet, "reason": reason})
    _tell(alert)
    return alert

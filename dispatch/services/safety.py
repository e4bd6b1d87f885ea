"""The rider's safety: SOS, and reports and blocks of abusive customers.

An SOS is an alert to dispatch of the rider's fleet with the rider's own exact position (or none, said so),
and it keeps the rider's line to dispatch open (services/line_access.py) until acknowledged. A block is kept
under a keyed digest of the customer (privacy.customer_block_digest), never the number: the rider then gets no
suggestions or offers for that customer's orders (`blocked_rider_ids`)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import Alert, CustomerReport, Order, OrderStatus, ReportReason, Rider, RiderBlock
from .alerts import alert_raise
from .audit import audit_record
from .lines import line_chat_send
from .privacy import ShreddedError, customer_block_digest, report_note_seal
from .rtc import Caller

ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)
NOTE_MAX = 500
REPORT_REASONS = tuple(ReportReason.values)


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(_("Write at most %(n)s characters.") % {"n": NOTE_MAX}, code="invalid")
    return note


@transaction.atomic
def rider_sos(*, rider: Rider, lat: float | None, lng: float | None, accuracy: float | None = None,
              note: str = "") -> Alert:
    """Raise (or repeat) the rider's SOS. A note goes to dispatch in the rider's line, sealed, not in the alert."""
    note = _note(note)
    known = lat is not None and lng is not None
    orders = list(Order.objects.filter(rider=rider, status__in=ACTIVE).order_by("pk").values_list("pk", flat=True))
    detail = {"position": "exact" if known else "unknown", "accuracy_m": round(accuracy) if known and accuracy else None,
              "orders": orders, "note": bool(note)}
    alert = alert_raise(kind="sos", key=f"sos:rider:{rider.pk}", rider=rider,
                        order=Order.objects.get(pk=orders[0]) if len(orders) == 1 else None,
                        lat=lat if known else None, lng=lng if known else None, detail=detail)
    audit_record(actor=rider.user, action="rider.sos", data={"alert": alert.pk, "position": known})
    if note:
        line_chat_send(party=Caller("rider", user=rider.user), rider=rider, to="dispatch",
                       text=_("SOS: %(note)s") % {"note": note})
    return alert


@transaction.atomic
def customer_report(*, order: Order, rider: Rider, reason: str, block: bool, note: str = "") -> CustomerReport:
    """The rider reports the customer of `order` (authorised by `selectors.access_order`), and may block them.
    Dispatch sees it as an alert; reports of one customer by several riders add up on one alert."""
    if reason not in ReportReason.values:
        raise Invalid(_("Give one of the listed reasons."), code="bad_reason")
    note = _note(note)
    try:
        digest: str | None = customer_block_digest(order=order, actor=rider.user)
    except ShreddedError:
        digest = None
    report = CustomerReport.objects.create(
        rider=rider, order=order, reason=reason, blocked=bool(block and digest),
        note_sealed=report_note_seal(order=order, rider_id=rider.pk, text=note) if note and digest else None)
    if report.blocked:
        assert digest is not None
        RiderBlock.objects.get_or_create(rider=rider, customer_digest=digest)
    audit_record(actor=rider.user, action="customer.reported", order=order,
                 data={"report": report.pk, "reason": reason, "blocked": report.blocked})
    # The key names the customer only by a prefix of the keyed digest: repeated reports bump one alert.
    key = f"report:customer:{digest[:24]}" if digest else f"report:order:{order.pk}"
    alert_raise(kind="rate", key=key, order=order, rider=rider,
                detail={"what": "customer_report", "reason": reason, "blocked": report.blocked, "report": report.pk})
    return report


def blocked_rider_ids(order: Order) -> set[int]:
    """The on-duty riders who blocked this order's customer: to leave out of suggestions and offers.

    The customer's digest needs an (audited) vault open, so it is computed only when some on-duty rider has a
    block at all; a shredded order has no customer left to match."""
    if not RiderBlock.objects.filter(rider__on_duty=True).exists():
        return set()
    try:
        digest = customer_block_digest(order=order)
    except ShreddedError:
        return set()
    return set(RiderBlock.objects.filter(customer_digest=digest, rider__on_duty=True).values_list("rider_id", flat=True))

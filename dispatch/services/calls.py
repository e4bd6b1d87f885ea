"""Masked calling, Twilio Proxy-style: a pool number serves many sessions, as long as no
participant holds it twice. Calls route by (caller, proxy number) to the other party.

A session lives until the first of: its absolute end (`expires_at`, set at creation), the end of the
after-sales window, or the moment its rider loses the order (`call_sessions_end`, called by the one
revocation in `services/access.py`). A number is not handed to the same customer again within
PROXY_COOLOFF_S of a session with it ending."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError, NotFound
from ..models import Order, OrderStatus, ProxySession, Rider, SeenCallSid
from .audit import audit_record
from .privacy import customer_phone_digest, customer_phone_for_call, phone_digest
from .rtc import phone_call_log

log = logging.getLogger(__name__)

CALL_SID_KEEP = timedelta(days=1)


def sandbox_carrier_enabled() -> bool:
    """The sandbox carrier places calls locally: in the demo and the in-process tests, never in production."""
    return settings.TELEPHONY_PROVIDER == "sandbox" and bool(settings.DEMO_MODE or settings.TESTING)


def live_sessions(now: datetime | None = None):
    now = now or timezone.now()
    return ProxySession.objects.filter(ended_at__isnull=True, expires_at__gt=now)


@transaction.atomic
def call_session_start(*, order: Order, rider: Rider) -> ProxySession:
    order = Order.objects.select_for_update().get(pk=order.pk)  # the rider and the customer may press call at once
    if order.status == OrderStatus.CANCELLED:
        raise DomainError(_("This order was cancelled."), code="wrong_state")
    if order.status in (OrderStatus.FAILED, OrderStatus.RETURNING, OrderStatus.RETURNED):
        raise DomainError(_("The delivery did not go ahead: the rider can no longer be called."), code="wrong_state")
    if order.rider_id != rider.pk:
        raise NotFound()  # only the order's current rider holds a line to its customer
    existing = live_sessions().filter(order=order, rider=rider).first()
    if existing:
        return existing
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("The after-sales call window is closed."), code="call_window_closed")
    now = timezone.now()
    rider_digest = phone_digest(rider.phone)
    customer_digest = customer_phone_digest(order=order, actor=rider.user)
    pair = [rider_digest, customer_digest]
    busy = set(
        live_sessions(now).filter(Q(rider_digest__in=pair) | Q(customer_digest__in=pair))
        .values_list("proxy_number", flat=True)
    )
    cutoff = now - timedelta(seconds=settings.PROXY_COOLOFF_S)
    cooling = set(
        ProxySession.objects.filter(customer_digest=customer_digest)
        .filter(Q(ended_at__gt=cutoff) | Q(ended_at__isnull=True, expires_at__gt=cutoff))
        .values_list("proxy_number", flat=True)
    )
    free = [n for n in settings.TELEPHONY_POOL if n not in busy and n not in cooling]
    if not free:
        log.warning("call_session_start: pool exhausted order=%s pool=%s busy=%s cooling=%s",
                    order.pk, len(settings.TELEPHONY_POOL), len(busy), len(cooling - busy))
        raise DomainError(
            _("No masked-call number is free for this call: every number is in use by this rider or customer, "
              "or served this customer recently. Try again later, or ask dispatch to pass on a message."),
            code="pool_exhausted",
        )
    session = ProxySession.objects.create(
        order=order, rider=rider, proxy_number=free[0], rider_digest=rider_digest, customer_digest=customer_digest,
        expires_at=now + timedelta(seconds=settings.CALL_SESSION_MAX_S),
    )
    audit_record(actor=rider.user, action="call.session_started", order=order,
                 data={"session": session.pk, "proxy": session.proxy_number})
    return session


def call_sessions_end(*, order: Order, rider: Rider, reason: str, now: datetime) -> int:
    """End the rider's sessions on the order now. Called inside the revocation's transaction."""
    count = 0
    for session in ProxySession.objects.select_for_update().filter(order=order, rider=rider, ended_at__isnull=True):
        session.ended_at = now
        session.save(update_fields=["ended_at"])
        audit_record(action="call.session_ended", order=order, data={"session": session.pk, "reason": reason})
        count += 1
    return count


def call_sessions_window_set(*, order: Order, delivered_at: datetime) -> None:
    """On delivery: the session ends at the earlier of its absolute end and the after-sales window."""
    window_end = delivered_at + timedelta(seconds=settings.CALL_WINDOW_S)
    ProxySession.objects.filter(order=order, ended_at__isnull=True, expires_at__gt=window_end).update(
        expires_at=window_end
    )


@dataclass(frozen=True)
class Route:
    connect_to: str | None  # the number to dial; None when nobody is connected
    callee: str  # "customer", "rider" or ""
    caller_id: str  # always the proxy number: neither side sees the other's
    message: str
    session_id: int | None = None


def _route(*, caller_digest: str, proxy_number: str) -> Route:
    """Where a call from the caller to `proxy_number` goes. After the session ends, or once its rider is no
    longer the order's rider, nobody: checked here at every call, whether or not a revocation ran."""
    base = ProxySession.objects.filter(proxy_number=proxy_number).filter(
        Q(rider_digest=caller_digest) | Q(customer_digest=caller_digest)
    )
    session = (
        live_sessions().filter(pk__in=base.values("pk"), order__rider=F("rider"))
        .exclude(order__status=OrderStatus.CANCELLED).select_related("order", "rider").first()
    )
    if session is None:
        ended = base.order_by("-pk").first()
        audit_record(action="call.refused", order=ended.order if ended else None,
                     data={"proxy": proxy_number, "session": ended.pk if ended else None})
        return Route(None, "", proxy_number, "This delivery number is no longer in service. Goodbye.")
    if caller_digest == session.rider_digest:
        target, callee = customer_phone_for_call(order=session.order, session_id=session.pk), "customer"
    else:
        target, callee = session.rider.phone, "rider"
    audit_record(action="call.connected", order=session.order, data={"session": session.pk, "callee": callee})
    phone_call_log(order=session.order, caller_role="rider" if callee == "customer" else "customer",
                   caller_ident=session.rider_id if callee == "customer" else session.order_id, callee_role=callee,
                   outcome="connected")
    return Route(target, callee, proxy_number, "Connecting you now.", session.pk)


def call_route(*, caller: str, proxy_number: str) -> Route:
    """A call from the phone network: the carrier vouches for the caller's number."""
    return _route(caller_digest=phone_digest(caller), proxy_number=proxy_number)


def call_route_for_rider(*, rider: Rider, proxy_number: str) -> Route:
    """A call placed by a logged-in rider from their own phone (the sandbox's softphone)."""
    return _route(caller_digest=phone_digest(rider.phone), proxy_number=proxy_number)


def call_route_for_customer(*, order: Order, proxy_number: str) -> Route:
    """A call placed by the holder of the order's tracking link, from the customer's phone (the sandbox's softphone)."""
    return _route(caller_digest=customer_phone_digest(order=order), proxy_number=proxy_number)


@transaction.atomic
def call_webhook_route(*, call_sid: str, caller: str, proxy_number: str) -> Route | None:
    """The carrier's webhook for one call. None when this CallSid was answered before: a replay (or a retry)
    dials nobody and writes no audit event. The CallSid is recorded in the routing's transaction, so a
    routing that fails leaves it free for the carrier's retry."""
    try:
        with transaction.atomic():
            SeenCallSid.objects.create(call_sid=call_sid, seen_at=timezone.now())
    except IntegrityError:
        return None
    return call_route(caller=caller, proxy_number=proxy_number)


def call_sids_prune(*, now: datetime | None = None) -> int:
    deleted, _ = SeenCallSid.objects.filter(seen_at__lt=(now or timezone.now()) - CALL_SID_KEEP).delete()
    return deleted


def call_sessions_end_due() -> int:
    now = timezone.now()
    due = ProxySession.objects.filter(ended_at__isnull=True, expires_at__lte=now)
    count = 0
    for session in due.select_related("order"):
        session.ended_at = now
        session.save(update_fields=["ended_at"])
        audit_record(action="call.session_ended", order=session.order, data={"session": session.pk, "reason": "expired"})
        count += 1
    return count

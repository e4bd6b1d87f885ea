"""Masked calling, Twilio Proxy-style: a pool number serves many sessions, as long as no
participant holds it twice. Calls route by (caller, proxy number) to the other party."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError
from ..models import Order, OrderStatus, ProxySession, Rider
from .audit import audit_record
from .privacy import customer_phone_digest, customer_phone_for_call, phone_digest


def live_sessions(now: datetime | None = None):
    now = now or timezone.now()
    return ProxySession.objects.filter(ended_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


@transaction.atomic
def call_session_start(*, order: Order, rider: Rider) -> ProxySession:
    if order.status == OrderStatus.CANCELLED:
        raise DomainError(_("This order was cancelled."), code="wrong_state")
    existing = live_sessions().filter(order=order, rider=rider).first()
    if existing:
        return existing
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("The after-sales call window is closed."), code="call_window_closed")
    rider_digest = phone_digest(rider.phone)
    customer_digest = customer_phone_digest(order=order, actor=rider.user)
    busy = set(
        live_sessions()
        .filter(Q(rider_digest__in=[rider_digest, customer_digest]) | Q(customer_digest__in=[rider_digest, customer_digest]))
        .values_list("proxy_number", flat=True)
    )
    free = [n for n in settings.TELEPHONY_POOL if n not in busy]
    if not free:
        raise DomainError(_("No proxy number is free for this pair right now. Try again in a minute."),
                          code="pool_exhausted")
    session = ProxySession.objects.create(order=order, rider=rider, proxy_number=free[0],
                                         rider_digest=rider_digest, customer_digest=customer_digest)
    audit_record(actor=rider.user, action="call.session_started", order=order,
                 data={"session": session.pk, "proxy": session.proxy_number})
    return session


@dataclass(frozen=True)
class Route:
    connect_to: str | None  # the number to dial; None when nobody is connected
    callee: str  # "customer", "rider" or ""
    caller_id: str  # always the proxy number: neither side sees the other's
    message: str
    session_id: int | None = None


def call_route(*, caller: str, proxy_number: str) -> Route:
    """Where a call from `caller` to `proxy_number` goes. After the session ends, nobody."""
    caller_digest = phone_digest(caller)
    base = ProxySession.objects.filter(proxy_number=proxy_number).filter(
        Q(rider_digest=caller_digest) | Q(customer_digest=caller_digest)
    )
    session = live_sessions().filter(pk__in=base.values("pk")).select_related("order", "rider").first()
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
    return Route(target, callee, proxy_number, "Connecting you now.", session.pk)


def call_sessions_end_due() -> int:
    now = timezone.now()
    due = ProxySession.objects.filter(ended_at__isnull=True, expires_at__lte=now)
    count = 0
    for session in due.select_related("order"):
        session.ended_at = now
        session.save(update_fields=["ended_at"])
        audit_record(action="call.session_ended", order=session.order, data={"session": session.pk})
        count += 1
    return count

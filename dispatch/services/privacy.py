"""The only way plain PII leaves the vault: a live grant, checked at read time, and an audit event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import vault
from ..models import AuditEvent, Grant, GrantPurpose, GrantScope, Order, SealedRecord, Tier
from .audit import audit_record


def _aad(order_id: int) -> bytes:
    return f"order:{order_id}".encode()


def vault_seal(*, order: Order, payload: dict[str, Any]) -> SealedRecord:
    sealed = vault.seal(payload, aad=_aad(order.pk))
    return SealedRecord.objects.create(
        order=order, key_id=sealed.key_id, wrapped_key=sealed.wrapped_key, ciphertext=sealed.ciphertext
    )


def _open(order: Order) -> dict[str, Any]:
    record = order.sealed  # select_related("sealed") on lists saves a query per order
    return vault.open_payload(record.key_id, record.wrapped_key, record.ciphertext, aad=_aad(order.pk))


def live_grants(*, now: datetime | None = None):
    now = now or timezone.now()
    return Grant.objects.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def address_tier(*, order: Order, user) -> int | None:
    """The highest address tier `user` holds on `order` right now, or None."""
    tiers = live_grants().filter(order=order, principal=user, scope=GrantScope.ADDRESS).values_list("tier", flat=True)
    return max(tiers, default=None)


def grant_create(
    *, order: Order, user, scope: str, purpose: str, tier: int | None = None,
    expires_at: datetime | None = None, reason: str = "", audit_data: dict | None = None,
) -> Grant:
    grant = Grant.objects.create(
        order=order, principal=user, scope=scope, tier=tier, purpose=purpose, expires_at=expires_at, reason=reason
    )
    audit_record(
        actor=user,
        action="grant.created",
        order=order,
        data={"scope": scope, "tier": Tier(tier).label if tier else None, "purpose": purpose, **(audit_data or {})},
    )
    return grant


@dataclass(frozen=True)
class AddressView:
    tier: str
    text: str
    lat: float | None
    lng: float | None


_TIER_FIELDS = {
    Tier.AREA: ("area",),
    Tier.STREET: ("area", "street"),
    Tier.DOOR: ("area", "street", "building", "unit", "door_code", "notes"),
}


def address_reveal(
    *, order: Order, user, purpose: str = GrantPurpose.DELIVERY, live: list[Grant] | None = None
) -> AddressView | None:
    """The address text `user` may see now, at the tier they hold. Writes an audit event above AREA.

    `live` may carry the user's live address grants on this order, prefetched for a list; they are
    filtered by expiry again here, so a prefetch can never extend access."""
    if live is None:
        tier = address_tier(order=order, user=user)
    else:
        now = timezone.now()
        held = [
            g.tier for g in live
            if g.tier is not None and g.revoked_at is None and (g.expires_at is None or g.expires_at > now)
            and g.principal_id == user.pk and g.scope == GrantScope.ADDRESS
        ]
        tier = max(held, default=None)
    if tier is None:
        return None
    if tier == Tier.AREA:
        # The area is a masked, derived field stored on the order: no vault read needed.
        return AddressView("area", order.area, None, None)
    payload = _open(order)
    address = payload["address"]
    parts = [str(address.get(f) or "").strip() for f in _TIER_FIELDS[Tier(tier)][1:]]
    text = ", ".join(p for p in parts if p)
    audit_record(actor=user, action="address.read", order=order, data={"tier": Tier(tier).label, "purpose": purpose})
    return AddressView(Tier(tier).label, text, payload["lat"], payload["lng"])


def destination_point(*, order: Order) -> tuple[float, float]:
    """For the geofence engine only: the destination, never returned to a client from here."""
    payload = _open(order)
    return payload["lat"], payload["lng"]


def contact_reveal(*, order: Order, user, purpose: str, reason: str = "") -> dict[str, str]:
    """Plain name and phone, for a live CONTACT grant (break-glass). Audited."""
    if not live_grants().filter(order=order, principal=user, scope=GrantScope.CONTACT).exists():
        from ..errors import NotFound

        raise NotFound()
    payload = _open(order)
    audit_record(actor=user, action="contact.read", order=order, data={"purpose": purpose, "reason": reason})
    return {"name": payload["name"], "phone": payload["phone"]}


def customer_phone_for_call(*, order: Order, session_id: int) -> str:
    """The proxy needs the customer's number to connect a call. Audited; never returned to a party."""
    payload = _open(order)
    audit_record(action="call.customer_number_used", order=order, data={"session": session_id})
    return payload["phone"]


def sensitive_item_names(*, order: Order, user, purpose: str) -> list[str]:
    payload = _open(order)
    audit_record(actor=user, action="items.read", order=order, data={"purpose": purpose})
    return list(payload.get("sensitive_items", []))


@transaction.atomic
def order_shred(*, order: Order) -> None:
    """Crypto-shred: destroy the data key and ciphertext, and every stored trace near the door
    (services.area.order_traces_erase). Masked fields stay for statistics."""
    from .area import order_traces_erase

    try:
        # A fresh copy: the caller's instance must not cache the record that is about to be erased.
        dest: tuple[float, float] | None = destination_point(order=Order.objects.select_related("sealed").get(pk=order.pk))
    except vault.ShreddedError:
        dest = None
    erased = order_traces_erase(order=order, dest=dest)
    SealedRecord.objects.filter(order=order).update(wrapped_key=None, ciphertext=None, shredded_at=timezone.now())
    audit_record(action="order.shredded", order=order, data=erased)


BREAK_GLASS_TTL = timedelta(minutes=15)


def order_break_glass(*, order: Order, user, reason: str) -> tuple[dict[str, str], datetime]:
    """An emergency reveal of contact data: a reason, a daily quota, a 15-minute grant, all audited."""
    from ..errors import RateLimited

    with transaction.atomic():
        since = timezone.now() - timedelta(days=1)
        used = AuditEvent.objects.filter(actor=user, action="breakglass.used", at__gte=since).count()
        if used >= settings.BREAK_GLASS_QUOTA_PER_DAY:
            raise RateLimited("Break-glass quota reached for today. Ask a supervisor.", code="quota_exceeded")
        expires = timezone.now() + BREAK_GLASS_TTL
        grant_create(order=order, user=user, scope=GrantScope.CONTACT, purpose=GrantPurpose.EMERGENCY,
                     expires_at=expires, reason=reason)
        audit_record(actor=user, action="breakglass.used", order=order, data={"reason": reason[:300]})
    return contact_reveal(order=order, user=user, purpose=GrantPurpose.EMERGENCY, reason=reason), expires

"""The only way plain PII leaves the vault: a live grant, checked at read time, and an audit event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import vault
from ..models import (
    AuditEvent,
    ChatMessage,
    CustomerFeedback,
    DeliveryProof,
    Grant,
    GrantPurpose,
    GrantScope,
    IdempotencyKey,
    Order,
    Quote,
    RiderLine,
    SealedRecord,
    Tier,
)
from ..vault import ShreddedError as ShreddedError  # re-exported: no other module imports the vault
from ..vault import VaultError as VaultError
from .audit import audit_record, audit_record_many


def _aad(order_id: int) -> bytes:
    return f"order:{order_id}".encode()


def vault_seal(*, order: Order, payload: dict[str, Any]) -> SealedRecord:
    sealed = vault.seal(payload, aad=_aad(order.pk))
    return SealedRecord.objects.create(
        order=order, key_id=sealed.key_id, wrapped_key=sealed.wrapped_key, ciphertext=sealed.ciphertext
    )


def vault_open(
    *, order: Order, purpose: str, actor=None, action: str = "vault.opened", data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one door out of the vault: every open of an order's sealed record passes here and appends an
    audit event naming the actor (None is "system"), the order and the purpose. `data` may add ids and
    labels, never anything read from the vault. A shredded order raises ShreddedError and writes nothing:
    nothing left the vault."""
    record = order.sealed  # select_related("sealed") on lists saves a query per order
    payload = vault.open_payload(record.key_id, record.wrapped_key, record.ciphertext, aad=_aad(order.pk))
    audit_record(actor=actor, action=action, order=order, data={"purpose": purpose, **(data or {})})
    return payload


def phone_digest(phone: str) -> str:
    """The keyed digest that recognises a phone number on a call session (no vault open: the caller has the number)."""
    return vault.digest(vault.normalise_phone(phone))


def customer_phone_digest(*, order: Order, actor=None) -> str:
    """The digest of the customer's number, to bind a call session. Audited; the number itself stays here."""
    payload = vault_open(order=order, actor=actor, purpose="call_routing", action="call.customer_digest")
    return phone_digest(payload["phone"])


def party_hash(role: str, ident: int | str) -> str:
    """A stable keyed id for a party in the interaction log: recognisable in review, meaningless outside it."""
    return vault.digest(f"party:{role}:{ident}")[:16]


def chat_seal(*, order: Order, sender: str, recipient: str, text: str) -> bytes:
    """Seal a chat message's text under the order's data key (shredding the order makes it unreadable)."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, text.encode(), aad=_aad(order.pk),
                            label=_chat_label(sender, recipient))


def reply_seal(*, order: Order, body: dict[str, Any]) -> bytes:
    """Seal an answer that holds a bearer secret (a new order's tracking link, kept for idempotent replays) under
    the order's data key: the database never holds the link in the clear, and shredding the order erases it."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, json.dumps(body).encode(), aad=_aad(order.pk),
                            label=b"idempotent-reply")


def reply_open(*, order: Order, sealed: bytes) -> dict[str, Any]:
    """The answer `reply_seal` sealed, for a replay to the merchant that made the order (no PII: not audited)."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return json.loads(vault.open_under(record.key_id, record.wrapped_key, sealed, aad=_aad(order.pk),
                                       label=b"idempotent-reply"))


def chat_open(*, order: Order, messages: list[ChatMessage], reader: str, actor=None) -> dict[int, str]:
    """The texts of `messages` for one of their two parties (`reader` is a role). One audit event per read;
    the caller has authorised `reader` on the order. A shredded order yields nothing."""
    readable = [m for m in messages if m.order_id == order.pk and reader in (m.sender, m.recipient)]
    if not readable:
        return {}
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    try:
        texts = {m.pk: vault.open_under(record.key_id, record.wrapped_key, m.sealed, aad=_aad(order.pk),
                                        label=_chat_label(m.sender, m.recipient)).decode() for m in readable}
    except vault.ShreddedError:
        return {}
    audit_record(actor=actor, action="chat.read", order=order,
                 data={"reader": reader, "messages": [m.pk for m in readable]})
    return texts


def _chat_label(sender: str, recipient: str) -> bytes:
    return f"chat:{sender}>{recipient}".encode()


# --- The rider's line to dispatch and reports of customers (models/safety.py) ------------------------------
def _line_aad(rider_id: int) -> bytes:
    return f"rider-line:{rider_id}".encode()


def line_key_new(*, rider_id: int) -> tuple[str, bytes]:
    """A fresh data key for a rider's line to dispatch, wrapped by the master key: (key id, wrapped key)."""
    sealed = vault.seal({}, aad=_line_aad(rider_id))
    return sealed.key_id, sealed.wrapped_key


def line_seal(*, line: RiderLine, sender: str, recipient: str, text: str) -> bytes:
    return vault.seal_under(line.key_id, line.wrapped_key, text.encode(), aad=_line_aad(line.rider_id),
                            label=_chat_label(sender, recipient))


def line_open(*, line: RiderLine, messages: list[ChatMessage], reader: str, actor=None) -> dict[int, str]:
    """`chat_open` for a rider's line: the caller has authorised `reader` on it. One audit event per read."""
    readable = [m for m in messages if m.line_id == line.pk and reader in (m.sender, m.recipient)]
    if not readable:
        return {}
    try:
        texts = {m.pk: vault.open_under(line.key_id, line.wrapped_key, m.sealed, aad=_line_aad(line.rider_id),
                                        label=_chat_label(m.sender, m.recipient)).decode() for m in readable}
    except vault.ShreddedError:
        return {}
    audit_record(actor=actor, action="chat.read", data={"reader": reader, "line": line.rider_id,
                                                        "messages": [m.pk for m in readable]})
    return texts


def customer_block_digest(*, order: Order, actor=None) -> str:
    """The keyed digest a rider's block of this order's customer is kept under: of the normalised number, in
    its own domain (never equal to the call-routing digest of the same number). Audited; the number stays here."""
    payload = vault_open(order=order, actor=actor, purpose="rider_block", action="block.customer_digest")
    return vault.digest("rider-block:" + vault.normalise_phone(payload["phone"]))


def report_note_seal(*, order: Order, rider_id: int, text: str) -> bytes:
    """A rider's note on a report, sealed under the order's data key: shredding the order erases it."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, text.encode(), aad=_aad(order.pk),
                            label=f"report:{rider_id}".encode())


# --- Messages to the customer (services/notify.py): party "notifier", purpose "customer_message" ------------
NOTIFIER_PARTY = "notifier"
MESSAGE_PURPOSE = "customer_message"


def message_seal(*, order: Order, label: str, text: str) -> bytes:
    """Seal a message's body (or the PIN, or a push subscription) under the order's data key: shredding the
    order makes it unreadable. `label` binds the blob to its use ("message:<kind>:<channel>", "pin", "push")."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, text.encode(), aad=_aad(order.pk),
                            label=f"notify:{label}".encode())


def message_open(*, order: Order, label: str, sealed: bytes | memoryview | None, actor=None,
                 data: dict | None = None) -> str | None:
    """A sealed message blob in plain, for the notifier's send or the demo outbox page. Audited
    ("message.read"); None when the order is shredded (nothing left the vault, nothing written)."""
    if sealed is None:
        return None
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    try:
        text = vault.open_under(record.key_id, record.wrapped_key, bytes(sealed), aad=_aad(order.pk),
                                label=f"notify:{label}".encode()).decode()
    except vault.ShreddedError:
        return None
    audit_record(actor=actor, action="message.read", order=order,
                 data={"party": NOTIFIER_PARTY if actor is None else "staff", "purpose": MESSAGE_PURPOSE,
                       "what": label.split(":", 1)[0], **(data or {})})
    return text


def message_phone_digest(phone: str) -> str:
    """The keyed digest a number's STOP is matched by, in its own domain (never equal to the call-routing or the
    block digest of the same number). The caller holds the number: no vault open."""
    return vault.digest("notify:" + vault.normalise_phone(phone))


def customer_phone_for_message(*, order: Order, message_id: int, allowed: bool) -> str | None:
    """The notifier's grant check: the customer's number for one queued message, only while `allowed` (the
    caller's check, in its transaction: the order's messages are not opted out, its consent covers the message,
    it is not shredded). Audited as "message.customer_number_used" with party and purpose; None otherwise."""
    if not allowed:
        return None
    try:
        payload = vault_open(order=order, purpose=MESSAGE_PURPOSE, action="message.customer_number_used",
                             data={"party": NOTIFIER_PARTY, "message": message_id})
    except vault.ShreddedError:
        return None
    return payload["phone"]


# --- Proof of delivery and the customer's feedback (models/pod.py) -----------------------------------------
def pod_photo_seal(*, order: Order, jpeg: bytes) -> bytes:
    """A delivery photo (already stripped of metadata, dispatch/photos.py), sealed under the order's data key."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, jpeg, aad=_aad(order.pk), label=b"pod-photo")


def pod_photo_open(*, order: Order, sealed: bytes, actor=None, party: str) -> bytes:
    """The photo's JPEG for a party the caller has authorised (`party`: "merchant" or "customer"), within the
    retention window only. Audited. ShreddedError once the order's data was erased or its retention is over."""
    if order.retention_due_at <= timezone.now():
        raise ShreddedError("past the retention window")
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    jpeg = vault.open_under(record.key_id, record.wrapped_key, sealed, aad=_aad(order.pk), label=b"pod-photo")
    audit_record(actor=actor, action="pod.photo_viewed", order=order, data={"party": party})
    return jpeg


def feedback_text_seal(*, order: Order, text: str) -> bytes:
    """The customer's free text on their feedback (it may name someone), sealed under the order's data key."""
    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    return vault.seal_under(record.key_id, record.wrapped_key, text.encode(), aad=_aad(order.pk), label=b"feedback")


def feedback_text_open(*, order: Order, sealed: bytes, actor=None) -> str | None:
    """The feedback's text for the order's merchant, with phone numbers and e-mail addresses masked
    (masking.mask_free_text). Audited; None once the order's data was erased."""
    from ..masking import mask_free_text

    record = SealedRecord.objects.only("key_id", "wrapped_key").get(order=order)
    try:
        text = vault.open_under(record.key_id, record.wrapped_key, sealed, aad=_aad(order.pk), label=b"feedback")
    except ShreddedError:
        return None
    audit_record(actor=actor, action="feedback.read", order=order, data={"party": "merchant"})
    return mask_free_text(text.decode())


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
    parts: dict[str, str] | None = None  # DOOR only: the same fields as `text`, labelled


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
    payload = vault_open(order=order, actor=user, purpose=purpose, action="address.read", data={"tier": Tier(tier).label})
    address = payload["address"]
    parts = [str(address.get(f) or "").strip() for f in _TIER_FIELDS[Tier(tier)][1:]]
    text = ", ".join(p for p in parts if p)
    labelled = dict(zip(_TIER_FIELDS[Tier.DOOR][1:], parts, strict=True)) if tier == Tier.DOOR else None
    return AddressView(Tier(tier).label, text, payload["lat"], payload["lng"], labelled)


def destination_point(*, order: Order, actor=None) -> tuple[float, float]:
    """For the geofence engine only: the destination, never returned to a client from here. Audited: callers
    cache it (services.delivery.rider_context) rather than open the vault per position report."""
    payload = vault_open(order=order, actor=actor, purpose="geofence", action="destination.read")
    return payload["lat"], payload["lng"]


def destination_points(*, orders: list[Order], actor=None) -> dict[int, tuple[float, float]]:
    """`destination_point` for many orders (a socket reconnect storm loads many riders' contexts at once):
    each order opened and audited as one by one ("destination.read", purpose geofence), the audit events
    appended in one go. A shredded order is left out, and nothing is written for it."""
    points, entries = {}, []
    for order in orders:
        record = getattr(order, "sealed", None)  # shredding deletes the record
        if record is None:
            continue
        try:
            payload = vault.open_payload(record.key_id, record.wrapped_key, record.ciphertext, aad=_aad(order.pk))
        except ShreddedError:
            continue
        points[order.pk] = (payload["lat"], payload["lng"])
        entries.append({"actor": actor, "action": "destination.read", "order": order, "data": {"purpose": "geofence"}})
    audit_record_many(entries)
    return points


def contact_reveal(*, order: Order, user, purpose: str, reason: str = "") -> dict[str, str]:
    """Plain name and phone, for a live CONTACT grant (break-glass). Audited."""
    if not live_grants().filter(order=order, principal=user, scope=GrantScope.CONTACT).exists():
        from ..errors import NotFound

        raise NotFound()
    payload = vault_open(order=order, actor=user, purpose=purpose, action="contact.read", data={"reason": reason})
    return {"name": payload["name"], "phone": payload["phone"]}


def customer_phone_for_rider(*, order: Order, user) -> str | None:
    """The customer's number for the rider who holds the order (a live delivery grant), only when the customer
    turned number protection off. Audited as contact.read for delivery; None otherwise."""
    if order.consent_number_protection or order.rider is None or order.rider.user_id != user.pk:
        return None
    if not live_grants().filter(order=order, principal=user, scope=GrantScope.ADDRESS,
                                purpose=GrantPurpose.DELIVERY).exists():
        return None
    payload = vault_open(order=order, actor=user, purpose=GrantPurpose.DELIVERY, action="contact.read",
                         data={"field": "phone"})
    return payload["phone"]


def customer_phone_for_call(*, order: Order, session_id: int) -> str:
    """The proxy needs the customer's number to connect a call. Audited; never returned to a party."""
    payload = vault_open(order=order, purpose="call_routing", action="call.customer_number_used",
                         data={"session": session_id})
    return payload["phone"]


def sensitive_item_names(*, order: Order, user, purpose: str) -> list[str]:
    payload = vault_open(order=order, actor=user, purpose=purpose, action="items.read")
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
    ChatMessage.objects.filter(order=order).delete()
    IdempotencyKey.objects.filter(order=order).delete()  # its sealed answer can no longer be opened
    Quote.objects.filter(order=order).update(point_digest="")  # a digest still confirms a guessed door
    # Unreadable already (the key is gone); the ciphertexts go too.
    DeliveryProof.objects.filter(order=order).update(photo_sealed=None)
    CustomerFeedback.objects.filter(order=order).update(text_sealed=None)
    audit_record(action="order.shredded", order=order, data=erased)


@dataclass(frozen=True)
class KeyCensus:
    current: int  # sealed under the current master key
    stale: int  # sealed under an older key: they need VAULT_OLD_MASTER_KEYS until rewrapped
    shredded: int


def vault_key_census() -> KeyCensus:
    records = SealedRecord.objects.all()
    live = records.filter(wrapped_key__isnull=False)
    current = live.filter(key_id=vault.current_key_id()).count()
    return KeyCensus(current, live.count() - current, records.filter(wrapped_key__isnull=True).count())


@dataclass(frozen=True)
class RewrapBatch:
    rewrapped: int
    failed: list[tuple[int, str]]  # (order id, why): a record that will not unwrap is reported, never dropped
    last_pk: int | None  # resume after this record; None when nothing was left past the cursor


@transaction.atomic
def vault_rewrap_batch(*, after_pk: int = 0, batch_size: int = 500) -> RewrapBatch:
    """Re-wrap up to `batch_size` stored data keys past `after_pk` that are not under the current master key.

    One transaction a batch, and a row's key id and wrapped key change in one UPDATE: a crash loses at most
    the batch in flight, still under its old key, which the next run picks up. Rows already under the current
    key and shredded rows are never selected, so running again is harmless. The payload is not decrypted."""
    current = vault.current_key_id()
    rows = list(
        SealedRecord.objects.select_for_update()
        .filter(pk__gt=after_pk, wrapped_key__isnull=False).exclude(key_id=current)
        .order_by("pk").only("pk", "order_id", "key_id", "wrapped_key")[:batch_size]
    )
    failed: list[tuple[int, str]] = []
    done = 0
    for row in rows:
        if row.wrapped_key is None:  # shredded since the query: nothing left to rewrap
            continue
        try:
            kid, wrapped = vault.rewrap(row.key_id, bytes(row.wrapped_key), aad=_aad(row.order_id))
        except vault.VaultError as exc:
            failed.append((row.order_id, str(exc)))
            continue
        done += SealedRecord.objects.filter(pk=row.pk, key_id=row.key_id).update(key_id=kid, wrapped_key=wrapped)
    if rows:
        audit_record(action="vault.rewrapped", data={"key_id": current, "records": done,
                                                     "failed": [order_id for order_id, _ in failed]})
    return RewrapBatch(done, failed, rows[-1].pk if rows else None)


def line_keys_rewrap() -> tuple[int, list[tuple[int, str]]]:
    """`vault_rewrap_batch` for the riders' line keys (one a rider: few rows, one pass): (rewrapped, failed)."""
    current = vault.current_key_id()
    done, failed = 0, []
    with transaction.atomic():
        for line in RiderLine.objects.select_for_update().filter(wrapped_key__isnull=False).exclude(key_id=current):
            if line.wrapped_key is None:
                continue
            try:
                kid, wrapped = vault.rewrap(line.key_id, bytes(line.wrapped_key), aad=_line_aad(line.rider_id))
            except vault.VaultError as exc:
                failed.append((line.rider_id, str(exc)))
                continue
            done += RiderLine.objects.filter(pk=line.pk, key_id=line.key_id).update(key_id=kid, wrapped_key=wrapped)
        if done or failed:
            audit_record(action="vault.rewrapped", data={"key_id": current, "rider_lines": done,
                                                         "failed_lines": [rider for rider, _ in failed]})
    return done, failed


BREAK_GLASS_TTL = timedelta(minutes=15)


def order_break_glass(*, order: Order, user, reason: str) -> tuple[dict[str, str], datetime]:
    """An emergency reveal of contact data: a reason, a daily quota, a 15-minute grant, all audited."""
    from ..errors import RateLimited

    with transaction.atomic():
        since = timezone.now() - timedelta(days=1)
        used = AuditEvent.objects.filter(actor=user, action="breakglass.used", at__gte=since).count()
        if used >= settings.BREAK_GLASS_QUOTA_PER_DAY:
            raise RateLimited(_("Break-glass quota reached for today. Ask a supervisor."), code="quota_exceeded")
        expires = timezone.now() + BREAK_GLASS_TTL
        grant_create(order=order, user=user, scope=GrantScope.CONTACT, purpose=GrantPurpose.EMERGENCY,
                     expires_at=expires, reason=reason)
        audit_record(actor=user, action="breakglass.used", order=order, data={"reason": reason[:300]})
    return contact_reveal(order=order, user=user, purpose=GrantPurpose.EMERGENCY, reason=reason), expires

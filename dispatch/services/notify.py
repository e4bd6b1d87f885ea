"""Messages to the customer: order received (with the tracking link), rider nearby, delivered, failed.

How a message travels (docs/notifications.md):
- It is composed in the transaction of the change it reports, in the customer's language, and its body is sealed
  under the order's data key (privacy.message_seal) before the row is written: the tracking link and the PIN are
  bearer secrets, and the link exists only in `order_create`'s transaction. No body is ever in task arguments,
  a log line or a column in plain.
- On commit a Celery task gets the message's id; `message_send` locks the row, checks again (the order's opt-out,
  a STOP from the number, marketing consent, shredding) and only then opens the body and, through the privacy
  service's check for party "notifier" and purpose "customer_message", the number (both audited).
- Bodies never hold the customer's name or address. Every one ends with the privacy notice's link.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import (
    CustomerMessage,
    MessageChannel,
    MessageKind,
    MessageOptOut,
    MessagePrefs,
    MessageState,
    Order,
    PushSubscription,
    SealedRecord,
    Store,
)
from .audit import audit_record
from .notify_providers import ProviderError, push_send, sms_send
from .privacy import customer_phone_for_message, message_open, message_phone_digest, message_seal

log = logging.getLogger(__name__)

LANGUAGES = ("en", "zh-hans")


class MessageRetry(Exception):
    """A provider's passing failure: the task tries again with a short backoff."""


def store_requires_pin(store: Store) -> bool:
    """Whether this store's deliveries need the customer's PIN, so the messages carry it: as its proof-of-delivery
    policy says (services/pod.py POLICIES: "pin", "pin_photo" and "id_check" ask for it; "photo" and
    "leave_at_door" do not). It is the only place that decides."""
    from .pod import POLICIES

    policy = getattr(store, "pod_policy", "pin")
    return POLICIES.get(policy, POLICIES["pin"])[0]


def language_pick(requested: str | None, store: Store) -> str:
    """The order's language if it names one we speak, else the store's default, else English."""
    for choice in (requested, store.language):
        code = (choice or "").strip().lower().replace("_", "-")
        if code.startswith("zh"):
            return "zh-hans"
        if code.startswith("en"):
            return "en"
    return "en"


def _site(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def _compose(*, kind: str, order: Order, language: str, link: str = "", pin: str = "", sms: bool = True) -> str:
    """A message's text in `language`. The store's name and the pickup number only: never the customer's name or
    address. `link` and `pin` are given only where they belong (the tracking link once; the PIN where the store
    requires one)."""
    store, code = order.store.name, order.pickup_code
    with translation.override(language):
        if kind == MessageKind.RECEIVED:
            parts = [_("%(store)s has your order %(code)s.") % {"store": store, "code": code}]
            if link:
                parts.append(_("Follow it here: %(link)s") % {"link": link})
        elif kind == MessageKind.NEARBY:
            parts = [_("%(store)s: your rider is almost at your door with order %(code)s.") % {"store": store, "code": code}]
        elif kind == MessageKind.DELIVERED:
            parts = [_("%(store)s: your order %(code)s was delivered. Thank you.") % {"store": store, "code": code}]
        elif kind == MessageKind.FAILED:
            parts = [_("%(store)s: we could not deliver your order %(code)s.") % {"store": store, "code": code}]
            if order.store.fail_policy == "retry":
                parts.append(_("Next steps: the store will try again soon, or take it back. Keep your tracking "
                               "link open to see what happens, or call the store."))
            else:
                parts.append(_("Next steps: your order goes back to the store. The store will contact you about "
                               "a new delivery or a refund."))
        else:
            raise ValueError(f"no template for {kind}")
        if pin:
            parts.append(_("Your delivery PIN: %(pin)s. Give it to your rider only when your order is in front of "
                           "you.") % {"pin": pin})
        if sms:
            parts.append(_("Reply STOP to stop these messages."))
        parts.append(_("Privacy: %(url)s") % {"url": _site("/privacy/")})
    return " ".join(parts)


def _enqueue_on_commit(message_ids: list[int]) -> None:
    def send() -> None:
        for message_id in message_ids:
            try:
                current_app.send_task("dispatch.tasks.message_send_task", args=[message_id])
            except Exception as exc:  # the broker being down must not fail the change; the sweep sends it
                log.warning("message %s not queued (%s); the sweep will send it", message_id, type(exc).__name__)

    if message_ids:
        transaction.on_commit(send, robust=True)


def _message_add(*, order: Order, kind: str, channel: str, language: str, body: str,
                 marketing: bool = False) -> CustomerMessage | None:
    """A queued message, its body sealed, unless this order already has one of this kind on this channel."""
    if CustomerMessage.objects.filter(order=order, kind=kind, channel=channel).exists():
        return None
    message = CustomerMessage.objects.create(
        order=order, kind=kind, channel=channel, marketing=marketing, language=language,
        provider=settings.NOTIFY_PROVIDER, sealed_body=message_seal(order=order, label=f"message:{kind}:{channel}", text=body),
    )
    return message


def messages_on_order_created(*, order: Order, token: str, phone: str, language: str | None, pin: str) -> None:
    """In `order_create`'s transaction, the only moment the link and the PIN exist: the customer's preferences,
    the PIN sealed for the "nearby" message where the store requires one, and the "received" message."""
    lang = language_pick(language, order.store)
    requires_pin = store_requires_pin(order.store)
    MessagePrefs.objects.create(
        order=order, language=lang, phone_digest=message_phone_digest(phone),
        sealed_pin=message_seal(order=order, label="pin", text=pin) if requires_pin else None,
    )
    link = _site(reverse("track-page", args=[token]))
    body = _compose(kind=MessageKind.RECEIVED, order=order, language=lang, link=link, pin=pin if requires_pin else "")
    message = _message_add(order=order, kind=MessageKind.RECEIVED, channel=MessageChannel.SMS, language=lang, body=body)
    if message is not None:
        _enqueue_on_commit([message.pk])


def message_enqueue(*, order: Order, kind: str, marketing: bool = False) -> list[CustomerMessage]:
    """A message for `order`, in the caller's transaction, by SMS and by Web Push where the page opted in. Sent
    on commit. An order made before messages existed (no preferences row) gets none."""
    prefs = MessagePrefs.objects.filter(order=order).first()
    if prefs is None:
        return []
    pin = ""
    if kind == MessageKind.NEARBY and store_requires_pin(order.store) and prefs.sealed_pin is not None:
        pin = message_open(order=order, label="pin", sealed=prefs.sealed_pin, data={"kind": kind}) or ""
    added = []
    for channel in (MessageChannel.SMS, MessageChannel.PUSH):
        if channel == MessageChannel.PUSH and not _live_subscriptions(order).exists():
            continue
        body = _compose(kind=kind, order=order, language=prefs.language, pin=pin, sms=channel == MessageChannel.SMS)
        message = _message_add(order=order, kind=kind, channel=channel, language=prefs.language, body=body,
                               marketing=marketing)
        if message is not None:
            added.append(message)
    if kind in (MessageKind.DELIVERED, MessageKind.FAILED) and prefs.sealed_pin is not None:
        prefs.sealed_pin = None  # the door is behind us: the PIN is not kept for any later message
        prefs.save(update_fields=["sealed_pin"])
    _enqueue_on_commit([m.pk for m in added])
    return added


def _live_subscriptions(order: Order):
    return PushSubscription.objects.filter(order=order, ended_at__isnull=True)


def _blocked(message: CustomerMessage, prefs: MessagePrefs | None) -> str:
    """Why `message` may not go out now ("" when it may). Checked in the sending transaction."""
    if settings.NOTIFY_PROVIDER == "off":
        return "no_provider"
    if SealedRecord.objects.filter(order_id=message.order_id).filter(
            Q(shredded_at__isnull=False) | Q(wrapped_key__isnull=True)).exists():
        return "shredded"
    if prefs is None:
        return "no_prefs"
    if prefs.opted_out_at is not None or MessageOptOut.objects.filter(phone_digest=prefs.phone_digest).exists():
        return "opted_out"
    if message.marketing and not message.order.consent_marketing:
        return "no_consent"
    return ""


def _order_lock(order_id: int | None) -> None:
    """The order's row first (FOR NO KEY UPDATE), then this module's rows, then the audit head: the order every
    request path takes (it holds the order, then may touch MessagePrefs, then audits). A notifier that locked a
    message or the preferences first and the order after could deadlock with a delivery of the same order."""
    if order_id is not None:
        list(Order.objects.select_for_update(no_key=True).filter(pk=order_id).values_list("pk", flat=True))


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one queued message; its state after. The row stays locked through the provider's call (10 s at
    most), so a task and the sweep can never both send it. A passing failure raises MessageRetry (the task
    retries) until NOTIFY_MAX_ATTEMPTS, then the message is marked failed."""
    retry = None
    with transaction.atomic():
        _order_lock(CustomerMessage.objects.filter(pk=message_id).values_list("order_id", flat=True).first())
        message = (CustomerMessage.objects.select_for_update(of=("self",)).select_related("order", "order__store")
                   .filter(pk=message_id).first())
        if message is None or message.state != MessageState.QUEUED:
            return message.state if message else "missing"
        now = now or timezone.now()
        order = message.order
        prefs = MessagePrefs.objects.select_for_update().filter(order=order).first()
        reason = _blocked(message, prefs)
        body: str | None = None
        if not reason:
            body = message_open(order=order, label=f"message:{message.kind}:{message.channel}",
                                sealed=message.sealed_body, data={"message": message.pk})
            if body is None:
                reason = "shredded"
        if reason or body is None:
            message.state, message.reason, message.state_at = MessageState.SUPPRESSED, reason or "shredded", now
            _forget_body(message)
            message.save(update_fields=["state", "reason", "state_at", "sealed_body"])
            log.info("message %s suppressed: %s", message.pk, reason)
            return message.state
        message.attempts += 1
        try:
            if message.channel == MessageChannel.SMS:
                phone = customer_phone_for_message(order=order, message_id=message.pk, allowed=True)
                if phone is None:
                    raise ProviderError("shredded", retry=False)
                sent = sms_send(provider=message.provider, to=_e164(phone), body=body,
                                status_callback=settings.TWILIO_SMS_STATUS_URL or _site(reverse("twilio-sms-status"))).ref
            else:
                sent = _push_all(message=message, body=body, now=now)
        except ProviderError as exc:
            message.reason = exc.code
            if exc.retry and message.attempts < settings.NOTIFY_MAX_ATTEMPTS:
                message.save(update_fields=["attempts", "reason"])
                retry = exc.code
            else:
                message.state, message.state_at = MessageState.FAILED, now
                _forget_body(message)
                message.save(update_fields=["attempts", "reason", "state", "state_at", "sealed_body"])
                log.warning("message %s failed: %s after %s attempts", message.pk, exc.code, message.attempts)
                return message.state
        else:
            message.state, message.provider_ref, message.sent_at, message.state_at = MessageState.SENT, sent, now, now
            message.reason = ""
            _forget_body(message)
            message.save(update_fields=["attempts", "state", "provider_ref", "sent_at", "state_at", "reason",
                                        "sealed_body"])
            audit_record(action="message.sent", order=order,
                         data={"message": message.pk, "kind": message.kind, "channel": message.channel,
                               "provider": message.provider})
            log.info("message %s sent kind=%s channel=%s", message.pk, message.kind, message.channel)
            return message.state
    log.info("message %s will retry: %s (attempt %s)", message_id, retry, message.attempts)
    raise MessageRetry(retry)


def _forget_body(message: CustomerMessage) -> None:
    """Once a message is done with, its sealed body goes: the link and the PIN it may hold are not kept for
    longer than the send. The sandbox keeps it, for the demo's outbox page (demo mode only)."""
    if message.provider != "sandbox":
        message.sealed_body = None


def _e164(phone: str) -> str:
    """The number as the carrier wants it: "+44 7700 900123" -> "+447700900123"."""
    return ("+" if phone.strip().startswith("+") else "") + "".join(ch for ch in phone if ch.isdigit())


def _push_all(*, message: CustomerMessage, body: str, now: datetime) -> str:
    """The push to every live subscription of the order; the ref of the first that took it. A subscription the
    push service calls gone is ended. No page opted in any more: suppressed as "no_subscription"."""
    order = message.order
    refs, errors = [], []
    for sub in _live_subscriptions(order).select_for_update():
        raw = message_open(order=order, label="push", sealed=sub.sealed, data={"subscription": sub.pk})
        if raw is None:
            continue
        try:
            refs.append(push_send(provider=message.provider, subscription=json.loads(raw),
                                  payload={"title": order.store.name, "body": body, "tag": f"order-{order.pk}"}).ref)
        except ProviderError as exc:
            if exc.gone:
                sub.ended_at = now
                sub.save(update_fields=["ended_at"])
            errors.append(exc)
    if refs:
        return refs[0]
    if errors:
        raise next((e for e in errors if e.retry), errors[0])
    raise ProviderError("no_subscription", retry=False)


# --- The provider's reports, and the customer's choices ----------------------------------------------------
_TWILIO_STATES = {
    "accepted": MessageState.SENT, "queued": MessageState.SENT, "sending": MessageState.SENT,
    "sent": MessageState.SENT, "delivered": MessageState.DELIVERED, "read": MessageState.DELIVERED,
    "undelivered": MessageState.FAILED, "failed": MessageState.FAILED, "canceled": MessageState.FAILED,
}


@transaction.atomic
def message_status_record(*, ref: str, status: str, error_code: str = "", now: datetime | None = None) -> bool:
    """Twilio's status callback for the message it knows as `ref`. A final state (delivered, failed) is never
    overwritten by a late "sent". False for an unknown message or status."""
    state = _TWILIO_STATES.get(status.lower())
    _order_lock(CustomerMessage.objects.filter(provider_ref=ref).values_list("order_id", flat=True).first())
    message = CustomerMessage.objects.select_for_update().filter(provider_ref=ref).first()
    if state is None or message is None:
        return False
    final = (MessageState.DELIVERED, MessageState.FAILED)
    if message.state in final and state == MessageState.SENT:
        return True
    message.state, message.state_at = state, now or timezone.now()
    message.reason = f"twilio_{error_code}"[:32] if state == MessageState.FAILED and error_code.isdigit() else message.reason
    message.save(update_fields=["state", "state_at", "reason"])
    return True


STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "退订", "取消"}
START_WORDS = {"start", "unstop", "yes"}


@transaction.atomic
def message_inbound(*, phone: str, text: str, now: datetime | None = None) -> str:
    """A reply from a customer's number: STOP (and Twilio's other opt-out words) stops every message to it,
    START lifts that. Anything else is ignored: this is no inbox. Returns "stopped", "started" or ""."""
    word = text.strip().lower()
    digest = message_phone_digest(phone)
    if word in STOP_WORDS:
        MessageOptOut.objects.get_or_create(phone_digest=digest, defaults={"at": now or timezone.now()})
        _suppress_queued(Q(order__message_prefs__phone_digest=digest), reason="opted_out", now=now)
        audit_record(action="messages.opted_out", data={"via": "sms"})
        return "stopped"
    if word in START_WORDS:
        if MessageOptOut.objects.filter(phone_digest=digest).delete()[0]:
            audit_record(action="messages.opted_in", data={"via": "sms"})
        return "started"
    return ""


@transaction.atomic
def messages_opt_out(*, order: Order, now: datetime | None = None) -> MessagePrefs | None:
    """"Stop messages" from the tracking page: nothing more about this order, by SMS or push."""
    now = now or timezone.now()
    _order_lock(order.pk)
    prefs = MessagePrefs.objects.select_for_update().filter(order=order).first()
    if prefs is None:
        return None
    if prefs.opted_out_at is None:
        prefs.opted_out_at = now
        prefs.save(update_fields=["opted_out_at"])
        _live_subscriptions(order).update(ended_at=now)
        _suppress_queued(Q(order=order), reason="opted_out", now=now)
        audit_record(action="messages.opted_out", order=order, data={"via": "tracking_page"})
    return prefs


def _suppress_queued(where: Q, *, reason: str, now: datetime | None) -> int:
    return CustomerMessage.objects.filter(where, state=MessageState.QUEUED).update(
        state=MessageState.SUPPRESSED, reason=reason, state_at=now or timezone.now())


@transaction.atomic
def push_subscribe(*, order: Order, subscription: dict) -> PushSubscription | None:
    """The tracking page's Web Push subscription, sealed under the order's key. None after the opt-out: a page
    cannot undo it by subscribing again."""
    _order_lock(order.pk)
    prefs = MessagePrefs.objects.select_for_update().filter(order=order).first()
    if prefs is None or prefs.opted_out_at is not None:
        return None
    sub = PushSubscription.objects.create(order=order, sealed=message_seal(
        order=order, label="push", text=json.dumps(subscription, separators=(",", ":"), sort_keys=True)))
    audit_record(action="messages.push_subscribed", order=order, data={"subscription": sub.pk})
    return sub


def messages_sweep(*, now: datetime | None = None) -> int:
    """Queued messages whose task was lost (a broker outage, a worker killed): queued again. Only the last day's:
    an older one is stale news, marked failed."""
    now = now or timezone.now()
    stale = CustomerMessage.objects.filter(state=MessageState.QUEUED, created_at__lt=now - timedelta(days=1))
    stale.update(state=MessageState.FAILED, reason="stale", state_at=now)
    due = list(CustomerMessage.objects.filter(state=MessageState.QUEUED, created_at__lt=now - timedelta(seconds=60))
               .values_list("pk", flat=True)[:500])
    for message_id in due:
        current_app.send_task("dispatch.tasks.message_send_task", args=[message_id])
    return len(due)

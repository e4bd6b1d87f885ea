"""Reads of the customer's messages: the tracking page's choices, and the sandbox outbox (demo only)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from ..models import CustomerMessage, MessagePrefs, Order, PushSubscription
from ..services.privacy import message_open


@dataclass(frozen=True)
class MessagesState:
    opted_out: bool
    push_subscribed: bool
    push_key: str  # the VAPID public key the page subscribes with; "" when Web Push is not configured


def messages_state(*, order: Order) -> MessagesState:
    prefs = MessagePrefs.objects.filter(order=order).only("opted_out_at").first()
    push_key = settings.WEBPUSH_VAPID_PUBLIC_KEY
    return MessagesState(
        opted_out=prefs is None or prefs.opted_out_at is not None,
        push_subscribed=PushSubscription.objects.filter(order=order, ended_at__isnull=True).exists(),
        push_key=push_key,
    )


@dataclass(frozen=True)
class OutboxRow:
    message: CustomerMessage
    body: str | None  # None once the order is shredded


def outbox_recent(*, user, limit: int = 100) -> list[OutboxRow]:
    """The sandbox provider's outbox, newest first, bodies opened for `user` (each open audited). The view
    serves it in demo mode only, to dispatchers and staff."""
    messages = list(CustomerMessage.objects.select_related("order", "order__store").order_by("-pk")[:limit])
    return [OutboxRow(m, message_open(order=m.order, label=f"message:{m.kind}:{m.channel}", sealed=m.sealed_body,
                                      actor=user, data={"message": m.pk, "page": "outbox"})) for m in messages]

"""A party's own chat messages on an order, opened for them while they may still reach it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotFound
from ..models import ChatMessage
from ..services.privacy import chat_open
from .access import access_party_order


@dataclass(frozen=True)
class ChatLine:
    message: ChatMessage
    text: str | None  # as the privacy service opened it for the reader; None if it could not


def chat_history(*, party, order_id) -> list[ChatLine]:
    """This party's messages on the order, opened (audited) for them."""
    order = access_party_order(party=party, order_id=order_id)
    messages = [m for m in ChatMessage.objects.filter(order=order).order_by("pk")[:500]
                if party.role in (m.sender, m.recipient)]
    texts = chat_open(order=order, messages=messages, reader=party.role, actor=party.user)
    return [ChatLine(m, texts.get(m.pk)) for m in messages]


def chat_texts(*, party, order_id, ids: list[int]) -> dict[int, str]:
    """Texts of these messages for `party`, only while it may still reach the order; {} otherwise."""
    try:
        order = access_party_order(party=party, order_id=order_id)
    except NotFound:
        return {}
    messages = list(ChatMessage.objects.filter(order=order, pk__in=ids))
    return chat_open(order=order, messages=messages, reader=party.role, actor=party.user)

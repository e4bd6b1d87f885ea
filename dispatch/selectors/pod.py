"""Reads of proof of delivery and feedback (models/pod.py). The photo and the feedback's text leave the vault
only through services/privacy.py (audited); the caller has authorised the party on the order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..errors import NotFound
from ..models import CustomerFeedback, DeliveryProof, Order
from ..services.privacy import ShreddedError, feedback_text_open, pod_photo_open


@dataclass(frozen=True)
class PodView:
    policy: str
    pin_checked: bool
    photo: bool
    photo_at: datetime | None
    id_document: str
    id_checked_at: datetime | None
    delivered_at: datetime | None
    photo_available_until: datetime | None


def _proof(order: Order) -> DeliveryProof | None:
    return DeliveryProof.objects.filter(order=order).first()


def order_proof(order: Order) -> PodView | None:
    """How the order was proved delivered, or None before delivery (a photo taken but no delivery yet is None)."""
    proof = _proof(order)
    if proof is None or proof.delivered_at is None:
        return None
    # Shredding erases the sealed photo; past retention it is refused at read time even before the sweep ran.
    photo = proof.photo_sealed is not None and order.retention_due_at > timezone.now()
    return PodView(proof.policy, proof.pin_checked, photo, proof.photo_at, proof.id_document,
                   proof.id_checked_at, proof.delivered_at, order.retention_due_at if photo else None)


def pod_photo(*, order: Order, actor=None, party: str) -> bytes:
    """The delivery photo's JPEG for an authorised party, after delivery and within retention; else NotFound."""
    proof = _proof(order)
    if proof is None or proof.delivered_at is None or proof.photo_sealed is None:
        raise NotFound()
    try:
        return pod_photo_open(order=order, sealed=bytes(proof.photo_sealed), actor=actor, party=party)
    except ShreddedError as exc:
        raise NotFound() from exc


@dataclass(frozen=True)
class FeedbackView:
    rating: int | None
    issue: str
    text: str | None
    created_at: datetime


def feedback_for_merchant(*, order: Order, actor) -> FeedbackView | None:
    """The customer's feedback with its text masked (reading it is audited), or None if none was sent."""
    feedback = CustomerFeedback.objects.filter(order=order).first()
    if feedback is None:
        return None
    text = None
    if feedback.text_sealed is not None:
        text = feedback_text_open(order=order, sealed=bytes(feedback.text_sealed), actor=actor)
    return FeedbackView(feedback.rating, feedback.issue, text, feedback.created_at)


def feedback_sent(order: Order) -> CustomerFeedback | None:
    return CustomerFeedback.objects.filter(order=order).first()


def merchant_order_detail(*, order: Order, actor) -> Order:
    """The order for `serializers.MerchantOrderOut`: its proof of delivery and feedback attached (reading the
    feedback's text is audited)."""
    order.pod_summary = order_proof(order)  # type: ignore[attr-defined]
    order.feedback_view = feedback_for_merchant(order=order, actor=actor)  # type: ignore[attr-defined]
    return order

"""Proof of delivery by store policy, and the customer's feedback once delivered (docs/proof-of-delivery.md).

`Store.pod_policy` names what a rider must show at the door (POLICIES below). The delivery itself is
`services.delivery.order_deliver`, which asks `pod_input_refusal` (400, before
any state check) and `pod_state_refusal` (409) what is missing before it checks the PIN."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError, Invalid
from ..models import CustomerFeedback, DeliveryProof, FeedbackIssue, Order, OrderStatus, Rider, Store
from ..photos import PhotoError, photo_clean
from .audit import audit_record
from .privacy import feedback_text_seal, pod_photo_seal


@dataclass(frozen=True)
class PodRequirements:
    policy: str
    pin: bool
    photo: bool
    id_check: bool


# What each policy asks of the rider at the door.
POLICIES: dict[str, tuple[bool, bool, bool]] = {  # policy: (pin, photo, id_check)
    "pin": (True, False, False),
    "photo": (False, True, False),  # the customer is there but has no PIN to give: the photo is the proof
    "pin_photo": (True, True, False),
    "id_check": (True, False, True),  # the PIN, and the rider saw a document (age-restricted goods, pharmacy)
    "leave_at_door": (False, True, False),  # nobody answers by arrangement: a photo of the bag at the door
}


@transaction.atomic
def store_pod_policy_set(*, store_id: int, policy: str) -> Store:
    """Change a store's policy (applies to deliveries from now on; what proved past ones stays recorded). Audited."""
    if policy not in POLICIES:
        raise Invalid(_("Unknown proof-of-delivery policy."), code="invalid")
    store = Store.objects.select_for_update().filter(pk=store_id).first()
    if store is None:
        raise LookupError(store_id)
    before, store.pod_policy = store.pod_policy, policy
    store.save(update_fields=["pod_policy"])
    audit_record(action="store.pod_policy_set", data={"store": store.pk, "from": before, "to": policy})
    return store


def pod_requirements(order: Order) -> PodRequirements:
    policy = order.store.pod_policy if order.store.pod_policy in POLICIES else "pin"
    pin, photo, id_check = POLICIES[policy]
    return PodRequirements(policy, pin, photo, id_check)


def pod_input_refusal(*, order: Order, pin: str | None, id_checked: bool, id_document: str) -> Invalid | None:
    """What the deliver request lacks for the store's policy (400, before any state check, as bad input is), or
    None. The PIN's value is checked by the caller, with its lockout."""
    need = pod_requirements(order)
    if need.id_check and not (id_checked and id_document):
        return Invalid(_("Check the customer's ID and say which document you saw."), code="id_check_required")
    if need.pin and not pin:
        return Invalid(_("Enter the customer's delivery PIN."), code="pin_required")
    return None


def pod_state_refusal(*, order: Order) -> DomainError | None:
    """409 `photo_required` while a photo policy has no photo uploaded; else None. Under the order's lock."""
    if pod_requirements(order).photo and not DeliveryProof.objects.filter(order=order,
                                                                          photo_sealed__isnull=False).exists():
        return DomainError(_("Take a photo of the delivery first."), code="photo_required")
    return None


def pod_record(*, order: Order, rider: Rider, pin_checked: bool, id_document: str) -> DeliveryProof:
    """At delivery, inside its transaction: what proved it (the policy, whether a PIN matched, the document kind)."""
    now = timezone.now()
    need = pod_requirements(order)
    proof, _created = DeliveryProof.objects.get_or_create(order=order, defaults={"rider": rider})
    proof.rider = rider
    proof.policy = need.policy
    proof.pin_checked = pin_checked
    proof.id_document = id_document if need.id_check else ""
    proof.id_checked_at = now if need.id_check else None
    proof.delivered_at = now
    proof.save()
    return proof


def pod_photo_upload(*, rider: Rider, order_id: int, raw: bytes) -> DeliveryProof:
    """The rider's photo of the delivery: cleaned (outside the transaction: it is CPU work), then sealed under the
    order's data key. A new photo replaces the last one until the order is delivered."""
    try:
        clean = photo_clean(raw)
    except PhotoError as exc:
        message = (_("The photo is too large (at most 10 MB).") if exc.code == "photo_too_large"
                   else _("That file is not a photo we can read."))
        raise Invalid(message, code=exc.code) from exc
    return _pod_photo_store(rider=rider, order_id=order_id, jpeg=clean.jpeg, width=clean.width, height=clean.height)


@transaction.atomic
def _pod_photo_store(*, rider: Rider, order_id: int, jpeg: bytes, width: int, height: int) -> DeliveryProof:
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order_id, rider=rider)
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("This order is already delivered."), code="already_delivered")
    if order.status != OrderStatus.PICKED_UP:
        raise DomainError(_("Pick the order up at the store before delivering it."), code="not_picked_up")
    if not pod_requirements(order).photo:
        raise DomainError(_("This store does not ask for a delivery photo."), code="photo_not_needed")
    proof, _created = DeliveryProof.objects.get_or_create(order=order, defaults={"rider": rider})
    proof.photo_sealed = pod_photo_seal(order=order, jpeg=jpeg)
    proof.photo_width, proof.photo_height, proof.photo_bytes = width, height, len(jpeg)
    proof.photo_at = timezone.now()
    proof.rider = rider
    proof.save()
    audit_record(actor=rider.user, action="pod.photo_taken", order=order,
                 data={"width": width, "height": height, "bytes": len(jpeg)})
    return proof


@transaction.atomic
def feedback_submit(*, order: Order, rating: int | None, issue: str, text: str) -> CustomerFeedback:
    """The customer's feedback on a delivered order, once (409 `feedback_exists` after). The text is sealed."""
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
    if order.status != OrderStatus.DELIVERED:
        raise DomainError(_("Feedback opens once the order is delivered."), code="not_delivered")
    if CustomerFeedback.objects.filter(order=order).exists():
        raise DomainError(_("You have already sent feedback on this order. Thank you."), code="feedback_exists")
    if text and not issue:
        issue = FeedbackIssue.OTHER
    if rating is None and not issue:
        raise Invalid(_("Give a rating or choose an issue."), code="feedback_empty")
    feedback = CustomerFeedback.objects.create(
        order=order, rating=rating, issue=issue, created_at=timezone.now(),
        text_sealed=feedback_text_seal(order=order, text=text) if text else None)
    # Codes only in the audit log and the alert: the text stays sealed.
    audit_record(action="feedback.received", order=order, data={"rating": rating, "issue": issue})
    if issue == FeedbackIssue.RIDER_CONDUCT and order.rider_id:
        from .alerts import alert_raise

        alert_raise(kind="rate", key=f"conduct:order:{order.pk}", order=order, rider=order.rider,
                    detail={"what": "rider_conduct", "rating": rating})
    return feedback

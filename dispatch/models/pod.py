"""Proof of delivery and the customer's feedback.

No plain customer data here: the photo and the feedback's free text are sealed under the order's own data key
(services/privacy.py), so shredding the order makes both unreadable. An ID check records only that it was done
and the kind of document, never a number or an image."""

from django.db import models

from .accounts import Rider
from .orders import Order


class IdDocument(models.TextChoices):
    ID_CARD = "id_card"
    PASSPORT = "passport"
    DRIVER_LICENCE = "driver_licence"
    RESIDENCE_PERMIT = "residence_permit"
    OTHER = "other"


class DeliveryProof(models.Model):
    """What closed a delivery: the policy in force, the photo (sealed JPEG, metadata stripped) and the ID check."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="proof")
    rider = models.ForeignKey(Rider, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    policy = models.CharField(max_length=16, blank=True, default="")  # set at delivery
    photo_sealed = models.BinaryField(null=True, blank=True)
    photo_width = models.PositiveIntegerField(null=True, blank=True)
    photo_height = models.PositiveIntegerField(null=True, blank=True)
    photo_bytes = models.PositiveIntegerField(null=True, blank=True)
    photo_at = models.DateTimeField(null=True, blank=True)
    pin_checked = models.BooleanField(default=False)
    id_document = models.CharField(max_length=20, blank=True, default="", choices=IdDocument.choices)
    id_checked_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)


class FeedbackIssue(models.TextChoices):
    MISSING_ITEM = "missing_item"
    DAMAGED = "damaged"
    LATE = "late"
    RIDER_CONDUCT = "rider_conduct"
    OTHER = "other"


FEEDBACK_TEXT_MAX = 500  # characters of free text on a feedback


class CustomerFeedback(models.Model):
    """The customer's rating and issue report on a delivered order, once. The text is sealed."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="feedback")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    issue = models.CharField(max_length=16, blank=True, default="", choices=FeedbackIssue.choices)
    text_sealed = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()

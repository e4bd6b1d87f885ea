"""The rider's safety: a line to dispatch that needs no order, and reports and blocks of abusive customers.

No customer data here: a block holds a keyed digest of the customer (computed inside the privacy service,
domain-separated from every other digest), never the number; a report's note is sealed under the order's own
data key, so shredding the order erases it."""

from django.db import models

from .accounts import Rider
from .orders import Order


class RiderLine(models.Model):
    """One rider's line to dispatch of their fleet: its calls and chat messages (`Interaction.line`,
    `ChatMessage.line`). Messages are sealed under this line's own data key, wrapped by the master key."""

    rider = models.OneToOneField(Rider, on_delete=models.CASCADE, related_name="line")
    key_id = models.CharField(max_length=16)
    wrapped_key = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)


class ReportReason(models.TextChoices):
    ABUSIVE = "abusive"
    THREATENING = "threatening"
    HARASSMENT = "harassment"
    UNSAFE_PLACE = "unsafe_place"
    OTHER = "other"


class CustomerReport(models.Model):
    """A rider's report of a customer on one order: the reason, whether they blocked them, and a sealed note."""

    rider = models.ForeignKey(Rider, on_delete=models.CASCADE, related_name="customer_reports")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports")
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    blocked = models.BooleanField(default=False)
    note_sealed = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class RiderBlock(models.Model):
    """This rider gets no offers or suggestions for orders of this customer (`customer_digest`, keyed)."""

    rider = models.ForeignKey(Rider, on_delete=models.CASCADE, related_name="blocks")
    customer_digest = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rider", "customer_digest"], name="uniq_rider_block")]

from django.conf import settings
from django.db import models

from .orders import Order


class Tier(models.IntegerChoices):
    AREA = 1, "area"
    STREET = 2, "street"
    DOOR = 3, "door"


class GrantScope(models.TextChoices):
    ADDRESS = "address"
    CONTACT = "contact"


class GrantPurpose(models.TextChoices):
    DELIVERY = "delivery"
    AFTER_SALES = "after_sales"
    EMERGENCY = "emergency"


class SealedRecord(models.Model):
    """The vault: one order's PII, AES-GCM encrypted with a per-order data key.

    The data key is stored wrapped by the master key. Shredding deletes both.
    """

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="sealed")
    key_id = models.CharField(max_length=16)
    wrapped_key = models.BinaryField(null=True)
    ciphertext = models.BinaryField(null=True)
    shredded_at = models.DateTimeField(null=True, blank=True)


class Grant(models.Model):
    """Who may see what of an order, why, and until when. Checked at every read."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="grants")
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    scope = models.CharField(max_length=16, choices=GrantScope.choices)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    purpose = models.CharField(max_length=16, choices=GrantPurpose.choices)
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["order", "principal", "scope"]),
            # The live grants by tier (GET /metrics counts them at every scrape): revoked ones are most rows.
            models.Index(fields=["tier"], condition=models.Q(revoked_at__isnull=True), name="grant_live_tier"),
        ]


class ProxySession(models.Model):
    """A masked call binding: rider and customer reach each other through proxy_number.

    The customer's number is never copied here: only a keyed digest to recognise the caller.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="proxy_sessions")
    rider = models.ForeignKey("dispatch.Rider", on_delete=models.CASCADE)
    proxy_number = models.CharField(max_length=32)
    rider_digest = models.CharField(max_length=64)
    customer_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)  # always set: the absolute end, whatever happens to the order
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["proxy_number", "ended_at"]), models.Index(fields=["customer_digest"])]


class SeenCallSid(models.Model):
    """A carrier call already answered: a replayed webhook with the same CallSid dials nobody. Pruned after a day."""

    call_sid = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField(db_index=True)

"""Merchant intake's own rows: delivery quotes and idempotency keys (services/quotes.py, services/intake.py)."""

from django.db import models

from .accounts import Merchant, Store
from .orders import Order


class Quote(models.Model):
    """A priced offer to deliver from a store to a point, valid until `expires_at`, used by at most one order.

    The point is address data: only its keyed digest is kept (to check that the order goes where the quote
    said), with the distance and the price. The coordinates themselves are never stored or echoed."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="quotes")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="quotes")
    point_digest = models.CharField(max_length=96)  # "<nonce>$<keyed digest>": equal doors do not show
    distance_m = models.PositiveIntegerField()
    fee = models.DecimalField(max_digits=9, decimal_places=2)
    currency = models.CharField(max_length=3)
    eta_s = models.PositiveIntegerField()
    pickup_ready_at = models.DateTimeField(null=True, blank=True)
    dropoff_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    order = models.OneToOneField(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="quote")
    used_at = models.DateTimeField(null=True, blank=True)


class IdempotencyKey(models.Model):
    """The first successful answer to a merchant's request made with an `Idempotency-Key` header, replayed for the
    same key until `expires_at`. `request_digest` is a keyed digest of the operation and body, never the body. An
    answer holding a bearer secret (a new order's tracking link) is sealed under that order's data key."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    response_sealed = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="uniq_idempotency_key")]

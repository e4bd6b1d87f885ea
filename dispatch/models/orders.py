from django.db import connections, models, router
from django.utils.translation import pgettext_lazy

from .accounts import Merchant, Rider, Store


class OrderStatus(models.TextChoices):
    """Every status and every move between them: dispatch/services/states.py."""

    CREATED = "created", pgettext_lazy("order status", "created")
    OFFERED = "offered", pgettext_lazy("order status", "offered")
    ASSIGNED = "assigned", pgettext_lazy("order status", "assigned")
    READY = "ready", pgettext_lazy("order status", "ready")
    PICKED_UP = "picked_up", pgettext_lazy("order status", "picked up")
    DELIVERED = "delivered", pgettext_lazy("order status", "delivered")
    FAILED = "failed", pgettext_lazy("order status", "failed")
    RETURNING = "returning", pgettext_lazy("order status", "returning")
    RETURNED = "returned", pgettext_lazy("order status", "returned")
    CANCELLED = "cancelled", pgettext_lazy("order status", "cancelled")


class Order(models.Model):
    """An order's non-identifying facts. Plain PII lives only in its SealedRecord."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    merchant = models.ForeignKey(Merchant, on_delete=models.SET_NULL, null=True, related_name="orders")
    external_ref = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the customer was told to expect it: the merchant's, else created_at + the store's promise_s or
    # ORDER_PROMISE_S. Still open after it, the order raises a "late" alert (services/detectors.py).
    promised_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A scheduled order (from the merchant or its quote): when the bag will be ready at the counter, and when it
    # must be at the door (that deadline is the promise). Not collected by pickup_ready_at + SCHEDULE_PICKUP_GRACE_S,
    # it raises a "late" alert (services/detectors.py); auto-dispatch waits until shortly before it.
    pickup_ready_at = models.DateTimeField(null=True, blank=True)
    dropoff_deadline = models.DateTimeField(null=True, blank=True)

    business_date = models.DateField()
    pickup_seq = models.PositiveIntegerField()
    pickup_code = models.CharField(max_length=12)

    # Masked, derived views: safe to show to every party of the order.
    display_name = models.CharField(max_length=32)
    phone_masked = models.CharField(max_length=16)
    area = models.CharField(max_length=120)
    approx_lat = models.FloatField(null=True)  # destination rounded to ~1 km for the dispatch map; None once shredded
    approx_lng = models.FloatField(null=True)
    # The area point: what an AREA-tier distance is measured to, never the door. It lies
    # area_offset_m (AREA_OFFSET_M, drawn with `secrets`) from the door along area_bearing, both drawn
    # once per order and never changed (key rotation re-wraps keys and leaves them alone). Only the
    # offset is stored, never the point: with the door sealed in the vault, no column holds a position
    # near it. Shredding clears both (services.area).
    area_bearing = models.FloatField(null=True, blank=True)
    area_offset_m = models.FloatField(null=True, blank=True)
    consent_number_protection = models.BooleanField(default=True)
    consent_marketing = models.BooleanField(default=False)

    rider = models.ForeignKey(Rider, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    assigned_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The exits: codes only (services/exits.py lists them), never free text, which may name a person.
    cancelled_by = models.CharField(max_length=16, blank=True, default="")  # merchant | dispatch | store
    cancel_reason = models.CharField(max_length=24, blank=True, default="")
    door_wait_started_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    fail_reason = models.CharField(max_length=16, blank=True, default="")
    retry_until = models.DateTimeField(null=True, blank=True, db_index=True)  # set while a failed order may be retried
    returning_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)

    # Keyed digests only (dispatch/tokens.py): the token and the PIN themselves are never stored.
    delivery_pin_digest = models.CharField(max_length=64)
    tracking_token_digest = models.CharField(max_length=64, unique=True)
    # Not a field: set only on the instance `order_create` returns, so the caller can hand the link out once.
    tracking_token: str
    # Not a field: the webhook event of the move `states.transition` just made, emitted by `order_event`.
    webhook_type: str | None = None
    tracking_expires_at = models.DateTimeField()
    retention_due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "business_date", "pickup_seq"], name="uniq_pickup_per_day"),
        ]
        indexes = [
            models.Index(fields=["store", "business_date", "pickup_code"]),
            models.Index(fields=["rider", "status"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.pickup_code})"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    # Empty for a sensitive item: its name is sealed in the vault.
    name = models.CharField(max_length=200, blank=True, default="")
    qty = models.PositiveSmallIntegerField(default=1)
    sensitive = models.BooleanField(default=False)
    category = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["position"]


class PickupCounterManager(models.Manager):
    _upsert: dict[str, str] = {}

    def _upsert_sql(self, connection) -> str:
        sql = self._upsert.get(connection.vendor)
        if sql is None:
            q = connection.ops.quote_name
            table, store, day, last = (q(n) for n in (self.model._meta.db_table, "store_id", "business_date", "last"))
            # Identifiers only, from the model's own metadata; the values are bound parameters.
            sql = self._upsert[connection.vendor] = " ".join((
                "INSERT INTO", table, f"({store}, {day}, {last})", "VALUES (%s, %s, 1)",
                "ON CONFLICT", f"({store}, {day})", "DO UPDATE SET", f"{last} = {table}.{last} + 1",
                "RETURNING", last,
            ))
        return sql

    def next_for(self, *, store_id: int, day) -> int:
        """The day's next number, in one statement (an upsert on the day's counter row, which stays locked
        until the caller's transaction ends). Works on SQLite (3.35+) and PostgreSQL."""
        connection = connections[router.db_for_write(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(self._upsert_sql(connection), [store_id, connection.ops.adapt_datefield_value(day)])
            return cursor.fetchone()[0]


class PickupCounter(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE)
    business_date = models.DateField()
    last = models.PositiveIntegerField(default=0)

    objects = PickupCounterManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "business_date"], name="uniq_counter_day")]


class HandoffCode(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="handoff_codes")
    rider = models.ForeignKey(Rider, on_delete=models.CASCADE)
    code_digest = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class LocationFix(models.Model):
    rider = models.ForeignKey(Rider, on_delete=models.CASCADE, related_name="fixes")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True)
    lat = models.FloatField()
    lng = models.FloatField()
    accuracy = models.FloatField()
    at = models.DateTimeField()
    received_at = models.DateTimeField(db_index=True)
    seq = models.BigIntegerField()
    accepted = models.BooleanField()
    reason = models.CharField(max_length=32, blank=True, default="")

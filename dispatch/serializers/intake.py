"""The merchant API's quotes and order list: inputs, the list's filters and page, the quote as priced."""

from __future__ import annotations

from rest_framework import serializers

from ..models import OrderStatus
from .fields import IsoDateTimeField, StrictCharField, StrictFloatField, StrictIntegerField
from .inputs import WindowField
from .orders import MaskedOrderOut

STATUSES = tuple(OrderStatus.values)


class QuotePointIn(serializers.Serializer):
    lat = StrictFloatField(min_value=-90, max_value=90)
    lng = StrictFloatField(min_value=-180, max_value=180)


class QuoteIn(serializers.Serializer):
    store = StrictIntegerField(required=False, min_value=1, help_text="Optional when the merchant has one store.")
    customer = QuotePointIn(help_text="The door's coordinates: kept only as a keyed digest, never echoed.")
    pickup_ready_at = WindowField(required=False, help_text="When the bag will be ready (ISO 8601).")
    dropoff_deadline = WindowField(required=False, help_text="When it must be at the door (ISO 8601).")


class QuoteOut(serializers.Serializer):
    id = serializers.IntegerField()
    fee = serializers.DecimalField(max_digits=9, decimal_places=2, coerce_to_string=True,
                                   help_text="QUOTE_BASE_FEE + QUOTE_PER_KM_FEE per km (docs/merchant-api.md).")
    currency = serializers.CharField(help_text="ISO 4217, e.g. GBP.")
    eta_s = serializers.IntegerField(help_text="Seconds from now to the door, estimated.")
    expires_at = IsoDateTimeField(help_text="Order with it before then (QUOTE_TTL_S, 15 minutes by default).")
    distance_m = serializers.IntegerField(help_text="Straight line, store to door.")
    pickup_ready_at = IsoDateTimeField(allow_null=True)
    dropoff_deadline = IsoDateTimeField(allow_null=True)


class _StatusesField(StrictCharField):
    """One status or several, comma-separated (`created,assigned`)."""

    def to_internal_value(self, data):
        parts = [p.strip() for p in super().to_internal_value(data).split(",") if p.strip()]
        if not parts or any(p not in STATUSES for p in parts):
            raise serializers.ValidationError(f"Use statuses: {', '.join(STATUSES)}.")
        return tuple(dict.fromkeys(parts))


class OrderListQuery(serializers.Serializer):
    """`GET /api/orders/`'s filters, all optional; newest first either way."""

    status = _StatusesField(max_length=200, required=False, help_text=f"Comma-separated: {', '.join(STATUSES)}.")
    store = StrictIntegerField(min_value=1, max_value=2**31 - 1, strings=True, required=False,
                               help_text="One of your stores (another is 400 unknown_store).")
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601; inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601; exclusive.")
    external_ref = StrictCharField(max_length=64, required=False, help_text="Your reference, exactly.")
    q = StrictCharField(max_length=64, required=False, allow_blank=True, trim_whitespace=True,
                        help_text="A search: a pickup number, exactly (digits alone match it at each of your stores, "
                                  "27: A27, B27; with the store's letter, that one code), or the start of your "
                                  "reference (POS-12 finds POS-123). Blank: no search.")
    limit = StrictIntegerField(min_value=1, max_value=100, strings=True, required=False, default=50,
                               help_text="Orders per page (1-100, default 50).")
    cursor = StrictCharField(max_length=200, required=False, help_text="From a page's `next` URL.")


class OrderPageOut(serializers.Serializer):
    """One page of the merchant's orders."""

    results = MaskedOrderOut(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page's URL (same filters), or null at the end.")

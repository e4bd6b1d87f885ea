"""Offers: the dispatcher's input, the job as the rider sees it (`services.offers.offer_job`), and what the
dispatcher gets back."""

from __future__ import annotations

from rest_framework import serializers

from .fields import IsoDateTimeField, StrictIntegerField


class OfferIn(serializers.Serializer):
    rider = StrictIntegerField(min_value=1)


class _OfferStoreOut(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class _PayOut(serializers.Serializer):
    amount = serializers.CharField(help_text="Decimal, two places.")
    currency = serializers.CharField()


class RiderOfferOut(serializers.Serializer):
    """The job before it is accepted: the store, the customer's area (district), coarse distances and the item
    count; never a name, phone, street or door."""

    id = serializers.IntegerField(source="offer")
    status = serializers.ChoiceField(choices=["open", "accepted", "declined", "expired", "withdrawn"])
    store = _OfferStoreOut()
    area = serializers.CharField()
    pickup_distance_m = serializers.IntegerField(allow_null=True, help_text="The rider to the store, when offered.")
    trip_distance_m = serializers.IntegerField(allow_null=True, help_text="The store to the customer's area, in "
                                                                         "coarse steps; never to the door.")
    trip_distance_text = serializers.CharField(allow_null=True)
    items = serializers.IntegerField(help_text="How many items (sensitive ones counted, never named).")
    pay = _PayOut(allow_null=True, help_text="What the store pays for the job; null when it sets no figure.")
    created_at = serializers.CharField()
    expires_at = serializers.CharField()
    expires_in_s = serializers.IntegerField(help_text="Seconds left when this answer was made (no clock skew).")
    order = serializers.IntegerField(allow_null=True, help_text="The order's id, once accepted.")


class OfferMadeOut(serializers.Serializer):
    """What the dispatcher gets back from an offer."""

    id = serializers.IntegerField(source="pk")
    order = serializers.IntegerField(source="order_id")
    rider = serializers.IntegerField(source="rider_id")
    status = serializers.CharField()
    auto = serializers.BooleanField()
    expires_at = IsoDateTimeField()

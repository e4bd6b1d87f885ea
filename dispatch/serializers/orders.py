"""An order as each party sees it: masked for merchants, dispatchers and staff; at the address tier held for
the assigned rider (`selectors.rider_order` decides what that is, audited; these only render it)."""

from __future__ import annotations

from rest_framework import serializers

from ..masking import masked_items
from .common import NamedOut
from .exits import DeliveryAttemptOut
from .fields import IsoDateTimeField, OmitNoneSerializer
from .pod import FeedbackOut, PodOut, PodRequirementsOut


class CustomerOut(serializers.Serializer):
    display_name = serializers.CharField(help_text='Masked, e.g. "Z**".')
    phone_masked = serializers.CharField(help_text='e.g. "****5678".')


class RiderCustomerOut(OmitNoneSerializer, CustomerOut):
    omit_none = ("phone",)

    phone = serializers.CharField(required=False, help_text="Only when the customer turned number protection off "
                                                            "and the rider holds the order (audited).")


class ItemLineOut(serializers.Serializer):
    name = serializers.CharField()
    qty = serializers.IntegerField()


class ItemsOut(serializers.Serializer):
    """An order's items (`masking.masked_items`): given the order, it renders its masked summary."""

    count = serializers.IntegerField()
    lines = ItemLineOut(many=True, help_text="Non-sensitive lines only; sensitive items are a category count.")
    sensitive_count = serializers.IntegerField()
    sensitive_summary = serializers.CharField()

    def get_attribute(self, instance):
        return masked_items(super().get_attribute(instance).items.all())


class ApproxPointOut(serializers.Serializer):
    lat = serializers.FloatField(source="approx_lat", allow_null=True, help_text="Null once the order's data was "
                                                                                 "shredded.")
    lng = serializers.FloatField(source="approx_lng", allow_null=True)


class ConsentOut(serializers.Serializer):
    number_protection = serializers.BooleanField(source="consent_number_protection",
                                                 help_text="Off: the assigned rider may see and dial the real number.")
    marketing = serializers.BooleanField(source="consent_marketing")


class MaskedOrderOut(serializers.Serializer):
    """What merchants and dispatchers see: never any address beyond the area."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    external_ref = serializers.CharField()
    pickup_code = serializers.CharField()
    store = NamedOut()
    customer = CustomerOut(source="*")
    items = ItemsOut(source="*")
    area = serializers.CharField()
    approx = ApproxPointOut(source="*", help_text="The destination rounded to about 1 km.")
    consent = ConsentOut(source="*")
    rider = NamedOut(allow_null=True)
    created_at = IsoDateTimeField()
    promised_at = IsoDateTimeField(allow_null=True, help_text="When the customer was told to expect it; an open "
                                                              "order past it is late.")
    pickup_ready_at = IsoDateTimeField(allow_null=True, help_text="Scheduled: when the bag will be ready.")
    dropoff_deadline = IsoDateTimeField(allow_null=True, help_text="Scheduled: when it must be at the door.")
    ready_at = IsoDateTimeField(allow_null=True)
    picked_up_at = IsoDateTimeField(allow_null=True)
    delivered_at = IsoDateTimeField(allow_null=True)
    # The exits (codes only, dispatch/services/reasons.py): who cancelled and why, a failure's reason, the end of
    # its retry window (while dispatch may still send it out again) and when the bag came back.
    cancelled_at = IsoDateTimeField(allow_null=True)
    cancelled_by = serializers.CharField(help_text="merchant, dispatch or store; empty unless cancelled.")
    cancel_reason = serializers.CharField(help_text="A cancel reason code; empty unless cancelled.")
    failed_at = IsoDateTimeField(allow_null=True)
    fail_reason = serializers.CharField(help_text="unreachable, refused, wrong_address or unsafe; empty if none.")
    retry_until = IsoDateTimeField(allow_null=True, help_text="While failed under the retry policy: until when "
                                                              "dispatch may send it out again.")
    returned_at = IsoDateTimeField(allow_null=True)


class MerchantOrderOut(MaskedOrderOut):
    """The merchant's order detail: the masked order, how it was proved delivered, and the customer's feedback."""

    pod = PodOut(source="pod_summary", allow_null=True, help_text="Null until delivered.")
    feedback = FeedbackOut(source="feedback_view", allow_null=True,
                           help_text="Null until the customer sends some; the text is masked.")


class OrderCreatedOut(serializers.Serializer):
    """Renders `(order, tracking_url)`: the only time the link exists outside the customer's hands."""

    id = serializers.IntegerField(source="order.pk")
    status = serializers.CharField(source="order.status")
    pickup_code = serializers.CharField(source="order.pickup_code")
    tracking_url = serializers.CharField()
    customer = CustomerOut(source="order")


class StoreOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    timezone = serializers.CharField()


class DoorPartsOut(serializers.Serializer):
    street = serializers.CharField(allow_blank=True)
    building = serializers.CharField(allow_blank=True)
    unit = serializers.CharField(allow_blank=True)
    door_code = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)


class DestinationOut(OmitNoneSerializer):
    """`selectors.Destination`: only what the tier allows; the fields of a higher tier are absent, not null."""

    omit_none = ("distance_approx", "distance_text", "lat", "lng", "parts")

    tier = serializers.ChoiceField(choices=["area", "street", "door"])
    text = serializers.CharField(help_text="Only what the tier allows.")
    distance_m = serializers.IntegerField(allow_null=True, help_text="Coarse at `area`, and measured to a point near "
                                                                     "but never at the door.")
    distance_approx = serializers.BooleanField(required=False, help_text="True at `area`: `distance_m` is a coarse "
                                                                         "step to the order's area point, not the door.")
    distance_text = serializers.CharField(required=False, help_text='At `area`: e.g. "about 3 km", "under 1 km".')
    lat = serializers.FloatField(required=False, help_text="From `street` on.")
    lng = serializers.FloatField(required=False, help_text="From `street` on.")
    parts = DoorPartsOut(required=False, help_text="At `door` only: the address as labelled fields.")


class RiderOrderOut(serializers.Serializer):
    """What the assigned rider sees (`selectors.RiderOrder`): the address only at the tier they hold."""

    id = serializers.IntegerField(source="order.pk")
    status = serializers.CharField(source="order.status")
    pickup_code = serializers.CharField(source="order.pickup_code")
    store = StoreOut(source="order.store")
    customer = RiderCustomerOut()
    items = ItemsOut(source="order")
    destination = DestinationOut()
    reach = serializers.DictField(child=serializers.BooleanField(), help_text="Whom the rider may call or message "
                                                                             "in the app now, by role.")
    stop = serializers.IntegerField(allow_null=True, help_text="The delivery's place among the rider's active "
                                                               "orders (1 first), nearest first; null when done.")
    attempt = DeliveryAttemptOut(allow_null=True, help_text="Out for delivery: the door wait and the calls made, the "
                                                            "evidence an \"unreachable\" report needs; else null.")
    error = serializers.CharField(required=False, default="", help_text="\"unreadable\": the order's sealed record "
                                  "could not be opened; the row is masked (no address). Else empty.")
    pod = PodRequirementsOut(help_text="What the store's proof-of-delivery policy asks at the door.")


class DeliveredOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()

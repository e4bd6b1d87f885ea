"""The customer's tracking link (`selectors.Tracking`): a masked rider, the PIN, and who saw the address when."""

from __future__ import annotations

from rest_framework import serializers

from .exits import DoorWaitOut, OrderExitOut
from .fields import IsoDateTimeField
from .orders import ConsentOut
from .pod import FeedbackSentOut


class _TrackRiderOut(serializers.Serializer):
    name = serializers.CharField(source="display_name")


class AddressSeenOut(serializers.Serializer):
    tier = serializers.CharField()
    at = IsoDateTimeField()
    by = serializers.CharField(help_text="Which rider, in the request's language, never a name: \"your rider\" "
                                         "when there was one, else \"your current rider\", \"your first rider\"...")
    rider = serializers.IntegerField(help_text="The rider's place among the order's riders (1 is the first).")
    current = serializers.BooleanField(help_text="Whether that rider holds the order now.")


class AccessEndedOut(serializers.Serializer):
    at = IsoDateTimeField()
    by = serializers.CharField(help_text="Whose access ended, as in address_seen.")
    rider = serializers.IntegerField(allow_null=True)
    current = serializers.BooleanField()


class TrackingOut(serializers.Serializer):
    """What the customer's tracking link shows: a masked rider, the PIN, and who saw the address and when."""

    order_id = serializers.IntegerField(source="order.pk", help_text="Names the order in call and chat messages "
                                                                     "on the link's socket.")
    status = serializers.CharField(source="order.status")
    pickup_code = serializers.CharField(source="order.pickup_code")
    store = serializers.CharField(source="order.store.name")
    rider = _TrackRiderOut(source="order.rider", allow_null=True)
    delivery_pin = serializers.CharField(allow_null=True)
    consent = ConsentOut(source="order")
    call_number = serializers.CharField(allow_null=True, help_text="The masked proxy number, while a session lives.")
    address_seen = AddressSeenOut(many=True)
    access_revoked_at = serializers.ListField(child=IsoDateTimeField(), help_text=(
        "When the rider's access to the address ended: each revocation, and an end already past that the "
        "worker has not yet recorded (refused at every read from that moment)."))
    access_ended = AccessEndedOut(many=True, help_text="The same ends, each with whose access it was.")
    access_ends_at = IsoDateTimeField(allow_null=True, help_text=(
        "After delivery, when the rider's remaining access ends; null once it has, or before delivery."))
    expires_at = IsoDateTimeField(source="order.tracking_expires_at")
    reach = serializers.DictField(child=serializers.BooleanField(), help_text="Whom the customer may call or message "
                                                                             "in the app now, by role.")
    door_wait = DoorWaitOut(allow_null=True, help_text="The rider's wait at the door, while it is on: a countdown.")
    exit = OrderExitOut(allow_null=True, help_text="Why the order left the road (cancelled, failed, returning, "
                                                   "returned), or null.")
    pod_photo = serializers.BooleanField(help_text="Delivered with a photo the link may show: GET "
                                                   "/api/track/<token>/pod/photo/ (within the retention window).")
    feedback = FeedbackSentOut(allow_null=True, help_text="The feedback sent on this order, without its text.")
    feedback_open = serializers.BooleanField(help_text="Delivered, and no feedback sent yet: the form may show.")


class TrackConsentOut(serializers.Serializer):
    """Renders the order after a withdrawal."""

    consent = ConsentOut(source="*")

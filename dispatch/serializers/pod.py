"""Proof of delivery (the rider's side, and the merchant's record) and the customer's feedback (models/pod.py)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..models import FeedbackIssue, IdDocument
from ..models.pod import FEEDBACK_TEXT_MAX
from .exits import StrictChoiceField
from .fields import IsoDateTimeField, StrictBooleanField, StrictCharField, StrictIntegerField, StrictRegexField


class DeliverIn(serializers.Serializer):
    pin = StrictRegexField(r"^\d{4,8}$", required=False, error_messages={"invalid": "The PIN is 4 digits."},
                           help_text="The customer's PIN: needed under the `pin`, `pin_photo` and `id_check` policies "
                                     "(400 `pin_required`, `wrong_pin`); ignored under `photo` and `leave_at_door`.")
    id_checked = StrictBooleanField(required=False, default=False,
                                    help_text="`id_check` policy: the rider saw an ID (400 `id_check_required`).")
    id_document = StrictChoiceField(choices=IdDocument.choices, required=False, default="",
                                    help_text="Which kind of document was seen. Never its number or an image.")


class PodPhotoIn(serializers.Serializer):
    photo = serializers.FileField(help_text="multipart/form-data: a JPEG, PNG or WebP of at most 10 MB. Stored "
                                            "re-encoded without any metadata (no EXIF, GPS, XMP, ICC), at most "
                                            "1280 px, sealed under the order's data key. 400 "
                                            "`not_an_image`, `photo_too_large`.",
                                  allow_empty_file=False, use_url=False)


class PodRequirementsOut(serializers.Serializer):
    """What the store's policy asks at the door, and whether the photo is already uploaded."""

    policy = serializers.ChoiceField(choices=["pin", "photo", "pin_photo", "id_check", "leave_at_door"])
    pin = serializers.BooleanField()
    photo = serializers.BooleanField()
    id_check = serializers.BooleanField()
    photo_taken = serializers.BooleanField()


class PodPhotoOut(serializers.Serializer):
    order = serializers.IntegerField(source="order_id")
    width = serializers.IntegerField(source="photo_width")
    height = serializers.IntegerField(source="photo_height")
    bytes = serializers.IntegerField(source="photo_bytes")
    taken_at = IsoDateTimeField(source="photo_at")


class PodOut(serializers.Serializer):
    """How a delivery was proved (`selectors.pod.PodView`), for the merchant: codes and times, never an image here."""

    policy = serializers.CharField(help_text="The store's policy when the order was delivered.")
    pin_checked = serializers.BooleanField()
    photo = serializers.BooleanField(help_text="A photo was taken; while true, GET .../pod/photo/ serves it.")
    photo_at = IsoDateTimeField(allow_null=True)
    id_document = serializers.CharField(allow_blank=True, help_text="The kind of ID seen, or empty.")
    id_checked_at = IsoDateTimeField(allow_null=True)
    delivered_at = IsoDateTimeField(allow_null=True)
    photo_available_until = IsoDateTimeField(allow_null=True, help_text="The end of the retention window.")


class FeedbackIn(serializers.Serializer):
    rating = StrictIntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    issue = StrictChoiceField(choices=FeedbackIssue.choices, required=False, default="", allow_blank=True)
    text = StrictCharField(max_length=FEEDBACK_TEXT_MAX, required=False, default="", allow_blank=True,
                           multiline=True, help_text="Optional; sealed, shown masked to the merchant only.")


class FeedbackOut(serializers.Serializer):
    """The feedback as its readers see it: the merchant gets the text masked (`masking.mask_free_text`); the
    customer who sent it gets no text back."""

    rating = serializers.IntegerField(allow_null=True)
    issue = serializers.CharField(allow_blank=True)
    text = serializers.CharField(allow_null=True, required=False, help_text="Merchant only: masked.")
    created_at = IsoDateTimeField()


class FeedbackSentOut(serializers.Serializer):
    rating = serializers.IntegerField(allow_null=True)
    issue = serializers.CharField(allow_blank=True)
    created_at = IsoDateTimeField()


PHOTO_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The delivery photo: a JPEG with no metadata "
                                                                  "(no EXIF, GPS, XMP or ICC), at most 1280 px.")

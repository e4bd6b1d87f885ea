"""The rider's safety: SOS to dispatch, and reporting or blocking an abusive customer."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors
from dispatch.permissions import IsRider, rider_of
from dispatch.serializers import StrictBooleanField, StrictCharField, StrictChoiceField, StrictFloatField
from dispatch.services.safety import NOTE_MAX, REPORT_REASONS, customer_report, rider_sos


class SosIn(serializers.Serializer):
    lat = StrictFloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lng = StrictFloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    accuracy = StrictFloatField(min_value=0, max_value=100_000, required=False, allow_null=True)
    note = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True, multiline=True,
                           help_text="Goes to dispatch in the rider's line (sealed), not into the alert.")

    def validate(self, attrs):
        if (attrs.get("lat") is None) != (attrs.get("lng") is None):
            raise serializers.ValidationError({"lng" if attrs.get("lat") is not None else "lat":
                                               _("Send both lat and lng, or neither.")})
        return attrs


class SosOut(serializers.Serializer):
    alert = serializers.IntegerField()
    position = serializers.BooleanField(help_text="False when sent without a position (location blocked).")
    line = serializers.IntegerField(help_text="The rider's line to dispatch, for the in-app call that follows.")


class RiderSosApi(APIView):
    """Alert dispatch of the rider's fleet, with the rider's exact position when the phone has one. The app
    then calls dispatch in the app over the rider's line (socket `call.start` with `line`)."""

    permission_classes = [IsRider]

    @extend_schema(request=SosIn, responses={201: SosOut})
    def post(self, request):
        data = SosIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rider = rider_of(request.user)
        alert = rider_sos(rider=rider, lat=v.get("lat"), lng=v.get("lng"), accuracy=v.get("accuracy"),
                          note=v.get("note", ""))
        return Response(SosOut({"alert": alert.pk, "position": alert.lat is not None, "line": rider.pk}).data,
                        status=status.HTTP_201_CREATED)


class ReportIn(serializers.Serializer):
    reason = StrictChoiceField(choices=list(REPORT_REASONS))
    block = StrictBooleanField(help_text="No more offers or suggestions for this customer's orders.")
    note = StrictCharField(max_length=NOTE_MAX, required=False, allow_blank=True, multiline=True,
                           help_text="Sealed with the order's data: erased when the order's data is.")


class ReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField(source="order_id")
    reason = serializers.CharField()
    blocked = serializers.BooleanField()


class RiderReportApi(APIView):
    """Report the customer of one of the rider's orders (also just after delivery, while access lasts), and
    optionally block them. The block is kept under a keyed digest of the customer, never their number."""

    permission_classes = [IsRider]

    @extend_schema(request=ReportIn, responses={201: ReportOut})
    def post(self, request, order_id: int):
        data = ReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id)
            report = customer_report(order=order, rider=rider_of(request.user), reason=v["reason"], block=v["block"],
                                     note=v.get("note", ""))
        return Response(ReportOut(report).data, status=status.HTTP_201_CREATED)

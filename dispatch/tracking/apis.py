"""The customer's tracking API. The token in the path is the capability, and it expires."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..errors import DomainError, Invalid
from ..serializers import StrictBooleanField, TrackCallOut, TrackConsentOut, TrackingOut
from ..services.calls import call_route_for_customer, call_session_start, sandbox_carrier_enabled
from ..services.orders import order_marketing_withdraw
from .limits import TrackThrottle


class TrackingApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TrackThrottle]  # per address (dispatch/tracking/limits.py)

    @extend_schema(responses=TrackingOut)
    def get(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        return Response(TrackingOut(selectors.tracking(order, token=token)).data)


class MarketingWithdrawIn(serializers.Serializer):
    marketing = StrictBooleanField()


class TrackingConsentApi(APIView):
    """The customer withdraws marketing consent. Withdrawal only: the link is a bearer capability, not a signature."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TrackThrottle]  # per address (dispatch/tracking/limits.py)

    @extend_schema(request=MarketingWithdrawIn, responses=TrackConsentOut)
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        data = MarketingWithdrawIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["marketing"]:
            raise Invalid(_("Marketing consent can only be withdrawn here."), code="withdraw_only")
        order = order_marketing_withdraw(order=order)
        return Response(TrackConsentOut(order).data)


class TrackingCallApi(APIView):
    """The customer's call button: a masked session with their rider. In the sandbox it also places
    the call from the customer's phone, and answers who was reached, never a number."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [TrackThrottle]  # per address (dispatch/tracking/limits.py)
    error_statuses = (409,)  # no rider yet, or no proxy number free

    @extend_schema(request=None, responses=TrackCallOut)
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        if order.rider is None:
            raise DomainError(_("No rider is assigned yet."), code="no_rider")
        session = call_session_start(order=order, rider=order.rider)
        out = {"proxy_number": session.proxy_number, "connected": False, "callee": ""}
        if sandbox_carrier_enabled():
            route = call_route_for_customer(order=order, proxy_number=session.proxy_number)
            out.update(connected=route.connect_to is not None, callee=route.callee)
        return Response(TrackCallOut(out).data)

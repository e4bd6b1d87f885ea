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
from ..photos import photo_response
from ..selectors.messages import messages_state
from ..selectors.pod import pod_photo
from ..serializers import (
    PHOTO_RESPONSE,
    FeedbackIn,
    FeedbackSentOut,
    StrictBooleanField,
    TrackCallOut,
    TrackConsentOut,
    TrackingOut,
)
from ..serializers.messages import PushSubscriptionIn, TrackMessagesIn, TrackMessagesOut
from ..services.calls import call_route_for_customer, call_session_start, sandbox_carrier_enabled
from ..services.notify import messages_opt_out, push_subscribe
from ..services.orders import order_marketing_withdraw
from ..services.pod import feedback_submit
from .limits import TrackLimited


class TrackingApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=TrackingOut)
    def get(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        return Response(TrackingOut(selectors.tracking(order, token=token)).data)


class MarketingWithdrawIn(serializers.Serializer):
    marketing = StrictBooleanField()


class TrackingConsentApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The customer withdraws marketing consent. Withdrawal only: the link is a bearer capability, not a signature."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=MarketingWithdrawIn, responses=TrackConsentOut)
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        data = MarketingWithdrawIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["marketing"]:
            raise Invalid(_("Marketing consent can only be withdrawn here."), code="withdraw_only")
        order = order_marketing_withdraw(order=order)
        return Response(TrackConsentOut(order).data)


class TrackingCallApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The customer's call button: a masked session with their rider. In the sandbox it also places
    the call from the customer's phone, and answers who was reached, never a number."""

    permission_classes = [AllowAny]
    authentication_classes = []
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


class TrackingMessagesApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The customer's messages about this order: whether they still come, and "stop messages"."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=TrackMessagesOut)
    def get(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        return Response(TrackMessagesOut(messages_state(order=order)).data)

    @extend_schema(request=TrackMessagesIn, responses=TrackMessagesOut)
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        data = TrackMessagesIn(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["stop"]:
            raise Invalid(_("Messages can only be stopped here."), code="stop_only")
        messages_opt_out(order=order)
        return Response(TrackMessagesOut(messages_state(order=order)).data)


class TrackingPushApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The tracking page's Web Push subscription, after the customer opted in with the button. 409
    `messages_stopped` once messages are stopped: subscribing again cannot undo that."""

    permission_classes = [AllowAny]
    authentication_classes = []
    error_statuses = (409,)

    @extend_schema(request=PushSubscriptionIn, responses={201: TrackMessagesOut})
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        data = PushSubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        if push_subscribe(order=order, subscription=data.validated_data) is None:
            raise DomainError(_("Messages about this order are stopped."), code="messages_stopped")
        return Response(TrackMessagesOut(messages_state(order=order)).data, status=201)


class TrackingFeedbackApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The customer's rating and issue report, once the order is delivered: once per order (409
    `feedback_exists`, `not_delivered`); 404 once the link expired. The text is sealed and only the merchant
    reads it, masked."""

    permission_classes = [AllowAny]
    authentication_classes = []
    error_statuses = (409,)

    @extend_schema(request=FeedbackIn, responses={201: FeedbackSentOut})
    def post(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        data = FeedbackIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        feedback = feedback_submit(order=order, rating=v.get("rating"), issue=v["issue"], text=v["text"].strip())
        return Response(FeedbackSentOut(feedback).data, status=201)


class TrackingPodPhotoApi(TrackLimited, APIView):  # the address's limit (tracking/limits.py)
    """The delivery photo for the link's holder, while the link lives and within the retention window. Audited."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses={(200, "image/jpeg"): PHOTO_RESPONSE})
    def get(self, request, token: str):
        order = selectors.order_by_tracking_token(token=token)
        return photo_response(pod_photo(order=order, party="customer"))

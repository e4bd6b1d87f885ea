"""Core HTTP API: order intake, stores, the dispatch board, tracking. Thin: input, service, output."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .errors import DomainError, Invalid
from .permissions import IsDispatcher, IsMerchant, merchant_of
from .serializers import AssignIn, BreakGlassIn, OrderCreatedOut, OrderIn
from .services.orders import order_assign, order_create
from .services.privacy import order_break_glass

AnyDict = inline_serializer("AnyObject", fields={"id": serializers.IntegerField()})


class StoreListApi(APIView):
    @extend_schema(responses=inline_serializer("Store", fields={
        "id": serializers.IntegerField(), "name": serializers.CharField(), "address": serializers.CharField(),
        "lat": serializers.FloatField(), "lng": serializers.FloatField(), "timezone": serializers.CharField()}, many=True))
    def get(self, request):
        return Response([selectors.store_view(s) for s in selectors.stores_for(user=request.user)])


class OrderCreateApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(request=OrderIn, responses={201: OrderCreatedOut})
    def post(self, request):
        data = OrderIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        merchant = merchant_of(request.user)
        stores = merchant.stores.all()
        if "store" in v:
            store = stores.filter(pk=v["store"]).first()
            if store is None:
                raise Invalid("You may not post orders for that store.", code="unknown_store")
        else:
            candidates = list(stores[:2])
            if len(candidates) != 1:
                raise Invalid("Name the store: this merchant has several.", code="store_required")
            store = candidates[0]
        order = order_create(merchant=merchant, store=store, external_ref=v["external_ref"], customer=v["customer"],
                             items=v["items"], consent=v["consent"])
        out = {
            "id": order.pk,
            "status": order.status,
            "pickup_code": order.pickup_code,
            "tracking_url": request.build_absolute_uri(reverse("track-page", args=[order.tracking_token])),
            "customer": selectors.customer_view(order),
        }
        return Response(out, status=201)


class OrderDetailApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=AnyDict)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(selectors.masked_order_view(order))


class BoardOrdersApi(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=AnyDict)
    def get(self, request):
        return Response([selectors.masked_order_view(o) for o in selectors.board_orders(user=request.user)[:500]])


class BoardRidersApi(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=AnyDict)
    def get(self, request):
        return Response([
            {"id": r.pk, "name": r.display_name, "on_duty": r.on_duty, "lat": r.last_lat, "lng": r.last_lng,
             "at": r.last_seen_at.isoformat() if r.last_seen_at else None}
            for r in selectors.riders_on_duty(user=request.user)
        ])


class OrderAssignApi(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=AssignIn, responses=AnyDict)
    def post(self, request, order_id: int):
        data = AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        order = order_assign(order_id=order.pk, rider_id=data.validated_data["rider"], by=request.user)
        return Response(selectors.masked_order_view(selectors.access_order(user=request.user, order_id=order.pk)))


class OrderBreakGlassApi(APIView):
    """Emergency reveal of contact data: a reason, a daily quota, a 15-minute grant, all audited."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=BreakGlassIn, responses=inline_serializer("BreakGlassOut", fields={
        "name": serializers.CharField(), "phone": serializers.CharField(), "expires_at": serializers.DateTimeField()}))
    def post(self, request, order_id: int):
        data = BreakGlassIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        contact, expires = order_break_glass(order=order, user=request.user, reason=data.validated_data["reason"])
        response = Response({**contact, "expires_at": expires.isoformat()})
        response["Cache-Control"] = "no-store"
        return response


class TrackingApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(responses=AnyDict)
    def get(self, request, token: str):
        return Response(selectors.tracking_view(selectors.order_by_tracking_token(token=token)))



class TrackingCallApi(APIView):
    """The customer's call button: a masked session with their rider. In the sandbox it also places
    the call from the customer's phone, and answers who was reached, never a number."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=None, responses=inline_serializer("TrackCall", fields={
        "proxy_number": serializers.CharField(), "connected": serializers.BooleanField(),
        "callee": serializers.CharField()}))
    def post(self, request, token: str):
        from .services.calls import call_route, call_session_start
        from .services.privacy import customer_phone_for_call

        order = selectors.order_by_tracking_token(token=token)
        if order.rider is None:
            raise DomainError("No rider is assigned yet.", code="no_rider")
        session = call_session_start(order=order, rider=order.rider)
        out = {"proxy_number": session.proxy_number, "connected": False, "callee": ""}
        if settings.TELEPHONY_PROVIDER == "sandbox":
            route = call_route(caller=customer_phone_for_call(order=order, session_id=session.pk),
                               proxy_number=session.proxy_number)
            out.update(connected=route.connect_to is not None, callee=route.callee)
        return Response(out)

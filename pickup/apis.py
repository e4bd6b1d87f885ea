"""Store staff API: today's queue, mark ready, counter lookup and handoff. Scoped to the staff
member's store: another store's order answers 404."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors
from dispatch.errors import Invalid
from dispatch.permissions import IsStaff, staff_of
from dispatch.services.handoff import order_by_pickup_code, pickup_handoff
from dispatch.services.orders import order_mark_ready

QueueOrder = inline_serializer("StoreOrder", fields={
    "id": serializers.IntegerField(), "status": serializers.CharField(), "pickup_code": serializers.CharField(),
    "items": serializers.DictField(), "customer": serializers.DictField(), "age_s": serializers.IntegerField()})


def store_order_view(order) -> dict:
    view = selectors.masked_order_view(order)
    view.pop("area", None)  # the counter needs no destination at all
    view.pop("approx", None)
    view["age_s"] = int((timezone.now() - order.created_at).total_seconds())
    view["label_url"] = f"/pickup/orders/{order.pk}/label/"
    return view


class StoreQueueApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=QueueOrder)
    def get(self, request):
        return Response([store_order_view(o) for o in selectors.store_orders(user=request.user)])


class StoreOrderReadyApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=QueueOrder)
    def post(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        order_mark_ready(order_id=order.pk, by=request.user)
        return Response(store_order_view(selectors.access_order(user=request.user, order_id=order.pk)))


class StoreLookupApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(parameters=[OpenApiParameter("code", str, required=True)], responses=QueueOrder)
    def get(self, request):
        code = request.query_params.get("code", "").strip()
        if not code or len(code) > 12:
            raise Invalid("Enter the pickup number the rider tells you.", code="invalid_code")
        order = order_by_pickup_code(store=staff_of(request.user).store, pickup_code=code)
        return Response(store_order_view(selectors.access_order(user=request.user, order_id=order.pk)))


class HandoffIn(serializers.Serializer):
    pickup_code = serializers.CharField(max_length=12)
    rider_code = serializers.RegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "The rider's code is 6 digits."})


class StoreHandoffApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=HandoffIn, responses=QueueOrder)
    def post(self, request):
        data = HandoffIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = pickup_handoff(store=staff_of(request.user).store, pickup_code=v["pickup_code"],
                               rider_code=v["rider_code"], by=request.user)
        return Response(store_order_view(selectors.access_order(user=request.user, order_id=order.pk)))

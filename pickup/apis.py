"""Store staff API: today's queue, mark ready, packing list, counter lookup, handoff (with a dry run),
today's handoffs and undo. Scoped to the staff member's store: another store's order answers 404.
Lookups and handoff attempts are limited per staff member and per store (429 `rate_limited`)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors
from dispatch.errors import NotFound
from dispatch.permissions import IsStaff, staff_of
from dispatch.serializers import (
    CancelIn,
    CheckOut,
    HistoryOut,
    OrderStatusOut,
    PackingOut,
    ReturnIn,
    StoreOrderOut,
    StrictCharField,
    StrictRegexField,
)
from dispatch.services.counter import (
    counter_handoff,
    counter_return,
    handoff_history,
    handoff_undo,
    order_packing_list,
    pickup_lookup,
)
from dispatch.services.orders import order_cancel, order_mark_ready
from dispatch.services.pickup_numbers import normalise_pickup_code


def _in_store(order, store):
    """The counter services look orders up within the staff member's store already (the same scope as
    selectors.access_order for staff): saves the re-fetch on the hot path, and checks it."""
    if order.store_id != store.pk:
        raise NotFound()
    return order


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


# --- Input ---------------------------------------------------------------------------------
PICKUP_HELP = _lazy("Enter the pickup number the rider tells you, like 27 or B27.")


class PickupCodeField(StrictCharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=12, trim_whitespace=True, **kwargs)

    def to_internal_value(self, data):
        code = normalise_pickup_code(super().to_internal_value(data))
        if code is None:
            raise serializers.ValidationError(PICKUP_HELP)
        return code


RIDER_CODE = {"regex": r"^\s*\d{6}\s*$", "error_messages": {"invalid": _lazy("The rider's code is 6 digits.")}}


class LookupIn(serializers.Serializer):
    code = PickupCodeField(required=False)
    rider_code = StrictRegexField(required=False, **RIDER_CODE)

    def validate(self, attrs):
        if bool(attrs.get("code")) == bool(attrs.get("rider_code")):
            raise serializers.ValidationError({"code": f"{PICKUP_HELP} " + _("Or scan the rider's code.")})
        return attrs


class HandoffIn(serializers.Serializer):
    pickup_code = PickupCodeField()
    rider_code = StrictRegexField(**RIDER_CODE)


# --- Views -----------------------------------------------------------------------------------
class StoreQueueApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=StoreOrderOut(many=True))
    def get(self, request):
        orders = [selectors.counter_order(o) for o in selectors.store_orders(user=request.user)]
        return Response(StoreOrderOut(orders, many=True).data)


class StoreOrderReadyApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=StoreOrderOut)
    def post(self, request, order_id: int):
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_mark_ready(order=order, by=request.user)
        return Response(StoreOrderOut(selectors.counter_order(order)).data)


class StorePackingApi(APIView):
    """The packing list with the sensitive item names unsealed (audited, purpose `packing`)."""

    permission_classes = [IsStaff]
    error_statuses = (409,)

    @extend_schema(responses=PackingOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        lines = order_packing_list(order=order, user=request.user)
        return _no_store(Response(PackingOut({"order": order, "lines": lines}).data))


class StoreLookupApi(APIView):
    permission_classes = [IsStaff]
    error_statuses = (404, 409, 429)  # unknown code, a refusal, the counter's failure limit

    @extend_schema(parameters=[
        OpenApiParameter("code", str, description="The pickup number the rider states, e.g. 27 or B27."),
        OpenApiParameter("rider_code", str, description="Or the rider's 6-digit one-time code (typed or scanned)."),
    ], responses=StoreOrderOut)
    def get(self, request):
        data = LookupIn(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = staff_of(request.user).store
        order = pickup_lookup(store=store, user=request.user, pickup_code=v.get("code", ""),
                              rider_code=(v.get("rider_code") or "").strip())
        return _no_store(Response(StoreOrderOut(selectors.counter_order(_in_store(order, store))).data))


class StoreHandoffCheckApi(APIView):
    """The dry run: may the holder of this rider code take this bag? Nothing is consumed."""

    permission_classes = [IsStaff]
    error_statuses = (404, 429)

    @extend_schema(request=HandoffIn, responses=CheckOut)
    def post(self, request):
        data = HandoffIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        store = staff_of(request.user).store
        order = counter_handoff(store=store, user=request.user, pickup_code=v["pickup_code"],
                                rider_code=v["rider_code"].strip(), dry_run=True)
        counter = selectors.counter_order(_in_store(order, store))
        rider = order.rider.display_name if order.rider_id else "The rider"
        check = {"ok": True, "detail": f"{rider} may take bag {order.pickup_code}.", "order": counter}
        return _no_store(Response(CheckOut(check).data))


class StoreHandoffApi(APIView):
    permission_classes = [IsStaff]
    error_statuses = (404, 429)

    @extend_schema(request=HandoffIn, responses=StoreOrderOut)
    def post(self, request):
        data = HandoffIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = counter_handoff(store=staff_of(request.user).store, user=request.user, pickup_code=v["pickup_code"],
                                rider_code=v["rider_code"].strip())
        return Response(StoreOrderOut(selectors.counter_order(
            selectors.access_order(user=request.user, order_id=order.pk))).data)


class StoreHandoffHistoryApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=HistoryOut(many=True))
    def get(self, request):
        return _no_store(Response(HistoryOut(handoff_history(store=staff_of(request.user).store), many=True).data))


class StoreHandoffUndoApi(APIView):
    """Within a minute of a handoff: take the bag back (a mis-tap). The order is ready again. Audited."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses=StoreOrderOut)
    def post(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        handoff_undo(store=staff_of(request.user).store, order_id=order.pk, by=request.user)
        return Response(StoreOrderOut(selectors.counter_order(
            selectors.access_order(user=request.user, order_id=order.pk))).data)


class StoreOrderCancelApi(APIView):
    """The store cancels an order of its own, only while the bag is still at the counter (before pick-up)."""

    permission_classes = [IsStaff]

    @extend_schema(request=CancelIn, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_cancel(order=order, by=request.user, reason=data.validated_data["reason"], party="store")
        return Response(OrderStatusOut(order).data)


class StoreReturnApi(APIView):
    """A failed delivery's bag back at the counter: the returning rider's one-time code. Refusals as the
    handoff's: 409 `wrong_state`, `wrong_rider`, `expired_code`; 429 past the counter's failure limit."""

    permission_classes = [IsStaff]
    error_statuses = (429,)

    @extend_schema(request=ReturnIn, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        data = ReturnIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        order = counter_return(store=staff_of(request.user).store, user=request.user, order_id=order.pk,
                               rider_code=data.validated_data["rider_code"].strip())
        return Response(OrderStatusOut(order).data)

"""The rider's API. Every order is reached through the rider's live grants: else 404."""

from __future__ import annotations

import logging

import segno
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors
from dispatch.errors import NotFound
from dispatch.live.facade import ping_sync
from dispatch.permissions import IsRider, rider_of
from dispatch.selectors.batches import order_stops, rider_stops
from dispatch.selectors.rider import rider_order_unreadable
from dispatch.serializers import (
    CallRouteOut,
    CallSessionOut,
    DeliveredOut,
    DeliverIn,
    DoorWaitStartedOut,
    DutyOut,
    FailIn,
    GeoStateIn,
    GeoStateOut,
    HandoffCodeOut,
    LocationAckOut,
    LocationIn,
    OrderStatusOut,
    PickupCheckOut,
    RiderOrderOut,
    RiderReturnOut,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)
from dispatch.services.calls import call_route_for_rider, call_session_start, sandbox_carrier_enabled
from dispatch.services.counter import pickup_code_check
from dispatch.services.delivery import order_deliver
from dispatch.services.detectors import rider_geo_state_set
from dispatch.services.exits import door_wait_start, order_fail
from dispatch.services.handoff import handoff_code_issue
from dispatch.services.privacy import VaultError
from dispatch.services.riders import rider_duty_set

logger = logging.getLogger(__name__)


class RiderOrderListApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(operation_id="rider_orders_list", responses=RiderOrderOut(many=True))
    def get(self, request):
        orders = list(selectors.rider_orders(user=request.user))
        rider = rider_of(request.user)
        here = (rider.last_lat, rider.last_lng) if rider and rider.last_lat is not None else None
        stops = order_stops(orders, rider_point=here)
        return Response(RiderOrderOut([_row(o, user=request.user, stop=stops.get(o.pk)) for o in orders], many=True).data)


def _row(order, *, user, stop):
    """One order of the rider's list; one the vault cannot open is a masked row, logged by id and error kind
    only, so that it cannot take the whole list down."""
    try:
        return selectors.rider_order(order, user=user, stop=stop)
    except VaultError as exc:
        logger.error("rider order list: order %s unreadable (%s)", order.pk, type(exc).__name__)
        return rider_order_unreadable(order, stop=stop)


class RiderOrderDetailApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(responses=RiderOrderOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        stop = rider_stops(user=request.user).get(order.pk)
        return Response(RiderOrderOut(_row(order, user=request.user, stop=stop)).data)


class RiderLocationApi(APIView):
    """HTTP fallback for the socket's location message."""

    permission_classes = [IsRider]

    @extend_schema(request=LocationIn, responses=LocationAckOut)
    def post(self, request):
        data = LocationIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        # NotSaved (503) when the fix could not be made durable in time: the app keeps it queued and sends it again.
        result = ping_sync(rider=rider_of(request.user), lat=v["lat"], lng=v["lng"], accuracy=v["accuracy"],
                           timestamp=v["timestamp"], seq=v["seq"], here=v["here"])
        return Response(LocationAckOut({"seq": v["seq"], "accepted": result.accepted, "reason": result.reason,
                                        "tiers": {str(k): t for k, t in result.tiers.items()}}).data)


class RiderGeoStateApi(APIView):
    """The app's location sharing state (permission denied, location off, ...), the socket's `geo.state` over
    HTTP: dispatch's stale device alert gives it as the reason."""

    permission_classes = [IsRider]

    @extend_schema(request=GeoStateIn, responses=GeoStateOut)
    def post(self, request):
        data = GeoStateIn(data=request.data)
        data.is_valid(raise_exception=True)
        rider_geo_state_set(rider=rider_of(request.user), state=data.validated_data["state"])
        return Response(GeoStateOut(data.validated_data).data)


def _handoff_code(order, user) -> dict:
    code, expires = handoff_code_issue(order=order, rider=rider_of(user))
    return {"code": code, "expires_at": expires, "qr_svg": segno.make(code, error="m", micro=False).svg_data_uri(
        scale=6, border=2)}


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class RiderHandoffCodeApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(responses=HandoffCodeOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return _no_store(Response(HandoffCodeOut(_handoff_code(order, request.user)).data))


class RiderDoorWaitApi(APIView):
    """At the door and nobody answers: start the store's door wait (once; the customer's page counts it down)."""

    permission_classes = [IsRider]

    @extend_schema(request=None, responses=DoorWaitStartedOut)
    def post(self, request, order_id: int):
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = door_wait_start(order=order, rider=rider_of(request.user))
        return Response(DoorWaitStartedOut({"id": order.pk, "status": order.status,
                                            "door_wait": selectors.door_wait(order)}).data)


class RiderFailApi(APIView):
    """The delivery could not be made. The rider's access ends; the order is then `failed` (store policy "retry")
    or `returning` (policy "return")."""

    permission_classes = [IsRider]

    @extend_schema(request=FailIn, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        data = FailIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_fail(order=order, rider=rider_of(request.user), reason=data.validated_data["reason"])
        return Response(OrderStatusOut(order).data)


class RiderReturnListApi(APIView):
    """The bags this rider is bringing back to the store: the store only, no customer, no destination."""

    permission_classes = [IsRider]

    @extend_schema(responses=RiderReturnOut(many=True))
    def get(self, request):
        return Response(RiderReturnOut(selectors.rider_returns(user=request.user), many=True).data)


class RiderReturnCodeApi(APIView):
    """The one-time code (and QR) the counter takes a returning bag back with."""

    permission_classes = [IsRider]

    @extend_schema(responses=HandoffCodeOut)
    def get(self, request, order_id: int):
        order = selectors.access_rider_return(user=request.user, order_id=order_id)
        return _no_store(Response(HandoffCodeOut(_handoff_code(order, request.user)).data))


class RiderCallApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(request=None, responses=CallSessionOut)
    def post(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        session = call_session_start(order=order, rider=rider_of(request.user))
        return Response(CallSessionOut({"session": session, "sandbox": sandbox_carrier_enabled()}).data)


class RiderDialApi(APIView):
    """The sandbox carrier (demo mode only, else 404): place the call from the rider's own phone to the proxy number."""

    permission_classes = [IsRider]

    @extend_schema(request=None, responses=CallRouteOut)
    def post(self, request, order_id: int):
        if not sandbox_carrier_enabled():
            raise NotFound()
        order = selectors.access_order(user=request.user, order_id=order_id)
        rider = rider_of(request.user)
        session = call_session_start(order=order, rider=rider)
        route = call_route_for_rider(rider=rider, proxy_number=session.proxy_number)
        return Response(CallRouteOut(route).data)


class RiderDeliverApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(request=DeliverIn, responses=DeliveredOut)
    def post(self, request, order_id: int):
        data = DeliverIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        v = data.validated_data
        order = order_deliver(rider=rider_of(request.user), order_id=order.pk, pin=v.get("pin"),
                              id_checked=v["id_checked"], id_document=v["id_document"])
        return Response(DeliveredOut(order).data)


class DutyIn(serializers.Serializer):
    on_duty = StrictBooleanField()


class RiderDutyApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(request=DutyIn, responses=DutyOut)
    def post(self, request):
        data = DutyIn(data=request.data)
        data.is_valid(raise_exception=True)
        rider = rider_duty_set(rider=rider_of(request.user), on_duty=data.validated_data["on_duty"])
        return Response(DutyOut(rider).data)


class PickupCheckIn(serializers.Serializer):
    store = StrictIntegerField(min_value=1, strings=True)
    code = StrictCharField(max_length=12)


class RiderPickupCheckApi(APIView):
    """At the counter: is the bag with this pickup number at this store mine? Nothing about other riders."""

    permission_classes = [IsRider]

    @extend_schema(parameters=[PickupCheckIn], responses=PickupCheckOut)
    def get(self, request):
        data = PickupCheckIn(data=request.query_params)
        data.is_valid(raise_exception=True)
        result = pickup_code_check(rider=rider_of(request.user), store_id=data.validated_data["store"],
                                   code=data.validated_data["code"])
        if result.get("mine") and not selectors.rider_orders(user=request.user).filter(pk=result["order"]).exists():
            result = {"mine": False}  # access already revoked: no longer the rider's business
        return Response(PickupCheckOut(result).data)

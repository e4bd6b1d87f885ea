"""The dispatcher's API: open orders, riders on duty, assignment, break-glass. Thin: input, service, output."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..live.facade import overflow_totals
from ..permissions import IsDispatcher
from ..selectors.board import BoardFilter, board_order_list
from ..selectors.suggestions import suggest_riders
from ..serializers import (
    AlertAckIn,
    AlertListQuery,
    AlertOut,
    AssignIn,
    BoardOrderOut,
    BoardOrdersQuery,
    BoardRiderOut,
    BreakGlassIn,
    BreakGlassOut,
    CancelIn,
    InteractionOut,
    LineOut,
    MaskedOrderOut,
    OrderStatusOut,
    OverloadOut,
    PinUnlockIn,
    PinUnlockOut,
    SuggestionOut,
    SuggestionsIn,
)
from ..services.alerts import alert_ack
from ..services.delivery import order_pin_unlock
from ..services.exits import order_retry
from ..services.orders import order_assign, order_cancel
from ..services.privacy import order_break_glass
from ..services.rtc import interaction_log


class BoardOrdersApi(APIView):
    """The open orders (at most 500), most urgent first: unassigned, then the oldest; each with when it is due and
    whether it is late. Optional filters: status, store, fleet, pickup number (400 for a malformed one)."""

    permission_classes = [IsDispatcher]

    @extend_schema(parameters=[BoardOrdersQuery], responses=BoardOrderOut(many=True))
    def get(self, request):
        query = BoardOrdersQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        filters = BoardFilter(statuses=data.get("status", ()), store=data.get("store"), fleet=data.get("fleet", ""),
                              q=data.get("q", ""))
        return Response(BoardOrderOut(board_order_list(user=request.user, filters=filters), many=True).data)


class BoardRidersApi(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(responses=BoardRiderOut(many=True))
    def get(self, request):
        return Response(BoardRiderOut(selectors.riders_on_duty(user=request.user), many=True).data)


class LineListApi(APIView):
    """The riders' lines to dispatch of the caller's fleet scope, most recently used first (at most 200): whose,
    how many messages and calls, when last used. No message text; the board opens a thread on the socket."""

    permission_classes = [IsDispatcher]

    @extend_schema(responses=LineOut(many=True))
    def get(self, request):
        return Response(LineOut(selectors.dispatch_lines(user=request.user)[:selectors.LINES_MAX], many=True).data)


class OverloadApi(APIView):
    """Messages the channel layer dropped on full channels: counted by the server process that answers, and by
    every server summed (`all_servers`, through the shared cache)."""

    permission_classes = [IsDispatcher]

    @extend_schema(responses=OverloadOut)
    def get(self, request):
        return Response(OverloadOut(overflow_totals()).data)


class OrderAssignApi(APIView):
    permission_classes = [IsDispatcher]

    @extend_schema(request=AssignIn, responses=MaskedOrderOut)
    def post(self, request, order_id: int):
        data = AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_assign(order=order, rider_id=data.validated_data["rider"], by=request.user)
        return Response(MaskedOrderOut(order).data)


class OrderSuggestionsApi(APIView):
    """Riders to send, best first: on duty, allowed by the order's merchant and the dispatcher's fleet scope,
    ranked by ETA to the store (distance, then 5 minutes per order carried). 404 for an order out of scope."""

    permission_classes = [IsDispatcher]

    @extend_schema(parameters=[SuggestionsIn], responses=SuggestionOut(many=True))
    def get(self, request, order_id: int):
        data = SuggestionsIn(data=request.query_params)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        suggestions = suggest_riders(order=order, user=request.user, limit=data.validated_data["limit"])
        return Response(SuggestionOut(suggestions, many=True).data)


class OrderBreakGlassApi(APIView):
    """Emergency reveal of contact data: a reason, a daily quota, a 15-minute grant, all audited."""

    permission_classes = [IsDispatcher]
    error_statuses = (429,)  # the daily quota

    @extend_schema(request=BreakGlassIn, responses=BreakGlassOut)
    def post(self, request, order_id: int):
        data = BreakGlassIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = selectors.access_order(user=request.user, order_id=order_id)
        contact, expires = order_break_glass(order=order, user=request.user, reason=data.validated_data["reason"])
        response = Response(BreakGlassOut({"contact": contact, "expires_at": expires}).data)
        response["Cache-Control"] = "no-store"
        return response


class OrderInteractionsApi(APIView):
    """The safety-review log of an order's calls and chat: roles, hashed ids, times, outcomes; never content."""

    permission_classes = [IsDispatcher]

    @extend_schema(responses=InteractionOut(many=True))
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(InteractionOut(interaction_log(order=order), many=True).data)


class DispatchOrderCancelApi(APIView):
    """As the merchant's cancel: a reason code; 409 `wrong_state` once delivered, returned or cancelled."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=CancelIn, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_cancel(order=order, by=request.user, reason=data.validated_data["reason"], party="dispatch")
        return Response(OrderStatusOut(order).data)


class OrderRetryApi(APIView):
    """A failed order (store policy "retry") goes out again with the rider holding the bag, from the area tier.
    409 `wrong_state` unless failed; `retry_window_over` once the window has closed (the bag is then going back)."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=None, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(OrderStatusOut(order_retry(order_id=order.pk, by=request.user)).data)


class OrderPinUnlockApi(APIView):
    """Clear an order's PIN lock (after 5 wrong PINs the rider is told to call dispatch): audited with the
    reason; the right PIN then delivers. Another fleet's order answers 404."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=PinUnlockIn, responses=PinUnlockOut)
    def post(self, request, order_id: int):
        data = PinUnlockIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            cleared = order_pin_unlock(order=order, by=request.user, reason=data.validated_data["reason"])
        return Response(PinUnlockOut({"id": order.pk, "cleared": cleared}).data)


class AlertListApi(APIView):
    """The fleet's alerts (`?open=1`: only those not yet acknowledged), open SOS first, then newest."""

    permission_classes = [IsDispatcher]

    @extend_schema(parameters=[AlertListQuery], responses=AlertOut(many=True))
    def get(self, request):
        query = AlertListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        alerts = selectors.dispatch_alerts(user=request.user, open_only=bool(query.validated_data["open"]))
        return Response(AlertOut(alerts[:selectors.ALERTS_MAX], many=True).data)


class AlertAckApi(APIView):
    """Close an alert with a note (400 `note_required` when blank). Another fleet's alert is 404. Audited."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=AlertAckIn, responses=AlertOut)
    def post(self, request, alert_id: int):
        data = AlertAckIn(data=request.data)
        data.is_valid(raise_exception=True)
        alert = selectors.access_alert(user=request.user, alert_id=alert_id)
        return Response(AlertOut(alert_ack(alert=alert, by=request.user, note=data.validated_data["note"])).data)

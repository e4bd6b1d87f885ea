"""Merchant intake: orders in, masked views out, quotes, the order list. Thin: input, service, output.
Create and cancel honour an `Idempotency-Key` header (services/intake.py `idempotent`)."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..errors import Invalid
from ..permissions import IsMerchant, merchant_of
from ..selectors.pod import merchant_order_detail
from ..serializers import (
    CancelIn,
    MerchantOrderOut,
    OrderCreatedOut,
    OrderIn,
    OrderListQuery,
    OrderPageOut,
    OrderStatusOut,
    QuoteIn,
    QuoteOut,
    StoreOut,
)
from ..services.intake import idempotent, merchant_order_create, merchant_store
from ..services.orders import order_cancel
from ..services.quotes import quote_create
from .replay import reply

IDEMPOTENCY_HEADER = OpenApiParameter(
    name="Idempotency-Key", location=OpenApiParameter.HEADER, required=False,
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    description="Any unique string (printable ASCII, up to 255), e.g. a UUID. A retry with the same key within 24 h "
                "gets the first successful answer back (status and body, header `Idempotent-Replayed: true`); the "
                "same key with another body is 409 `idempotency_mismatch`. Keys are per merchant.")
_KEY = re.compile(r"^[!-~]{1,255}$")


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise Invalid(_("An Idempotency-Key is 1 to 255 printable ASCII characters."), code="bad_idempotency_key")
    return key


class StoreListApi(APIView):
    @extend_schema(responses=StoreOut(many=True))
    def get(self, request):
        return Response(StoreOut(selectors.stores_for(user=request.user), many=True).data)


class OrderPagination(CursorPagination):
    """Newest first by id; a bad cursor is a 400 (`bad_cursor`), not DRF's 404."""

    ordering = "-pk"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception as exc:  # DRF raises NotFound("Invalid cursor")
            raise Invalid(_("That cursor is not one this list gave out."), code="bad_cursor") from exc


class OrderCreateApi(APIView):
    """`GET`: the merchant's orders, newest first, a page at a time. `POST`: a new order."""

    permission_classes = [IsMerchant]

    @extend_schema(operation_id="api_orders_list", parameters=[OrderListQuery], responses=OrderPageOut,
                   description="Your orders, newest first, each masked as the detail view; `q` searches them by pickup "
                               "number or the start of your reference. Follow `next` until null: "
                               "an order made meanwhile never appears twice or inside a page. 400 `invalid` for a bad "
                               "filter, `bad_cursor`, `unknown_store` for a store that is not yours.")
    def get(self, request):
        query = OrderListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        orders = selectors.merchant_order_list(
            user=request.user, statuses=q.get("status", ()), store_id=q.get("store"),
            created_after=q.get("created_after"), created_before=q.get("created_before"),
            external_ref=q.get("external_ref"), q=q.get("q", ""))
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return Response(OrderPageOut({"results": page, "next": paginator.get_next_link()}).data)

    @extend_schema(request=OrderIn, responses={201: OrderCreatedOut}, parameters=[IDEMPOTENCY_HEADER],
                   description="A new order. 400: `unknown_store`, `store_required`, `out_of_area` (no quote), "
                               "`window_in_past`, `bad_window`, `unknown_quote`, `quote_expired`, `quote_mismatch`, "
                               "`bad_idempotency_key`. 409: `quote_used`, `idempotency_mismatch`.")
    def post(self, request):
        key = idempotency_key(request)
        merchant = merchant_of(request.user)

        def run():
            data = OrderIn(data=request.data)
            data.is_valid(raise_exception=True)
            v = data.validated_data
            order = merchant_order_create(
                merchant=merchant, store_id=v.get("store"), external_ref=v["external_ref"], customer=v["customer"],
                items=v["items"], consent=v["consent"], promised_at=v.get("promised_at"), quote_id=v.get("quote"),
                pickup_ready_at=v.get("pickup_ready_at"), dropoff_deadline=v.get("dropoff_deadline"))
            # The only time the link exists outside the customer's hands: the server keeps its digest alone (and a
            # replay's copy sealed under the order's key).
            url = request.build_absolute_uri(reverse("track-page", args=[order.tracking_token]))
            return 201, OrderCreatedOut({"order": order, "tracking_url": url}).data, order, True

        return reply(idempotent(merchant=merchant, key=key, operation="order.create", body=request.data, run=run))


class OrderDetailApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=MerchantOrderOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(MerchantOrderOut(merchant_order_detail(order=order, actor=request.user)).data)


class OrderCancelApi(APIView):
    """Cancel with a reason code; 409 `wrong_state` once delivered, returned or cancelled."""

    permission_classes = [IsMerchant]

    @extend_schema(request=CancelIn, responses=OrderStatusOut, parameters=[IDEMPOTENCY_HEADER],
                   description="Cancel with a reason code. 409: `wrong_state` (delivered, returned or cancelled), "
                               "`idempotency_mismatch`.")
    def post(self, request, order_id: int):
        key = idempotency_key(request)

        def run():
            data = CancelIn(data=request.data)
            data.is_valid(raise_exception=True)
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_cancel(order=order, by=request.user, reason=data.validated_data["reason"],
                                 party="merchant")
            return 200, OrderStatusOut(order).data, order, False

        return reply(idempotent(merchant=merchant_of(request.user), key=key, operation=f"order.cancel:{order_id}",
                                body=request.data, run=run))


class QuoteCreateApi(APIView):
    """A price and an ETA for a delivery from one of the merchant's stores to a point in its service area."""

    permission_classes = [IsMerchant]

    @extend_schema(request=QuoteIn, responses={201: QuoteOut},
                   description="fee = QUOTE_BASE_FEE + QUOTE_PER_KM_FEE per km (started 100 m) of straight line; eta_s "
                               "= wait until ready + QUOTE_PICKUP_S + the ride (docs/merchant-api.md). Valid "
                               "QUOTE_TTL_S (15 min), for one order. 400: `out_of_area`, `unknown_store`, "
                               "`store_required`, `window_in_past`, `bad_window`.")
    def post(self, request):
        data = QuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        merchant = merchant_of(request.user)
        store = merchant_store(merchant=merchant, store_id=v.get("store"))
        quote = quote_create(merchant=merchant, store=store, lat=v["customer"]["lat"], lng=v["customer"]["lng"],
                             pickup_ready_at=v.get("pickup_ready_at"), dropoff_deadline=v.get("dropoff_deadline"))
        return Response(QuoteOut(quote).data, status=201)

"""Merchant intake: orders in, masked views out. Thin: input, service, output."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..errors import Invalid
from ..permissions import IsMerchant, merchant_of
from ..selectors.pod import merchant_order_detail
from ..serializers import CancelIn, MerchantOrderOut, OrderCreatedOut, OrderIn, OrderStatusOut, StoreOut
from ..services.orders import order_cancel, order_create


class StoreListApi(APIView):
    @extend_schema(responses=StoreOut(many=True))
    def get(self, request):
        return Response(StoreOut(selectors.stores_for(user=request.user), many=True).data)


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
                raise Invalid(_("You may not post orders for that store."), code="unknown_store")
        else:
            candidates = list(stores[:2])
            if len(candidates) != 1:
                raise Invalid(_("Name the store: this merchant has several."), code="store_required")
            store = candidates[0]
        order = order_create(merchant=merchant, store=store, external_ref=v["external_ref"], customer=v["customer"],
                             items=v["items"], consent=v["consent"], promised_at=v.get("promised_at"))
        # The only time the link exists outside the customer's hands: the server keeps its digest alone.
        url = request.build_absolute_uri(reverse("track-page", args=[order.tracking_token]))
        return Response(OrderCreatedOut({"order": order, "tracking_url": url}).data, status=201)


class OrderDetailApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=MerchantOrderOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(MerchantOrderOut(merchant_order_detail(order=order, actor=request.user)).data)


class OrderCancelApi(APIView):
    """Cancel with a reason code; 409 `wrong_state` once delivered, returned or cancelled."""

    permission_classes = [IsMerchant]

    @extend_schema(request=CancelIn, responses=OrderStatusOut)
    def post(self, request, order_id: int):
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            order = order_cancel(order=order, by=request.user, reason=data.validated_data["reason"], party="merchant")
        return Response(OrderStatusOut(order).data)

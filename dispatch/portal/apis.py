"""The portal's own read: one order as the merchant's order page follows it (the masked order, the store's pin,
the rider's grid cell while the bag is on the road, the timeline). Writes go through the merchant API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..permissions import IsMerchant
from ..selectors.portal import portal_order
from ..serializers.portal import PortalOrderOut


class PortalOrderApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=PortalOrderOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return Response(PortalOrderOut(portal_order(order)).data)

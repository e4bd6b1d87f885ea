"""The dispatcher offers an order to one rider, who accepts or declines on their phone (`services.offers`)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..permissions import IsDispatcher
from ..serializers.offers import OfferIn, OfferMadeOut
from ..services.offers import offer_make


class OrderOfferApi(APIView):
    """201 with the offer; 409 `wrong_state` once the order has a rider, `rider_off_duty`, or `wrong_fleet` for a
    merchant's own rider and another merchant's order. A new offer replaces the order's open one."""

    permission_classes = [IsDispatcher]

    @extend_schema(request=OfferIn, responses={201: OfferMadeOut})
    def post(self, request, order_id: int):
        data = OfferIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            order = selectors.access_order(user=request.user, order_id=order_id, lock=True)
            offer = offer_make(order=order, rider_id=data.validated_data["rider"], by=request.user)
        return Response(OfferMadeOut(offer).data, status=201)

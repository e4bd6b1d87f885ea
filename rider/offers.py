"""The rider's offers: the job before it is theirs, accepted or declined before its deadline. Another rider's offer
is 404; an expired one 409 `offer_expired`, one already answered or withdrawn 409 `offer_closed`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.permissions import IsRider, rider_of
from dispatch.selectors.offers import access_offer, rider_offers
from dispatch.serializers.offers import RiderOfferOut
from dispatch.services.offers import offer_accept, offer_decline, offer_job


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class RiderOfferListApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(operation_id="rider_offers_list", responses=RiderOfferOut(many=True))
    def get(self, request):
        return _no_store(Response(RiderOfferOut(rider_offers(user=request.user), many=True).data))


class RiderOfferAcceptApi(APIView):
    """Take the job: the order is assigned to you and appears in your orders (`order` in the answer)."""

    permission_classes = [IsRider]

    @extend_schema(request=None, responses=RiderOfferOut)
    def post(self, request, offer_id: int):
        offer = access_offer(user=request.user, offer_id=offer_id)
        offer = offer_accept(offer_id=offer.pk, rider=rider_of(request.user))
        return _no_store(Response(RiderOfferOut(offer_job(offer)).data))


class RiderOfferDeclineApi(APIView):
    permission_classes = [IsRider]

    @extend_schema(request=None, responses=RiderOfferOut)
    def post(self, request, offer_id: int):
        offer = access_offer(user=request.user, offer_id=offer_id)
        offer = offer_decline(offer_id=offer.pk, rider=rider_of(request.user))
        return _no_store(Response(RiderOfferOut(offer_job(offer)).data))

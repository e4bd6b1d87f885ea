"""The merchant's side of proof of delivery and feedback: its own orders only (404 otherwise)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..errors import NotFound
from ..permissions import IsMerchant
from ..photos import photo_response
from ..selectors.pod import feedback_for_merchant, order_proof, pod_photo
from ..serializers import PHOTO_RESPONSE, FeedbackOut, PodOut


class OrderPodApi(APIView):
    """How the order was proved delivered; 404 `not_found` before delivery."""

    permission_classes = [IsMerchant]

    @extend_schema(responses=PodOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        view = order_proof(order)
        if view is None:
            raise NotFound()
        return Response(PodOut(view).data)


class OrderPodPhotoApi(APIView):
    """The delivery photo, within the retention window (404 after, once shredded, or if there is none). Each
    view is audited (`pod.photo_viewed`)."""

    permission_classes = [IsMerchant]

    @extend_schema(responses={(200, "image/jpeg"): PHOTO_RESPONSE})
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        return photo_response(pod_photo(order=order, actor=request.user, party="merchant"))


class OrderFeedbackApi(APIView):
    """The customer's feedback, its free text masked (phone numbers, e-mail addresses) and its reading audited;
    404 `not_found` while there is none."""

    permission_classes = [IsMerchant]

    @extend_schema(responses=FeedbackOut)
    def get(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        view = feedback_for_merchant(order=order, actor=request.user)
        if view is None:
            raise NotFound()
        return Response(FeedbackOut(view).data)

"""The rider's delivery photo (proof of delivery, dispatch/services/pod.py): multipart in, a receipt out. The
photo never comes back to the rider's device from the server, and the app's service worker caches no /api/."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import selectors
from dispatch.errors import Invalid
from dispatch.permissions import IsRider, rider_of
from dispatch.photos import MAX_UPLOAD_BYTES
from dispatch.serializers import PodPhotoIn, PodPhotoOut
from dispatch.services.pod import pod_photo_upload


class RiderPodPhotoApi(APIView):
    """Upload the delivery photo before delivering under the `photo`, `pin_photo` or `leave_at_door` policy (409
    `photo_not_needed` otherwise). A new upload replaces the last until delivery."""

    permission_classes = [IsRider]
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": PodPhotoIn}, responses={201: PodPhotoOut})
    def post(self, request, order_id: int):
        order = selectors.access_order(user=request.user, order_id=order_id)
        data = PodPhotoIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["photo"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise Invalid(_("The photo is too large (at most 10 MB)."), code="photo_too_large")
        proof = pod_photo_upload(rider=rider_of(request.user), order_id=order.pk, raw=upload.read())
        return Response(PodPhotoOut(proof).data, status=201)

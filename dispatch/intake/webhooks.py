"""Merchants' webhook endpoints: register, list, rotate, delete, the delivery log and redelivery. Thin."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ..permissions import IsMerchant, merchant_of
from ..selectors.webhooks import access_delivery, access_endpoint, endpoint_deliveries, merchant_endpoints
from ..serializers.webhooks import (
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookRotateIn,
    WebhookSecretOut,
)
from ..services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate,
    webhook_redeliver,
)


def _with_secret(endpoint, secret: str):
    endpoint.secret = secret  # on this instance only, for the one response that shows it
    return endpoint


class WebhookListApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=WebhookOut(many=True))
    def get(self, request):
        return Response(WebhookOut(merchant_endpoints(user=request.user), many=True).data)

    @extend_schema(request=WebhookIn, responses={201: WebhookSecretOut})
    def post(self, request):
        data = WebhookIn(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = webhook_endpoint_create(merchant=merchant_of(request.user), **data.validated_data)
        return Response(WebhookSecretOut(_with_secret(endpoint, secret)).data, status=201)


class WebhookDetailApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=WebhookOut)
    def get(self, request, endpoint_id: int):
        return Response(WebhookOut(access_endpoint(user=request.user, endpoint_id=endpoint_id)).data)

    @extend_schema(request=None, responses={200: WebhookOut})
    def delete(self, request, endpoint_id: int):
        """Disables the endpoint for good (answered with `state: "disabled"`); afterwards it is 404."""
        with transaction.atomic():
            endpoint = access_endpoint(user=request.user, endpoint_id=endpoint_id, lock=True)
            webhook_endpoint_delete(endpoint=endpoint)
        return Response(WebhookOut(endpoint).data)


class WebhookRotateApi(APIView):
    """A new secret, shown once; the old one still signs (a second `v1=`) for `overlap_s`, 24 h by default."""

    permission_classes = [IsMerchant]

    @extend_schema(request=WebhookRotateIn, responses=WebhookSecretOut)
    def post(self, request, endpoint_id: int):
        data = WebhookRotateIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            endpoint = access_endpoint(user=request.user, endpoint_id=endpoint_id, lock=True)
            endpoint, secret = webhook_endpoint_rotate(endpoint=endpoint, overlap_s=data.validated_data.get("overlap_s"))
        return Response(WebhookSecretOut(_with_secret(endpoint, secret)).data)


class WebhookDeliveriesApi(APIView):
    permission_classes = [IsMerchant]

    @extend_schema(responses=WebhookDeliveryOut(many=True))
    def get(self, request, endpoint_id: int):
        endpoint = access_endpoint(user=request.user, endpoint_id=endpoint_id)
        return Response(WebhookDeliveryOut(endpoint_deliveries(endpoint=endpoint), many=True).data)


class WebhookRedeliverApi(APIView):
    """The same event (same `id`) sent again as a new attempt, whatever became of the last one."""

    permission_classes = [IsMerchant]

    @extend_schema(request=None, responses={202: WebhookDeliveryOut})
    def post(self, request, delivery_id: int):
        delivery = webhook_redeliver(delivery=access_delivery(user=request.user, delivery_id=delivery_id))
        return Response(WebhookDeliveryOut(delivery).data, status=202)

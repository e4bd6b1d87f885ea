"""A merchant's webhook endpoints and their delivery logs. Another merchant's, or a deleted endpoint, is 404."""

from __future__ import annotations

from django.db.models import QuerySet

from ..errors import NotFound
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEndpointState
from ..permissions import merchant_of

DELIVERY_LOG_MAX = 100  # a log answers at most this many (the newest)


def merchant_endpoints(*, user) -> QuerySet[WebhookEndpoint]:
    merchant = merchant_of(user)
    if merchant is None:
        return WebhookEndpoint.objects.none()
    return (WebhookEndpoint.objects.filter(merchant=merchant).exclude(state=WebhookEndpointState.DISABLED)
            .order_by("-created_at", "-pk"))


def access_endpoint(*, user, endpoint_id, lock: bool = False) -> WebhookEndpoint:
    qs = merchant_endpoints(user=user)
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=int(endpoint_id))
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def endpoint_deliveries(*, endpoint: WebhookEndpoint, limit: int = DELIVERY_LOG_MAX) -> list[WebhookDelivery]:
    """Newest first."""
    return list(endpoint.deliveries.order_by("-created_at", "-pk")[:limit])


def access_delivery(*, user, delivery_id) -> WebhookDelivery:
    try:
        return (WebhookDelivery.objects.select_related("endpoint")
                .get(pk=int(delivery_id), endpoint__in=merchant_endpoints(user=user)))
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc

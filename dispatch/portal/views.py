"""The portal's pages: shells that the ES modules in static/portal/js/ fill from the API. Another merchant's order
answers the plain 404 page, like a missing one."""

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .. import selectors
from ..errors import NotFound
from ..masking import masked_items
from ..permissions import merchant_of
from ..selectors.portal import RIDER_AREA_MAX_AGE, STATUSES
from ..services.reasons import CANCEL_REASONS
from ..tokens import label_ref

LIST_POLL_S = 20  # the list re-reads its first page this often while the tab is visible (no merchant socket)
ORDER_POLL_S = 10  # the order page re-reads the order this often while it is on the road


def _wrong_role(request):
    return render(request, "wrong_role.html", {"wanted": "merchant"}, status=403)


def _stores(user) -> list[dict]:
    return [{"id": s.pk, "name": s.name, "lat": s.lat, "lng": s.lng} for s in selectors.stores_for(user=user)]


def _map() -> dict:
    return {"tiles": settings.MAP_TILES, "attribution": "© OpenStreetMap contributors"}


@never_cache
@login_required
def orders(request):
    """The list: filters, a search box, cursor paging and a light poll for status changes."""
    if merchant_of(request.user) is None:
        return _wrong_role(request)
    config = {"stores": _stores(request.user), "statuses": list(STATUSES),
              "poll_s": LIST_POLL_S}
    return render(request, "portal/orders.html", {"portal_config": config, "nav": "orders"})


@never_cache
@login_required
def order_new(request):
    """The create form: quote first, then create with the quote and one Idempotency-Key per form."""
    if merchant_of(request.user) is None:
        return _wrong_role(request)
    stores = _stores(request.user)
    config = {"stores": stores, **_map()}
    return render(request, "portal/order_new.html", {"portal_config": config, "stores": stores, "nav": "new"})


@never_cache
@login_required
def order_page(request, order_id: int):
    """One order, followed live on a coarse map; cancel and label from here."""
    if merchant_of(request.user) is None:
        return _wrong_role(request)
    try:
        order = selectors.access_order(user=request.user, order_id=order_id)
    except NotFound:
        return render(request, "404.html", status=404)
    config = {"order": order.pk, "poll_s": ORDER_POLL_S, "rider_max_age_s": int(RIDER_AREA_MAX_AGE.total_seconds()),
              "reasons": list(CANCEL_REASONS), **_map()}
    return render(request, "portal/order.html", {"portal_config": config, "order": order, "nav": "orders"})


@never_cache
@login_required
def order_label(request, order_id: int):
    """The same privacy label the counter prints (no address, masked name and phone tail), for the merchant."""
    if merchant_of(request.user) is None:
        return _wrong_role(request)
    try:
        order = selectors.access_order(user=request.user, order_id=order_id)
    except NotFound:
        return render(request, "404.html", status=404)
    items = masked_items(order.items.all(), with_names=False)
    ref = f"PD-{label_ref(order.pk)}"
    qr = segno.make(ref, error="m").svg_data_uri(scale=4, border=1)
    return render(request, "pickup/label.html", {"order": order, "items": items, "qr": qr, "ref": ref,
                                                 "back_url": f"/portal/orders/{order.pk}/"})

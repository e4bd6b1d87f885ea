import hashlib
import hmac

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from dispatch import selectors
from dispatch.errors import NotFound
from dispatch.permissions import staff_of


@never_cache
@login_required
def console(request):
    staff = staff_of(request.user)
    if staff is None:
        return render(request, "wrong_role.html", {"wanted": "store staff"}, status=403)
    return render(request, "pickup/console.html", {"store": staff.store})


@never_cache
@login_required
def label(request, order_id: int):
    """The privacy label: pickup number, an opaque QR, masked name and phone tail. No address."""
    if staff_of(request.user) is None:
        return render(request, "wrong_role.html", {"wanted": "store staff"}, status=403)
    try:
        order = selectors.access_order(user=request.user, order_id=order_id)
    except NotFound:
        return render(request, "404.html", status=404)
    items = selectors.items_view(order)
    qr = segno.make(f"PD-{label_ref(order.pk)}", error="m").svg_data_uri(scale=4, border=1)
    return render(request, "pickup/label.html", {"order": order, "items": items, "qr": qr})


def label_ref(order_id: int) -> str:
    """An opaque bag reference for the QR: the store's system can match it, a finder learns nothing."""
    return hmac.new(settings.SECRET_KEY.encode(), f"label:{order_id}".encode(), hashlib.sha256).hexdigest()[:12]

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django_permissions_policy.decorators import permissions_policy_override

from dispatch import selectors
from dispatch.errors import NotFound
from dispatch.masking import masked_items
from dispatch.permissions import staff_of
from dispatch.services.counter import failure_limit, undo_window
from dispatch.tokens import label_ref


@permissions_policy_override({**settings.PERMISSIONS_POLICY, "camera": ["self"], "microphone": ["self"]})  # QR scan; in-app calls
@never_cache
@login_required
def console(request):
    staff = staff_of(request.user)
    if staff is None:
        return render(request, "wrong_role.html", {"wanted": "store staff"}, status=403)
    store = staff.store
    config = {
        "store": {"id": store.pk, "name": store.name, "prefix": store.pickup_prefix},
        "undo_window_s": int(undo_window().total_seconds()),
        "failure_limit": failure_limit(),
        "handoff_code_ttl_s": settings.HANDOFF_CODE_TTL_S,
        "jsqr": static("vendor/jsqr/jsQR.js"),  # the QR decoder where the browser has no BarcodeDetector
    }
    return render(request, "pickup/console.html", {"store": store, "config": config})


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
    items = masked_items(order.items.all(), with_names=False)
    ref = f"PD-{label_ref(order.pk)}"
    qr = segno.make(ref, error="m").svg_data_uri(scale=4, border=1)
    return render(request, "pickup/label.html", {"order": order, "items": items, "qr": qr, "ref": ref})

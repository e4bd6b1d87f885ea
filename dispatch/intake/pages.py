"""The merchant's webhook page: a shell; endpoints and deliveries come from the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ..permissions import merchant_of
from ..services.webhooks import WEBHOOK_TYPES


@never_cache
@login_required
def webhooks_page(request):
    if merchant_of(request.user) is None:
        return render(request, "wrong_role.html", {"wanted": "merchant"}, status=403)
    return render(request, "portal/webhooks.html", {"hook_config": {"types": list(WEBHOOK_TYPES)},
                                                          "nav": "webhooks"})

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_permissions_policy.decorators import permissions_policy_override

from ..errors import NotFound
from ..selectors import order_by_tracking_token
from .limits import page_refusal, request_address, track_missed, track_try


@permissions_policy_override({**settings.PERMISSIONS_POLICY, "microphone": ["self"]})  # in-app calls
@never_cache
def track_page(request, token: str):
    """The customer's page. The token is the capability; an expired or unknown one is a plain 404 page, and a miss
    counted against the address. Too many misses: 429 with Retry-After (dispatch/tracking/limits.py)."""
    wait = track_try(request_address(request))
    if wait:
        return page_refusal(request, wait)
    try:
        order_by_tracking_token(token=token)
    except NotFound:
        track_missed(request_address(request))
        response = render(request, "dispatch/track_expired.html", status=404)
    else:
        response = render(request, "dispatch/track.html", {"track_config": {"token": token, "sw": "/t/sw.js"}})
    response["Referrer-Policy"] = "no-referrer"
    return response


def service_worker(request):
    """The tracking page's worker (Web Push only, no cache), allowed to control every tracking link's page."""
    with open(finders.find("dispatch/track-sw.js"), encoding="utf-8") as fh:
        response = HttpResponse(fh.read(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/t/"
    response["Cache-Control"] = "no-cache"
    return response

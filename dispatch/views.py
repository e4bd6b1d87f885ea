from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_permissions_policy.decorators import permissions_policy_override

from .errors import NotFound
from .permissions import is_dispatcher, role_of
from .selectors import order_by_tracking_token

ROLE_HOME = {"rider": "/rider/", "staff": "/pickup/", "dispatcher": "/dispatch/", "merchant": "/api/docs/"}


def home(request):
    role = role_of(request.user) if request.user.is_authenticated else None
    return render(request, "home.html", {"role": role, "role_home": ROLE_HOME.get(role or "", "")})


@never_cache
@login_required
def board(request):
    """The dispatcher's board. A shell only: orders, riders and stores come from the API."""
    if not is_dispatcher(request.user):
        return render(request, "wrong_role.html", {"wanted": "dispatcher"}, status=403)
    config = {"tiles": settings.TILE_URL, "attribution": "© OpenStreetMap contributors",
              "break_glass_quota": settings.BREAK_GLASS_QUOTA_PER_DAY}
    return render(request, "dispatch/board.html", {"map_config": config})


@permissions_policy_override({**settings.PERMISSIONS_POLICY, "microphone": ["self"]})  # in-app calls
@never_cache
def track_page(request, token: str):
    """The customer's page. The token is the capability; an expired or unknown one is a plain 404 page."""
    try:
        order_by_tracking_token(token=token)
    except NotFound:
        response = render(request, "dispatch/track_expired.html", status=404)
    else:
        response = render(request, "dispatch/track.html", {"track_config": {"token": token}})
    response["Referrer-Policy"] = "no-referrer"
    return response


class PrivacyLogoutView(LogoutView):
    """Logging out also tells the browser to drop this site's caches and storage (the rider's
    IndexedDB queue and any cached shell), on top of what the page clears itself."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response

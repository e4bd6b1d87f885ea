from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.cache import never_cache

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
    if not is_dispatcher(request.user):
        return render(request, "wrong_role.html", {"wanted": "dispatcher"}, status=403)
    return render(request, "dispatch/board.html", {"map_config": {"tiles": settings.TILE_URL}})


@never_cache
def track_page(request, token: str):
    try:
        order_by_tracking_token(token=token)
    except NotFound:
        return render(request, "dispatch/track_expired.html", status=404)
    response = render(request, "dispatch/track.html", {"token": token})
    response["Referrer-Policy"] = "no-referrer"
    return response

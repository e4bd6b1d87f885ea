import hashlib
import json
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django_permissions_policy.decorators import permissions_policy_override

from dispatch.permissions import rider_of


@permissions_policy_override({**settings.PERMISSIONS_POLICY, "geolocation": ["self"], "microphone": ["self"],
                             "screen-wake-lock": ["self"]})
@never_cache
@login_required
def rider_app(request):
    """The PWA shell. It holds no order data: the page fetches it through the API."""
    rider = rider_of(request.user)
    if rider is None:
        return render(request, "wrong_role.html", {"wanted": "rider"}, status=403)
    config = {"on_duty": rider.on_duty, "rider_id": rider.pk,
              "tiles": settings.MAP_TILES, "sw": reverse("rider-sw"), "scope": reverse("rider-app"),
              "leaflet_js": static("leaflet/leaflet.js"), "leaflet_css": static("leaflet/leaflet.css")}
    return render(request, "rider/app.html", {"rider_name": rider.display_name, "on_duty": rider.on_duty,
                                              "rider_config": config})


def service_worker(request):
    """The worker's shell list names the static files as pages do (hashed after collectstatic), and its
    cache name follows them: a deploy that changes a file installs a new shell."""
    with open(static_path("rider/sw.js"), encoding="utf-8") as fh:
        source = fh.read()
    source = re.sub(r'"/static/([\w./-]+\.\w+)"', lambda m: json.dumps(static(m.group(1))), source)
    version = hashlib.sha256(source.encode()).hexdigest()[:12]
    source, named = re.subn(r'"rider-shell-[\w-]+"', json.dumps(f"rider-shell-{version}"), source, count=1)
    if not named:
        raise ImproperlyConfigured("rider/sw.js names no \"rider-shell-...\" cache for the deploy's version")
    response = HttpResponse(source, content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/rider/"
    response["Cache-Control"] = "no-cache"
    return response


def manifest(request):
    return JsonResponse({
        "name": "Rider — privacy-first delivery",
        "short_name": "Rider",
        "start_url": "/rider/",
        "scope": "/rider/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b0c0c",
        "icons": [
            {"src": static("rider/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("rider/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }, content_type="application/manifest+json")


def static_path(name: str) -> str:
    from django.contrib.staticfiles import finders

    return finders.find(name)

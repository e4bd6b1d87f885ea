"""Site pages shared by every party: the home page, a logout that clears the browser's data, and the API token."""

from django.contrib.auth.views import LogoutView
from django.shortcuts import render
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from .parsers import LimitedJSONParser
from .permissions import role_of

ROLE_HOME = {"rider": "/rider/", "staff": "/pickup/", "dispatcher": "/dispatch/", "merchant": "/api/docs/"}


def home(request):
    role = role_of(request.user) if request.user.is_authenticated else None
    return render(request, "home.html", {"role": role, "role_home": ROLE_HOME.get(role or "", "")})


class PrivacyLogoutView(LogoutView):
    """Logging out also tells the browser to drop this site's caches and storage (the rider's
    IndexedDB queue and any cached shell), on top of what the page clears itself."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


class TokenApi(ObtainAuthToken):
    """POST {username, password} -> {token}: DRF's view with the API's JSON parser (depth and size limits)."""

    parser_classes = [LimitedJSONParser, FormParser, MultiPartParser]

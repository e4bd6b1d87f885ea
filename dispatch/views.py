"""Site pages shared by every party: the home page, a logout that clears the browser's data, and the API token."""

from django.conf import settings
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .demo import DEMO_PASSWORD, DEMO_SCREENS
from .forms import LoginForm, TokenIn
from .parsers import LimitedJSONParser
from .permissions import role_of
from .selectors.messages import outbox_recent
from .serializers import HealthOut, NotReadyOut, TokenOut
from .services.health import readiness

ROLE_HOME = {"rider": "/rider/", "staff": "/pickup/", "dispatcher": "/dispatch/", "merchant": "/portal/"}


def home(request):
    role = role_of(request.user) if request.user.is_authenticated else None
    demo = {"demo_screens": DEMO_SCREENS, "demo_password": DEMO_PASSWORD} if settings.DEMO_MODE else {}
    return render(request, "home.html", {"role": role, "role_home": ROLE_HOME.get(role or "", ""), **demo})


def not_found(request, exception):
    """handler404: an API path that names nothing answers in the API's error shape; pages keep the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


class RoleLoginView(LoginView):
    """After login each party lands in its own app; a safe `next` still wins."""

    redirect_authenticated_user = True
    authentication_form = LoginForm

    def get_default_redirect_url(self):
        return ROLE_HOME.get(role_of(self.request.user) or "", "") or super().get_default_redirect_url()


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
    serializer_class = TokenIn

    @extend_schema(request=TokenIn, responses=TokenOut)
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response(TokenOut(token).data)


def dev_outbox(request):
    """The sandbox provider's outbox: what the customers would have received. Demo (or DEBUG) mode only, and only
    for dispatchers and store staff; 404 for anyone else. Each body shown is an audited vault read."""
    if not (settings.DEBUG or settings.DEMO_MODE) or settings.NOTIFY_PROVIDER != "sandbox":
        raise Http404()
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_staff or role_of(request.user) in ("dispatcher", "staff")):
        raise Http404()
    rows = outbox_recent(user=request.user)
    response = render(request, "dev/outbox.html", {"rows": rows})
    response["Cache-Control"] = "no-store"
    return response


class _ProbeApi(APIView):
    """Load balancer probes: no session, no CSRF, no authentication, no throttle, never cached. In production
    they are answered by config.middleware.HealthProbeMiddleware, before the host check and the HTTPS redirect."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class HealthzApi(_ProbeApi):
    """GET /healthz: 200 while the process serves. Touches nothing (no database, no cache)."""

    @extend_schema(responses=HealthOut, summary="Liveness: the process serves")
    def get(self, request):
        return Response(HealthOut({"ok": True}).data)


class ReadyzApi(_ProbeApi):
    """GET /readyz: 200 when this process may take traffic, else 503 naming the failing parts
    (dispatch/services/health.py; docs/operations.md)."""

    @extend_schema(responses={200: HealthOut, 503: NotReadyOut}, summary="Readiness: every dependency answers")
    def get(self, request):
        failing = readiness()
        if failing:
            response = Response(NotReadyOut({"ok": False, "failing": list(failing)}).data, status=503)
            response._has_been_logged = True  # readiness() logged the reasons; no "Service Unavailable" line a probe
            return response
        return Response(HealthOut({"ok": True}).data)

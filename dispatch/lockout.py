"""The answer to a locked-out login (django-axes calls `lockout_response`, AXES_LOCKOUT_CALLABLE), and
the API token view that reports a lockout the same way: 429 with Retry-After, JSON
`{"code": "locked_out", "detail": ...}` under /api/, the login page with the message elsewhere."""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError

from dispatch.serializers import TokenOut
from dispatch.views import TokenApi


def retry_after_s(request, credentials: dict | None) -> int:
    """Seconds until the lock ends at the latest: the newest failure counted against this username or
    address, plus the cool-off. Never short, so a client that waits this long is let in."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return 3600
    latest = None
    for attempts in AxesDatabaseHandler().get_user_attempts(request, credentials):
        newest = attempts.aggregate(newest=Max("attempt_time"))["newest"]
        if newest is not None and (latest is None or newest > latest):
            latest = newest
    remaining = (latest or timezone.now()) + cool_off - timezone.now()
    return max(1, math.ceil(remaining.total_seconds()))


def lockout_response(request, original_response=None, credentials: dict | None = None) -> HttpResponse:
    retry = retry_after_s(request, credentials)
    minutes = math.ceil(retry / 60)
    detail = ngettext("Too many failed attempts to log in with this account or from this address. "
                      "Try again in %(minutes)d minute.",
                      "Too many failed attempts to log in with this account or from this address. "
                      "Try again in %(minutes)d minutes.", minutes) % {"minutes": minutes}
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "locked_out", "detail": detail}, status=429)
    else:
        username = get_client_username(request, credentials) or ""
        form = AuthenticationForm(request, initial={"username": username})
        next_url = request.POST.get("next") or request.GET.get("next", "")
        response = render(request, "registration/login.html", {"form": form, "locked_out": detail, "next": next_url},
                          status=429)
    response["Retry-After"] = str(retry)
    return response


class AuthTokenApi(TokenApi):
    """POST /api/auth/token/ {username, password} -> {token}; 429 `locked_out` while django-axes holds a
    lock. (Axes flags the DRF request it was handed, which its middleware never sees.)"""

    error_statuses = (429,)

    @extend_schema(request=AuthTokenSerializer, responses=TokenOut)
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, None, getattr(request, "axes_credentials", None))
            raise

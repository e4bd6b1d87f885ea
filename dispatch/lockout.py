"""Login guessing, at every door (login form, POST /api/auth/token/, admin login):

- django-axes locks one username from one address (AXES_LOCKOUT_PARAMETERS [["username", "ip_address"]]):
  neither a username alone nor an address alone, so nobody can lock an account from elsewhere and one
  address's failures do not lock out the others behind the same NAT;
- a username failing from many addresses slows down instead (`GuardedBackend`): past LOGIN_BACKOFF_AFTER
  failures across addresses, each further try from an address that has failed for it waits 1, 2, 4... s
  (capped at LOGIN_BACKOFF_CAP_S), while an address with no failure for it is let through to the password
  check, so the owner still logs in from their own phone;
- such an account is flagged to dispatch (`login_attack` alert, the rider's display name only);
- the client address is REMOTE_ADDR unless TRUSTED_PROXY_COUNT reverse proxies stand in front
  (`client_address`).

The answer to a locked-out or waiting login (django-axes calls `lockout_response`, AXES_LOCKOUT_CALLABLE),
and the API token view that reports it the same way: 429 with Retry-After, JSON
`{"code": "locked_out", "detail": ...}` under /api/, the login page with the message elsewhere."""

from __future__ import annotations

import math
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db.models import Count, Max, Sum
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError

from dispatch.forms import LoginForm, TokenIn
from dispatch.serializers import TokenOut
from dispatch.views import TokenApi


def client_address(request) -> str | None:
    """The client's address (AXES_CLIENT_IP_CALLABLE; the tracking limits use it too). With no trusted proxy,
    REMOTE_ADDR: a client's own X-Forwarded-For is ignored. Behind TRUSTED_PROXY_COUNT reverse proxies, each
    appending the address it saw to X-Forwarded-For, the client is that many entries from the right; what the
    client wrote to the left of it is ignored."""
    return address_from(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def address_from(remote: str | None, forwarded: str) -> str | None:
    """`client_address` from REMOTE_ADDR (or a socket's peer) and the X-Forwarded-For header's value."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0
    if proxies <= 0:
        return remote
    chain = [part.strip() for part in forwarded.split(",") if part.strip()]
    if len(chain) < proxies:
        return remote
    return chain[-proxies][:64]


def _window_attempts(username: str):
    return AccessAttempt.objects.filter(username=username,
                                        attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)


def backoff_wait_s(*, username: str | None, address: str | None) -> int:
    """Seconds this address must still wait before trying this username again: 0 below LOGIN_BACKOFF_AFTER
    failures for it in the window, and 0 for an address with no failure for it (the owner's own phone)."""
    if not username:
        return 0
    rows = list(_window_attempts(username).values("ip_address", "failures_since_start", "attempt_time"))
    total = sum(r["failures_since_start"] for r in rows)
    over = total - settings.LOGIN_BACKOFF_AFTER
    if over < 0 or not any(r["ip_address"] == address for r in rows):
        return 0
    delay = min(2 ** min(over, 30), settings.LOGIN_BACKOFF_CAP_S)
    remaining = max(r["attempt_time"] for r in rows) + timedelta(seconds=delay) - timezone.now()
    return max(0, math.ceil(remaining.total_seconds()))


class GuardedBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: axes' lock of this username from this address, then the username's
    backoff. A try refused here reaches no password check and counts as no failure."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        super().authenticate(request, username=username, password=password, **kwargs)
        if request is None or not getattr(settings, "AXES_ENABLED", True):
            return None
        wait = backoff_wait_s(username=get_client_username(request, {"username": username}),
                              address=getattr(request, "axes_ip_address", None))
        if wait:
            request.axes_locked_out = True
            request.login_wait_s = wait
            raise AxesBackendPermissionDenied("This username is waiting after failures from many addresses")
        return None


@receiver(user_login_failed, dispatch_uid="dispatch.lockout.login_attack")
def _flag_attack(sender, credentials: dict, request=None, **kwargs) -> None:
    """A username failing LOGIN_BACKOFF_AFTER times or more in the window: an open `login_attack` alert for
    dispatch (bumped by each further failure). Its row names the rider (or the account id), never the
    username or an address."""
    if request is None or getattr(request, "axes_locked_out", False):
        return
    username = get_client_username(request, credentials)
    if not username:
        return
    seen = _window_attempts(username).aggregate(failures=Sum("failures_since_start"), addresses=Count("ip_address",
                                                                                                      distinct=True))
    failures = seen["failures"] or 0
    if failures < settings.LOGIN_BACKOFF_AFTER:
        return
    user = get_user_model()._default_manager.filter(username=username).select_related("rider").first()
    if user is None:
        return
    from dispatch.services.alerts import alert_raise

    rider = getattr(user, "rider", None)
    alert_raise(kind="login_attack", key=f"login_attack:user:{user.pk}", rider=rider,
                detail={"failures": failures, "addresses": seen["addresses"], "user": user.pk,
                        "window_s": int(settings.AXES_COOLOFF_TIME.total_seconds())})


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
    retry = getattr(request, "login_wait_s", None) or retry_after_s(request, credentials)
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
        form = LoginForm(request, initial={"username": username[:150]})
        next_url = request.POST.get("next") or request.GET.get("next", "")
        response = render(request, "registration/login.html", {"form": form, "locked_out": detail, "next": next_url},
                          status=429)
    response["Retry-After"] = str(retry)
    return response


class AuthTokenApi(TokenApi):
    """POST /api/auth/token/ {username, password} -> {token}; 429 `locked_out` while django-axes holds a
    lock. (Axes flags the DRF request it was handed, which its middleware never sees.)"""

    error_statuses = (429,)

    @extend_schema(request=TokenIn, responses=TokenOut)
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request, None, getattr(request, "axes_credentials", None))
            raise

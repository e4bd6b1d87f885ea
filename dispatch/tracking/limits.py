"""Tracking links are guessed at no faster than TRACKING_RATE_LIMIT tries per TRACKING_RATE_WINDOW_S per client
address, across the page (/t/<token>/), its API (/api/track/<token>/...) and its socket's connect. Known,
unknown and expired links count alike, so the limit says nothing of which links exist; over it, 429 with
Retry-After (the socket is refused as an unknown link is). Counted in the cache (one key per address and
window: the address only as a digest), so a cache outage lets tries through rather than refusing everyone."""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

from ..lockout import address_from


def _clock() -> float:
    return time.time()


def _limit() -> tuple[int, int]:
    return int(getattr(settings, "TRACKING_RATE_LIMIT", 60)), int(getattr(settings, "TRACKING_RATE_WINDOW_S", 60))


def track_try(address: str | None) -> int:
    """Count one try from this address; 0 when allowed, else the seconds until its window ends."""
    limit, window = _limit()
    if limit <= 0:
        return 0
    now = _clock()
    slot = int(now // window)
    who = hashlib.blake2b((address or "?").encode(), digest_size=12, key=b"track-rate").hexdigest()
    key = f"track-rate:{who}:{slot}"
    try:
        cache.add(key, 0, timeout=window + 5)
        count = cache.incr(key)
    except Exception:  # noqa: BLE001 - the cache is down or evicted the key: let the try through
        return 0
    if count <= limit:
        return 0
    return max(1, math.ceil((slot + 1) * window - now))


def request_address(request) -> str | None:
    return address_from(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR", ""))


def scope_address(scope) -> str | None:
    client = scope.get("client") or (None,)
    forwarded = ""
    for name, value in scope.get("headers") or []:
        if name == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    return address_from(client[0], forwarded)


class TrackThrottle(BaseThrottle):
    """The tracking API's limit (DRF answers 429 `rate_limited` with Retry-After)."""

    def allow_request(self, request, view) -> bool:
        self._wait = track_try(request_address(request))
        return self._wait == 0

    def wait(self):
        return self._wait


def page_refusal(request, wait: int):
    response = render(request, "dispatch/track_busy.html", status=429)
    response["Retry-After"] = str(wait)
    response["Referrer-Policy"] = "no-referrer"
    return response




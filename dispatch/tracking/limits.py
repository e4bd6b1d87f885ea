"""Tracking links are guessed at no faster than TRACKING_RATE_LIMIT misses (unknown or expired links) per
TRACKING_RATE_WINDOW_S per client address, across the page (/t/<token>/), its API (/api/track/<token>/...) and
its socket's connect. Only misses count: customers who share one address (a carrier's NAT, an office) and keep
their pages open are never refused for their own traffic. Once an address is over, every try from it is refused
for the rest of the window, known links included, so a guesser cannot tell a hit from a miss by the refusal; 429
with Retry-After (the socket is refused as an unknown link is). Counted in the cache (one key per address and
window: the address only as a digest), so a cache outage lets tries through rather than refusing everyone."""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle

from ..errors import NotFound
from ..lockout import address_from


def _clock() -> float:
    return time.time()


def _limit() -> tuple[int, int]:
    return int(getattr(settings, "TRACKING_RATE_LIMIT", 60)), int(getattr(settings, "TRACKING_RATE_WINDOW_S", 60))


def _key(address: str | None, slot: int) -> str:
    who = hashlib.blake2b((address or "?").encode(), digest_size=12, key=b"track-rate").hexdigest()
    return f"track-rate:{who}:{slot}"


def track_try(address: str | None) -> int:
    """Whether this address may try a link now: 0 when allowed, else the seconds until its window ends."""
    limit, window = _limit()
    if limit <= 0:
        return 0
    now = _clock()
    slot = int(now // window)
    try:
        misses = cache.get(_key(address, slot)) or 0
    except Exception:  # noqa: BLE001 - the cache is down: let the try through
        return 0
    if misses < limit:
        return 0
    return max(1, math.ceil((slot + 1) * window - now))


def track_missed(address: str | None) -> None:
    """Count one miss (an unknown or expired link) against this address."""
    limit, window = _limit()
    if limit <= 0:
        return
    key = _key(address, int(_clock() // window))
    try:
        cache.add(key, 0, timeout=window + 5)
        cache.incr(key)
    except Exception:  # noqa: BLE001, S110 - the cache is down or evicted the key: nothing to count
        pass


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


class TrackLimited:
    """For the tracking APIs: the address's limit checked first, and a link that answers 404 counted as a miss."""

    throttle_classes = [TrackThrottle]

    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            track_missed(request_address(self.request))
        return super().handle_exception(exc)


def page_refusal(request, wait: int):
    response = render(request, "dispatch/track_busy.html", status=429)
    response["Retry-After"] = str(wait)
    response["Referrer-Policy"] = "no-referrer"
    return response




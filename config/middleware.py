"""Server-Timing: how long Django took for a request (`app;dur=<ms>`), for browsers' developer tools
and the HTTP benchmark. On by default in demo mode only (SERVER_TIMING)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed


class ServerTimingMiddleware:
    def __init__(self, get_response):
        if not settings.SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response


class SyncChainMiddleware:
    """Last in MIDDLEWARE, and sync-only: Django then runs the whole middleware chain as sync code in
    one thread under ASGI. Left to itself it runs each middleware's hooks as async code and hops to
    the sync thread and back for every one of them (our views are sync): 20 switches a request instead
    of 6, and a counter lookup's server time went from 13.1-14.7 ms to 11.0-11.2 ms (p50, bench-http
    on a loaded machine)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer Django makes (any status), unless it says no-store
    already or its URL name is in CACHEABLE_URL_NAMES: pages and API answers carry PII and secrets
    (addresses, PINs, handoff codes, tokens), and no browser or proxy cache may keep them. Static
    files are served before Django's middleware and keep their own headers."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.cacheable = frozenset(settings.CACHEABLE_URL_NAMES)

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in self.cacheable:
            return response
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = "no-store"
        return response

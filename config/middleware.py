"""Server-Timing: how long Django took for a request (`app;dur=<ms>`), for browsers' developer tools
and the HTTP benchmark. On by default in demo mode only (SERVER_TIMING)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http.cookie import parse_cookie
from django.urls import resolve

from config.logs import request_id_var


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


SERVED_BY = secrets.token_hex(8)  # this process's opaque id: no host, port or pid


class ServedByMiddleware:
    """`X-Served-By: <a random id of this process>` on every response, only with SERVED_BY_HEADER (tests that
    check which of several servers behind a load balancer answered). Off in production: nothing to fingerprint."""

    def __init__(self, get_response):
        if not settings.SERVED_BY_HEADER:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Served-By"] = SERVED_BY
        return response


class HealthProbeMiddleware:
    """First in MIDDLEWARE: GET/HEAD /healthz and /readyz are answered here, before the host check (a load balancer
    probes by address), the HTTPS redirect (it probes the backend over plain HTTP), sessions, CSRF, the login
    lockout and every rate limit. The answers name no host and hold no secret (dispatch/views.py)."""

    PATHS = frozenset({"/healthz", "/readyz"})

    def __init__(self, get_response):
        self.get_response = get_response
        self.views: dict = {}

    def __call__(self, request):
        path = request.path_info
        if path not in self.PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        view = self.views.get(path)
        if view is None:  # the URLconf's own view (dispatch/urls.py): this module imports no app
            view = self.views[path] = resolve(path).func
        response = view(request)
        response.render()
        response["X-Content-Type-Options"] = "nosniff"
        return response


_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,99}")  # a proxy's id: a UUID, a hex string, ...


class RequestIdMiddleware:
    """First in MIDDLEWARE: the request's id for every log line of it (config/logs.py `RequestId`) and in the
    answer's X-Request-ID. The proxy's X-Request-ID when it is a sane token (8-100 characters of letters,
    digits and `._:-`), so its access log and ours join up; otherwise a new one. The id stays set for what Django
    logs after the chain (django.request's "Not Found"); the next request sets its own, and one handled
    under ASGI runs in its own context."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request_id_var.set(request_id)
        request.request_id = request_id
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
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
# Headers a socket's scope does not keep once the session is found: the Cookie header (a bearer secret, kept once as
# the session's key) and the websocket handshake's own headers (read by the server during the handshake).
SOCKET_HEADERS_DROPPED = frozenset({b"cookie", b"connection", b"upgrade", b"sec-websocket-key",
                                    b"sec-websocket-version", b"sec-websocket-extensions"})


class SocketAuth:
    """The session and the account of a socket's Cookie header, into its scope: what channels' AuthMiddlewareStack
    (CookieMiddleware, SessionMiddleware, AuthMiddleware) does for a websocket, with its own `get_user` (the same
    session and auth-hash checks), in one step. Every open socket holds its middleware's coroutine frames and scope
    copies for as long as it is open, and that stack held six frames, five scope copies, a session wrapper and two
    lazy objects per socket; this holds one frame and no copy (the middleware above it, ours, read nothing after).

    `scope["user"]` is the account (or AnonymousUser), not a lazy wrapper. `scope["session"]` is a SocketSession:
    the session's key and expiry as read at connect, not the store (its data and cache handles, held by every scope
    copy for the life of the socket): a socket's re-check reads the session afresh by its key (dispatch/live/sockets.py),
    and nothing is saved back (channels' wrapper saved a modified session only on an HTTP response, never on a socket).

    The lookup runs in a task of its own, so what it leaves in context-local state (the session cache's connection
    handle, made per context under ASGI) goes with that task instead of living as long as the socket."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        session, user = await asyncio.create_task(_session_and_user(cookies.get(settings.SESSION_COOKIE_NAME)))
        # From here on the session key lives in `session` only: the Cookie header (and the handshake's own headers)
        # leave the scope, which every open socket holds for as long as it is open, and no `cookies` is added.
        scope.update(headers=[(k, v) for k, v in scope.get("headers", ()) if k not in SOCKET_HEADERS_DROPPED],
                     session=session, user=user)
        return await self.inner(scope, receive, send)


class SocketSession:
    """What a socket's scope keeps of its session: the key (None if there is no live session) and the expiry."""

    __slots__ = ("_expires", "session_key")

    def __init__(self, session_key: str | None, expires: datetime) -> None:
        self.session_key = session_key
        self._expires = expires

    def get_expiry_date(self) -> datetime:
        return self._expires


async def _session_and_user(session_key: str | None):
    from channels.auth import get_user

    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = await get_user({"session": store})  # loads the session (or finds none): no I/O below
    return SocketSession(store.session_key, store.get_expiry_date()), user

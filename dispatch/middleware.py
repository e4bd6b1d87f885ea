"""Request paths and cookies that hold a control, format or separator character, refused or dropped before any
view, session lookup or consumer sees them: for HTTP (PathCharactersMiddleware) and sockets (SocketGuard)."""

from __future__ import annotations

from channels.security.websocket import WebsocketDenier
from django.http import JsonResponse
from django.http.cookie import parse_cookie

from .text import path_is_clean


class PathCharactersMiddleware:
    """A path with a control, format or separator character (`/t/%00/`, `/api/track/%E2%80%AE/`) names nothing:
    404 before any view or database lookup sees it (PostgreSQL refuses a NUL in a query). A cookie whose name or
    value holds one (a quoted `"\\000"` decodes to NUL) is dropped before the session lookup. Before
    SessionMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not path_is_clean(request.path_info):
            return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
        if not all(path_is_clean(k) and path_is_clean(v) for k, v in request.COOKIES.items()):
            request.COOKIES = {k: v for k, v in request.COOKIES.items() if path_is_clean(k) and path_is_clean(v)}
        return self.get_response(request)


class SocketGuard:
    """The same checks for sockets, outermost: a handshake whose path holds such a character is refused before any
    consumer runs, and a Cookie header that decodes to one is dropped before the session lookup."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            if not path_is_clean(scope.get("path", "")):
                return await WebsocketDenier.as_asgi()(scope, receive, send)
            headers = scope.get("headers", [])
            cookies = [parse_cookie(v.decode("latin1")) for k, v in headers if k == b"cookie"]
            if not all(path_is_clean(k) and path_is_clean(v) for c in cookies for k, v in c.items()):
                scope = {**scope, "headers": [(k, v) for k, v in headers if k != b"cookie"]}
        return await self.inner(scope, receive, send)

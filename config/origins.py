"""The websocket handshake's Origin check: scheme, host and port.

A socket is accepted only when its Origin is one of `CSRF_TRUSTED_ORIGINS` (a `*.` host wildcard
as Django allows there) or the site's own origin: the scheme the server sees (`wss` is https; behind a proxy,
SECURE_PROXY_SSL_HEADER decides, as for HTTP) with
the Host the client sent, which must itself be in `ALLOWED_HOSTS` (else a rebound DNS name would be
"same origin" with itself). A handshake without Origin, or with `null`, is refused: browsers always
send one, and a native client can send the site's origin like a browser does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, or None for anything else (`null`, a path, a bad port)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def own_origin(scope) -> Origin | None:
    """The site's origin as this connection reached it, or None if the Host is missing or not allowed."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    scheme = "https" if secure(scope) else "http"
    return parse_origin(f"{scheme}://{host}")


def secure(scope) -> bool:
    """Whether the client reached the site over TLS: the scope's scheme, or, behind a TLS-terminating proxy,
    SECURE_PROXY_SSL_HEADER as Django reads it for HTTP (daphne puts no scheme in a websocket's scope, so
    without this a socket behind nginx took the site's origin for http:// and accepted an http:// page)."""
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy:
        return False
    name, value = proxy
    got = _header(scope, name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1"))
    return got is not None and got.split(",", 1)[0].strip() == value


def trusted(origin: Origin, scope) -> bool:
    if origin == own_origin(scope):
        return True
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        allowed = parse_origin(entry.replace("://*.", "://", 1))
        if allowed is None or allowed[0] != scheme or allowed[2] != port:
            continue
        if host == allowed[1] or (wildcard and host.endswith("." + allowed[1])):
            return True
    return False


def origin_allowed(scope) -> bool:
    value = _header(scope, b"origin")
    origin = parse_origin(value) if value else None
    return origin is not None and trusted(origin, scope)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class OriginValidator:
    """ASGI middleware: refuses (HTTP 403) a websocket handshake whose Origin is not allowed."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)

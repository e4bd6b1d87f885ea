"""Outbound webhook HTTP: the URL policy (no private, loopback, link-local, multicast or reserved address, no
scheme but http(s)), the signature header, and a POST that connects to the address that was vetted.

The host is resolved and vetted at registration and again before every attempt, and the connection goes to the
vetted address itself (`_PinnedBackend`), so a name that re-resolves to 127.0.0.1 between the check and the
connect (DNS rebinding) reaches nothing it should not. TLS still verifies the certificate for the URL's host
name (httpcore sends the name as SNI and checks it), and redirects are never followed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from ..errors import Invalid

SCHEMES = ("http", "https")
RESPONSE_READ_MAX = 16 * 1024  # what is read of a receiver's answer before the connection is dropped


def unsafe(detail: str) -> Invalid:
    return Invalid(detail, code="unsafe_url")


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a seam for tests: they monkeypatch it to play a rebinding name)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def ip_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private or ip.is_loopback
                                 or ip.is_link_local or ip.is_unspecified)


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    ip: str  # the vetted address the connection goes to


def url_vet(url: str, *, allow_private: bool | None = None) -> Target:
    """The URL's scheme and every address its host resolves to, checked; `unsafe_url` (400) otherwise."""
    allow = settings.WEBHOOKS_ALLOW_PRIVATE if allow_private is None else allow_private
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise unsafe(_("That is not a valid URL.")) from exc
    if parts.scheme not in SCHEMES:
        raise unsafe(_("Webhook URLs must use http or https."))
    if parts.username or parts.password:
        raise unsafe(_("Webhook URLs may not carry a user name or password."))
    host = parts.hostname
    if not host:
        raise unsafe(_("That is not a valid URL."))
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise unsafe(_("The host name of that URL does not resolve.")) from exc
    if not addresses:
        raise unsafe(_("The host name of that URL does not resolve."))
    if not allow:
        for address in addresses:
            if not ip_is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise unsafe(_("That URL points to a private, loopback, link-local, multicast or reserved "
                               "address: webhooks go only to public addresses."))
    return Target(url=url, host=host, port=port, ip=addresses[0])


def signature_header(*, secrets: list[str], timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one v1= per secret (current first)."""
    signed = f"{timestamp}.".encode() + body
    v1 = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={sig}" for sig in v1)])


class _PinnedBackend(httpcore.SyncBackend):
    """Connects to the vetted address whatever name the URL holds (TLS still checks that name)."""

    def __init__(self, ip: str):
        self.ip = ip

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return super().connect_tcp(self.ip, port, timeout=timeout, local_address=local_address,
                                   socket_options=socket_options)


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport over one httpcore connection to the vetted address (public APIs of both only)."""

    def __init__(self, ip: str):
        self._pool = httpcore.ConnectionPool(ssl_context=ssl.create_default_context(), max_connections=1,
                                             network_backend=_PinnedBackend(ip))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        with self._pool.stream(request.method, target, headers=request.headers.raw, content=request.read(),
                               extensions=request.extensions) as resp:
            kept = b""
            for chunk in resp.iter_stream():
                kept += chunk
                if len(kept) >= RESPONSE_READ_MAX:
                    break
        return httpx.Response(status_code=resp.status, headers=resp.headers, content=kept[:RESPONSE_READ_MAX])

    def close(self) -> None:
        self._pool.close()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str  # "" on a 2xx; else "http_<code>", "unsafe_url", or the exception's class name (never a body)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post_signed(*, url: str, body: bytes, secrets: list[str], timestamp: int, headers: dict[str, str]) -> Outcome:
    """Vet `url` again (DNS may have changed since registration), then POST `body` to the vetted address."""
    try:
        target = url_vet(url)
    except Invalid:
        return Outcome(None, "unsafe_url")
    sent_headers = {
        "Content-Type": "application/json",
        "User-Agent": "privacy-delivery-webhooks/1",
        "X-Delivery-Signature": signature_header(secrets=secrets, timestamp=timestamp, body=body),
        **headers,
    }
    try:
        with httpx.Client(transport=PinnedTransport(target.ip), timeout=settings.WEBHOOK_TIMEOUT_S,
                          follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=sent_headers)
    except (httpx.HTTPError, httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
            httpcore.UnsupportedProtocol, OSError) as exc:  # ssl.SSLError is an OSError
        return Outcome(None, type(exc).__name__)
    code = response.status_code
    return Outcome(code, "" if 200 <= code < 300 else f"http_{code}")

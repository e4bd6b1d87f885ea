"""The websocket handshake's Origin must match an allowed origin in scheme, host AND port.

Finding: the check compared only the host, so a page on another
port or scheme of an allowed host (`http://127.0.0.1:1`, `https://127.0.0.1`) could open a dispatcher
socket with the dispatcher's cookie (cross-site websocket hijacking).
"""

import pytest
from asgiref.sync import async_to_sync

from .socket_helpers import login_cookie, open_socket, shut, tracking_token

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINS = {
    "same": "http://testserver",
    "other port": "http://testserver:8001",
    "other scheme": "https://testserver",
    "other host": "http://evil.example",
    "null": "null",
    "missing": None,
}


@pytest.fixture
def paths(demo, posted_order):
    return {
        "/ws/rider/": login_cookie(demo["rider1"]),
        "/ws/store/": login_cookie(demo["store1"]),
        "/ws/dispatch/": login_cookie(demo["dispatcher1"]),
        f"/ws/track/{tracking_token(posted_order)}/": None,
    }


def test_origin_matrix_every_socket_path(paths):
    """Plays a page on another origin (port, scheme, host, sandboxed `null`, or a client sending none)
    that opens each party's socket with the victim's cookie. Covers the Origin finding: only the site's
    own origin is accepted, on every path."""

    async def scenario():
        verdicts = {}
        for path, cookie in paths.items():
            for name, origin in ORIGINS.items():
                comm, connected = await open_socket(path, cookie, origin=origin)
                verdicts[(path.split("/")[2], name)] = connected
                await shut(comm)
        return verdicts

    verdicts = async_to_sync(scenario)()
    accepted = sorted(k for k, ok in verdicts.items() if ok)
    print(f"\norigin matrix: {len(verdicts)} handshakes, {len(accepted)} accepted, "
          f"{len(verdicts) - len(accepted)} refused")
    assert accepted == sorted((p, "same") for p in ("rider", "store", "dispatch", "track"))


def test_dispatcher_socket_from_another_port_or_scheme_of_a_trusted_origin(demo, settings):
    """Plays a page served from another port or scheme of the host the site trusts (the finding's own
    examples) opening the dispatcher socket with the dispatcher's cookie. Covers the Origin finding."""
    settings.CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:8000"]
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        verdicts = {}
        for origin in ("http://127.0.0.1:8000", "http://127.0.0.1:1", "https://127.0.0.1", "http://127.0.0.1",
                       "http://127.0.0.1:8000/extra", "http://user@127.0.0.1:8000"):
            comm, verdicts[origin] = await open_socket("/ws/dispatch/", cookie, origin=origin, host="127.0.0.1:8000")
            await shut(comm)
        # A trusted origin need not be the Host the request came in on (a proxy in front).
        comm, verdicts["trusted via proxy"] = await open_socket("/ws/dispatch/", cookie, origin="http://127.0.0.1:8000",
                                                                host="internal:9000")
        await shut(comm)
        return verdicts

    verdicts = async_to_sync(scenario)()
    assert verdicts == {"http://127.0.0.1:8000": True, "http://127.0.0.1:1": False, "https://127.0.0.1": False,
                        "http://127.0.0.1": False, "http://127.0.0.1:8000/extra": False,
                        "http://user@127.0.0.1:8000": False, "trusted via proxy": True}


def test_wildcard_trusted_origin_keeps_scheme_and_port(demo, settings):
    """Plays pages on look-alike hosts against a `*.` trusted origin. Covers the Origin finding for the
    wildcard form Django allows in CSRF_TRUSTED_ORIGINS."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        verdicts = {}
        for origin in ("https://app.example.com", "https://app.example.com:443", "http://app.example.com",
                       "https://app.example.com:8443", "https://example.com.evil.net", "https://evilexample.com"):
            comm, verdicts[origin] = await open_socket("/ws/dispatch/", cookie, origin=origin)
            await shut(comm)
        return verdicts

    assert async_to_sync(scenario)() == {
        "https://app.example.com": True, "https://app.example.com:443": True, "http://app.example.com": False,
        "https://app.example.com:8443": False, "https://example.com.evil.net": False, "https://evilexample.com": False,
    }


def test_site_origin_follows_the_scheme_the_server_sees_and_an_allowed_host(demo):
    """Plays a rebinding attacker (a DNS name of theirs pointed at the server: Host and Origin agree but
    the host is not allowed) and a plain-http page against a TLS socket. Covers the Origin finding."""
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        cases = {
            "wss, https origin": dict(origin="https://testserver", scheme="wss"),
            "wss, http origin": dict(origin="http://testserver", scheme="wss"),
            "rebound host": dict(origin="http://evil.example", host="evil.example"),
            "no host": dict(origin="http://testserver", host=None),
            "port in host": dict(origin="http://testserver:8001", host="testserver:8001"),
        }
        verdicts = {}
        for name, kw in cases.items():
            comm, verdicts[name] = await open_socket("/ws/dispatch/", cookie, **kw)
            await shut(comm)
        return verdicts

    assert async_to_sync(scenario)() == {"wss, https origin": True, "wss, http origin": False, "rebound host": False,
                                         "no host": False, "port in host": True}

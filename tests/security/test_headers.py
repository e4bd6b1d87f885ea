"""Response headers: `Cache-Control: no-store` on every answer that Django makes (walking every URL
pattern as the party it is for), the Permissions-Policy per page, and the CSP's connect-src."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import order_payload

CACHEABLE = {"rider-sw", "rider-manifest"}  # config.settings.CACHEABLE_URL_NAMES: no data, no secret

PARTY_BY_PREFIX = (  # the first prefix that matches names the party a URL is for
    ("api/rider/", "rider1"), ("rider/", "rider1"),
    ("api/pickup/", "store1"), ("pickup/", "store1"),
    ("api/dispatch/", "dispatcher1"), ("dispatch/", "dispatcher1"),
    ("api/orders/", "merchant1"), ("api/stores/", "merchant1"), ("api/webhooks/", "merchant1"), ("api/quotes/", "merchant1"),
    ("api/portal/", "merchant1"), ("portal/", "merchant1"),
    ("admin/", "root"),
    ("t/", None), ("api/track/", None), ("accounts/", None), ("api/auth/", None), ("telephony/", None), ("privacy/", None),
    ("healthz", None), ("readyz", None),  # a load balancer's probes
    ("", "dispatcher1"),
)


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def _fill(route: str, values: dict[str, str]) -> str:
    """A concrete path for a route or regex, with every parameter taken from `values`."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], route)  # regex patterns first
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


@pytest.fixture
def world(assigned_order, demo, merchant, db):
    """Real ids: an assigned order (rider1, store1), a second order that a merchant just posted, and a
    superuser for the admin."""
    root = get_user_model().objects.create_superuser("root", password="root-password-long")
    other = merchant.post("/api/orders/", order_payload(), format="json").json()
    return {
        "users": {**demo, "root": root},
        "values": {"order_id": str(assigned_order["id"]), "object_id": str(assigned_order["id"]),
                   "token": assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1],
                   "content_type_id": str(ContentType.objects.get_for_model(get_user_model()).pk),
                   "app_label": "auth", "url": "nothing", "z": "3", "x": "4", "y": "2", "alert_id": "1", "offer_id": "1",
                   "part": "privacy", "endpoint_id": "1", "delivery_id": "1"},
        "other": other,
    }


def _client(world, path: str) -> Client:
    client = Client()
    party = next(p for prefix, p in PARTY_BY_PREFIX if path.lstrip("/").startswith(prefix))
    if party is not None:
        client.force_login(world["users"][party])
    return client


def test_every_url_answers_no_store_unless_allowed_to_be_cached(world):
    """An onlooker with access to the browser's or a proxy's cache after the rider, the store, the
    dispatcher or the customer used the site (finding: the rider's order API and the tracking API
    send no `Cache-Control: no-store`). Every URL pattern, GET and POST, as its party, any status."""
    seen, missing = [], []
    for route, name in _patterns(get_resolver()):
        path = _fill(route, world["values"])
        for method in ("get", "post"):
            client = _client(world, path)
            response = getattr(client, method)(path, **({"data": {}, "content_type": "application/json"}
                                                         if method == "post" else {}))
            seen.append((method, path, response.status_code))
            if name in CACHEABLE:
                continue
            if "no-store" not in response.get("Cache-Control", ""):
                missing.append(f"{method.upper()} {path} -> {response.status_code} {response.get('Cache-Control')!r}")
    assert len({p for _, p, _ in seen}) >= 40, seen  # the walk reached the whole site
    assert any(code == 200 for m, p, code in seen if p.startswith("/api/rider/orders/") and m == "get")
    assert missing == [], "\n".join(missing)


def test_answers_with_secrets_say_no_store(world, client_for):
    """Onlooker reading cached answers that carry a secret: the token, the PIN, the door-tier address,
    the handoff code, the break-glass reveal, the packing list (finding: no `Cache-Control: no-store`)."""
    order_id, token = world["values"]["order_id"], world["values"]["token"]
    r = Client().post("/api/auth/token/", {"username": "rider1", "password": "deliver-privately"},
                      content_type="application/json")
    answers = {
        "token": r,
        "tracking": Client().get(f"/api/track/{token}/"),
        "tracking page": Client().get(f"/t/{token}/"),
        "rider orders": client_for("rider1").get("/api/rider/orders/"),
        "rider order": client_for("rider1").get(f"/api/rider/orders/{order_id}/"),
        "handoff code": client_for("rider1").get(f"/api/rider/orders/{order_id}/handoff-code/"),
        "break-glass": client_for("dispatcher1").post(f"/api/dispatch/orders/{order_id}/break-glass/",
                                                      {"reason": "Rider fell off the bike at the door"}, format="json"),
        "packing": client_for("store1").get(f"/api/pickup/orders/{order_id}/packing/"),
        "not found": Client().get("/no-such-page/"),
    }
    assert answers["token"].status_code == 200 and "token" in answers["token"].json()
    assert "delivery_pin" in answers["tracking"].json()
    assert answers["break-glass"].status_code == 200
    bad = {k: (r.status_code, r.get("Cache-Control")) for k, r in answers.items() if "no-store" not in r.get("Cache-Control", "")}
    assert bad == {}


def _policy(response) -> dict[str, str]:
    header = response["Permissions-Policy"]
    return dict(item.strip().split("=", 1) for item in header.split(","))


def test_permissions_policy_allows_each_feature_only_where_it_is_used(world):
    """A script injected into any page trying the camera, microphone or location (finding: no
    Permissions-Policy header)."""
    token = world["values"]["token"]
    pages = {
        "/accounts/login/": _client(world, "/accounts/login/").get("/accounts/login/"),
        "/rider/": _client(world, "/rider/").get("/rider/"),
        "/pickup/": _client(world, "/pickup/").get("/pickup/"),
        "/dispatch/": _client(world, "/dispatch/").get("/dispatch/"),
        f"/t/{token}/": Client().get(f"/t/{token}/"),
        "/api/rider/orders/": _client(world, "/api/rider/orders/").get("/api/rider/orders/"),
        "/no-such-page/": Client().get("/no-such-page/"),
    }
    assert all(r.status_code in (200, 404) for r in pages.values()), {p: r.status_code for p, r in pages.items()}
    allowed = {  # page -> features it may use; every other listed feature is ()
        "/rider/": {"geolocation", "microphone", "screen-wake-lock"},
        "/pickup/": {"camera", "microphone"},  # the QR scan; in-app calls with riders and customers
        "/dispatch/": {"microphone"},  # emergency in-app calls after break-glass
        f"/t/{token}/": {"microphone"},
    }
    for path, response in pages.items():
        policy = _policy(response)
        for feature in ("geolocation", "camera", "microphone", "payment", "usb", "display-capture", "screen-wake-lock"):
            expected = "(self)" if feature in allowed.get(path, set()) else "()"
            assert policy.get(feature) == expected, (path, feature, response["Permissions-Policy"])


def test_csp_connect_src_names_only_the_site_itself(world):
    """A script injected into a page sending data to a socket on another host (finding: the CSP
    allows `connect-src ws: wss:` to any host)."""
    for path in ("/accounts/login/", "/rider/", f"/t/{world['values']['token']}/"):
        header = _client(world, path).get(path)["Content-Security-Policy"]
        directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in header.split(";") if d.strip())
        assert directives["connect-src"].split() == ["'self'"], header

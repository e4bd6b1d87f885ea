"""Bad input is a clean 4xx with the `{code, detail}` shape: deep or huge JSON, control characters in
paths and fields, booleans and numbers where coordinates or text belong, and bidirectional controls
that would make a printed label lie. The attacker is any client of the API (a merchant's POS, a rider's
phone, a stranger with a tracking link)."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from config.asgi import application
from dispatch.models import Order
from tests.factories import order_payload

DEEP = "[" * 950 + "]" * 950  # 1.9 KB
ROLE_BY_PREFIX = [("/api/dispatch/", "dispatcher1"), ("/api/orders/", "merchant1"), ("/api/pickup/", "store1"),
                  ("/api/rider/", "rider1"), ("/api/stores/", "merchant1"), ("/api/webhooks/", "merchant1"),
                  ("/api/quotes/", "merchant1"), ("/api/portal/", "merchant1")]


def json_write_operations() -> list[tuple[str, str]]:
    """Every operation of the OpenAPI schema that takes a JSON body: a new endpoint is covered by itself."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


def client_for_path(path: str, client_for) -> APIClient:
    role = next((user for prefix, user in ROLE_BY_PREFIX if path.startswith(prefix)), None)
    return client_for(role) if role else APIClient()


def assert_error(response, statuses, code=None):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body.get("code"), str) and isinstance(body.get("detail"), str) and body["detail"], body
    if code:
        assert body["code"] == code, body


@pytest.mark.django_db
def test_deep_json_is_malformed_on_every_json_write_endpoint(assigned_order, client_for):
    """Any client, finding "JSON nested ~950 levels deep (2 KB) gives a 500 on all 10 JSON write endpoints"."""
    operations = json_write_operations()
    assert len(operations) >= 10, operations
    for method, path in operations:
        token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
        url = path.replace("{order_id}", str(assigned_order["id"])).replace("{token}", token)
        url = re.sub(r"\{\w+_id\}", "1", url)  # an alert or an offer: the body is refused before any lookup
        client = client_for_path(path, client_for)
        for body in (DEEP, '{"a":' * 400 + "1" + "}" * 400):
            response = client.generic(method, url, body, content_type="application/json")
            assert_error(response, (400,), "malformed")


@pytest.mark.django_db
def test_oversized_and_just_deep_enough_json(merchant):
    """A merchant's POS, finding "deep JSON": 64 KiB is the cap, and ordinary nesting still parses."""
    huge = order_payload(external_ref="x" * 64)
    huge["items"] = [{"name": "Plasters " + "y" * 150, "qty": 1, "sensitive": False}] * 100
    huge["customer"]["address"]["notes"] = "z" * 70_000
    assert_error(merchant.post("/api/orders/", json.dumps(huge), content_type="application/json"), (400,), "malformed")
    nested = {"items": [{"name": "x"}], "customer": {"address": {"area": [[[[[[[[[[["a"]]]]]]]]]]]}}}
    assert_error(merchant.post("/api/orders/", nested, format="json"), (400,), "invalid")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/t/%00/", "/api/track/%00/", "/api/track/%00/call/", "/t/a%01b/",
                                  "/api/track/a%1Fb/", "/api/rider/orders/%00/", "/api/track/%E2%80%AE/",
                                  "/healthz%00", "/readyz%01"])
def test_control_characters_in_paths_are_404(demo, client, path):
    """A stranger with a tracking link, finding "a NUL byte in a tracking token gives a 500 on PostgreSQL": the
    path is refused before any view or query sees it (tests/integration/test_bad_input_pg.py runs it on PostgreSQL)."""
    from unittest import mock

    with mock.patch("dispatch.selectors.access.Order.objects.select_related", side_effect=AssertionError("queried")):
        response = client.generic("POST" if path.endswith("/call/") else "GET", path)
    assert response.status_code == 404, response.content[:200]
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/track/%00/", "/ws/track/a\x00b/", "/ws/track/\u202e/"])
def test_control_characters_in_socket_paths_are_refused(path):
    """A stranger with a tracking link, finding "/ws/track/%00/ makes the socket handshake fail": the router refuses
    the path itself (a clean close), and the token lookup never runs."""
    from unittest import mock

    async def attempt():
        communicator = WebsocketCommunicator(application, path, headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    with mock.patch("dispatch.tracking.consumers.order_by_tracking_token", side_effect=AssertionError("queried")):
        assert async_to_sync(attempt)() is False


COORDINATE_CASES = [("lat", True), ("lng", False), ("lat", "51.5"), ("lng", [1]), ("lat", None)]


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", COORDINATE_CASES)
def test_order_coordinates_are_numbers_only(merchant, field, value):
    """A merchant's POS, finding "`lat: true` is stored as 1.0"."""
    body = order_payload()
    body["customer"][field] = value
    response = merchant.post("/api/orders/", body, format="json")
    assert_error(response, (400,), "invalid")
    assert field in response.json()["errors"]["customer"]
    assert Order.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [("lat", True), ("lng", "-0.1"), ("accuracy", True), ("seq", True),
                                          ("seq", 1.5), ("seq", "3"), ("here", "yes"), ("here", 1)])
def test_location_fields_are_strictly_typed(rider1, assigned_order, field, value):
    """A rider's phone (or a script on it), finding "`lat: true` is stored as 1.0"."""
    import time

    body = {"lat": 51.5, "lng": -0.1, "accuracy": 5, "timestamp": time.time(), "seq": 1, field: value}
    response = rider1.post("/api/rider/location/", body, format="json")
    assert_error(response, (400,), "invalid")
    assert field in response.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_socket_location_is_strictly_typed(demo):
    """A rider's phone on the socket, finding "`lat: true` is stored as 1.0": the socket's LocationIn is strict too."""
    import time

    from django.test import Client

    client = Client()
    client.force_login(demo["rider1"])
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def attempt():
        communicator = WebsocketCommunicator(application, "/ws/rider/", headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"),
                                                                                (b"cookie", cookie)])
        connected, _ = await communicator.connect()
        assert connected
        await communicator.receive_json_from()  # hello
        await communicator.send_json_to({"type": "location", "lat": True, "lng": "0", "accuracy": 5,
                                         "timestamp": time.time(), "seq": 1})
        ack = await communicator.receive_json_from()
        await communicator.disconnect()
        return ack

    ack = async_to_sync(attempt)()
    assert ack["accepted"] is False and set(ack["errors"]) == {"lat", "lng"}


TEXT_FIELDS = [("customer", "name"), ("address", "area"), ("address", "street"), ("address", "building"),
               ("address", "unit"), ("address", "door_code"), ("address", "notes"), ("order", "external_ref"),
               ("item", "name")]


def _set(body: dict, where: str, field: str, value) -> dict:
    target = {"customer": body["customer"], "address": body["customer"]["address"], "order": body,
              "item": body["items"][0]}[where]
    target[field] = value
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("where, field", TEXT_FIELDS)
@pytest.mark.parametrize("value", [42, 4.5, True, {"a": 1}])
def test_numbers_are_not_text(merchant, where, field, value):
    """A merchant's POS, finding "numbers are accepted where text is expected"."""
    response = merchant.post("/api/orders/", _set(order_payload(), where, field, value), format="json")
    assert_error(response, (400,), "invalid")
    assert Order.objects.count() == 0


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]
INVISIBLE = ["\u200b", "\u2060", "\ufeff", "\u00ad", "\U000e0041"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85"]


@pytest.mark.django_db
@pytest.mark.parametrize("where, field", TEXT_FIELDS)
@pytest.mark.parametrize("char", BIDI + INVISIBLE + CONTROL, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_invisible_and_control_characters_are_refused(merchant, where, field, char):
    """A merchant's POS (or whoever types the order), finding "U+202E is accepted in names, addresses and door codes,
    which can make a printed label lie": e.g. a name that prints as "Flat 7" but reads otherwise."""
    response = merchant.post("/api/orders/", _set(order_payload(), where, field, f"12{char}34"), format="json")
    assert_error(response, (400,), "invalid")
    errors = response.json()["errors"]
    text = json.dumps(errors)
    assert field in text
    if char in BIDI + INVISIBLE:
        assert "invisible" in text, errors
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_legitimate_text_still_passes(merchant):
    """A merchant's POS: scripts that need joiners (Persian ZWNJ, emoji ZWJ), right-to-left names, accents and a
    multi-line note are not refused."""
    body = order_payload()
    body["customer"]["name"] = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 Zo\u00eb \U0001f469\u200d\U0001f373"
    body["customer"]["address"]["notes"] = "Ring twice.\nBlue door.\tThanks"
    response = merchant.post("/api/orders/", body, format="json")
    assert response.status_code == 201, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize("path, body, field", [
    ("/api/dispatch/orders/{oid}/break-glass/", {"reason": "customer fainted \u202e at the door"}, "reason"),
    ("/api/dispatch/orders/{oid}/break-glass/", {"reason": 1234567890123}, "reason"),
    ("/api/dispatch/orders/{oid}/pin-unlock/", {"reason": "customer \u202e called"}, "reason"),
    ("/api/dispatch/orders/{oid}/pin-unlock/", {"reason": 12345}, "reason"),
    ("/api/dispatch/orders/{oid}/assign/", {"rider": True}, "rider"),
    ("/api/dispatch/orders/{oid}/assign/", {"rider": "1"}, "rider"),
    ("/api/pickup/handoff/", {"pickup_code": 27, "rider_code": "123456"}, "pickup_code"),
    ("/api/pickup/handoff/", {"pickup_code": "27", "rider_code": 123456}, "rider_code"),
    ("/api/pickup/handoff/check/", {"pickup_code": "2\u200b7", "rider_code": "123456"}, "pickup_code"),
    ("/api/rider/orders/{oid}/deliver/", {"pin": 1234}, "pin"),
    ("/api/rider/duty/", {"on_duty": "yes"}, "on_duty"),
    ("/api/rider/duty/", {"on_duty": 1}, "on_duty"),
])
def test_other_endpoints_are_strict(assigned_order, client_for, path, body, field):
    """The dispatcher, the store's staff and the rider, findings "numbers accepted where text is expected" and
    "U+202E accepted in reasons": the same strict fields on every input."""
    response = client_for_path(path, client_for).post(path.format(oid=assigned_order["id"]), body, format="json")
    assert_error(response, (400,), "invalid")
    assert field in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["store=true&code=27", "store=1&code=2%E2%80%AE7", "store=1&code=%00"])
def test_query_parameters_are_strict(rider1, assigned_order, query):
    """A rider at the counter, findings "control and bidi characters": query parameters too."""
    assert_error(rider1.get(f"/api/rider/pickup-check/?{query}"), (400,), "invalid")


@pytest.mark.parametrize("text, depth", [
    ('{"a": "[[[[\\"]]]", "b": [[1]]}', 3), ('["abc', 1), ('"x\\\\" [[ "', 2), ('"' + '\\"' * 30_000, 0),
    ("[" * 40, 40), ("{}", 1), ("1", 0),
])
def test_json_depth_ignores_brackets_in_strings(text, depth):
    """Any client, finding "deep JSON": the depth check counts only structure, and an unterminated string of escaped
    quotes (which made a naive pattern take 9 s on 64 KiB) is one linear pass."""
    from dispatch.parsers import json_depth

    assert json_depth(text) == depth


@pytest.mark.parametrize("query", ["start=x&end=y", "start=2026-13-01&end=2026-12-01", "start=2026-12-05&end=2026-12-01",
                                   "start=2020-01-01&end=2026-12-01", "start=%00&end=", "start=2026-12-01"])
@pytest.mark.parametrize("who, path", [("dispatcher1", "/dispatch/reports/"), ("dispatcher1", "/dispatch/reports/privacy.csv"),
                                       ("merchant1", "/portal/reports/"), ("merchant1", "/portal/reports/operations.csv")])
def test_report_periods_are_strict(demo, who, path, query):
    """A bad or reversed period, or one longer than a year, is never a 500: the page shows the form's error over
    the default period (the last 30 days), a CSV holds the default period."""
    from django.test import Client

    client = Client()
    client.force_login(demo[who])
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200
    if path.endswith("/"):
        assert b"errorlist" in response.content or "end=" not in query


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [
    {"HTTP_AUTHORIZATION": "Bearer " + "x" * 100_000}, {"HTTP_AUTHORIZATION": "Bearer \x00"},
    {"HTTP_AUTHORIZATION": "Bearer é"}, {"HTTP_AUTHORIZATION": "Bearer"}, {"REMOTE_ADDR": "not-an-address"},
    {"REMOTE_ADDR": ""}, {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.7"},
])
def test_metrics_refuses_bad_credentials_and_addresses_with_the_sites_404(demo, client, settings, headers):
    """A stranger probing GET /metrics (the scraper's only) with odd tokens and addresses: the ordinary 404, no 500."""
    settings.METRICS_TOKEN = "a-long-metrics-token"
    response = client.get("/metrics", **{"REMOTE_ADDR": "203.0.113.7", **headers})
    assert response.status_code == 404
    assert response["Content-Type"] == client.get("/no-such-page/")["Content-Type"]  # a page like any missing one
    assert b"delivery_" not in response.content

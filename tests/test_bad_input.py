"""Bad input gets a 4xx with the error shape of API.md, never a 500, and nothing half-written."""

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.models import AuditEvent, Order, SealedRecord
from tests.factories import order_payload

BAD_BODIES = [
    "{not json",
    "[]",
    "null",
    '"a string"',
    "{}",
    '{"lat": "north", "lng": [], "accuracy": -1, "timestamp": "yesterday", "seq": -5}',
]


def assert_error_shape(response, statuses=(400, 404, 409)):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body.get("code"), str) and body["code"]
    assert isinstance(body.get("detail"), str) and body["detail"]
    if response.status_code == 400 and body["code"] == "invalid":
        assert isinstance(body["errors"], dict | list)


@pytest.mark.django_db
def test_every_post_endpoint_rejects_malformed_bodies(assigned_order, client_for):
    oid = assigned_order["id"]
    endpoints = [
        ("merchant1", "/api/orders/"),
        ("dispatcher1", f"/api/dispatch/orders/{oid}/assign/"),
        ("dispatcher1", f"/api/dispatch/orders/{oid}/break-glass/"),
        ("store1", "/api/pickup/handoff/"),
        ("rider1", "/api/rider/location/"),
        ("rider1", f"/api/rider/orders/{oid}/deliver/"),
        ("rider1", "/api/rider/duty/"),
    ]
    before = (Order.objects.count(), SealedRecord.objects.count())
    for username, path in endpoints:
        client = client_for(username)
        for body in BAD_BODIES:
            response = client.post(path, body, content_type="application/json")
            assert_error_shape(response, statuses=(400,))
    assert (Order.objects.count(), SealedRecord.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"lat": 91, "lng": 0, "accuracy": 5, "timestamp": None, "seq": 1}, "lat"),
    ({"lat": 0, "lng": -181, "accuracy": 5, "timestamp": None, "seq": 1}, "lng"),
    ({"lat": 0, "lng": 0, "accuracy": -0.1, "timestamp": None, "seq": 1}, "accuracy"),
    ({"lat": 0, "lng": 0, "accuracy": 5, "timestamp": "2020-01-01T00:00:00", "seq": 1}, "timestamp"),
    ({"lat": 0, "lng": 0, "accuracy": 5, "timestamp": True, "seq": 1}, "timestamp"),
    ({"lat": 0, "lng": 0, "accuracy": 5, "timestamp": None, "seq": "one"}, "seq"),
])
def test_location_field_errors(rider1, demo, body, field):
    body = {**body, "timestamp": time.time() if body["timestamp"] is None else body["timestamp"]}
    response = rider1.post("/api/rider/location/", body, format="json")
    assert_error_shape(response, statuses=(400,))
    assert field in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("ts", [0, 100, 4_102_444_800, 4_102_444_800_000, -5])
def test_absurd_timestamps(rider1, assigned_order, ts):
    response = rider1.post("/api/rider/location/", {"lat": 51.5, "lng": -0.1, "accuracy": 5, "timestamp": ts,
                                                     "seq": 1}, format="json")
    assert_error_shape(response, statuses=(400,))
    assert response.json()["code"] == "bad_timestamp"


@pytest.mark.django_db
def test_unknown_ids_and_bad_references(assigned_order, client_for):
    dispatcher = client_for("dispatcher1")
    assert_error_shape(dispatcher.post("/api/dispatch/orders/999999/assign/", {"rider": 1}, format="json"), (404,))
    r = dispatcher.post(f"/api/dispatch/orders/{assigned_order['id']}/assign/", {"rider": 999999}, format="json")
    assert_error_shape(r, (400,))
    assert r.json()["code"] == "unknown_rider"
    r = client_for("merchant1").post("/api/orders/", order_payload(store=999), format="json")
    assert_error_shape(r, (400,))
    assert r.json()["code"] == "unknown_store"
    assert_error_shape(client_for("rider1").get("/api/rider/orders/999999/"), (404,))
    assert_error_shape(client_for("store1").get("/api/pickup/lookup/?code="), (400,))
    assert_error_shape(client_for("store1").get("/api/pickup/lookup/?code=ZZ999"), (404,))


@pytest.mark.django_db
def test_wrong_state_is_409(assigned_order, client_for):
    oid = assigned_order["id"]
    r = client_for("rider1").post(f"/api/rider/orders/{oid}/deliver/", {"pin": "1234"}, format="json")
    assert_error_shape(r, (409,))
    assert r.json()["code"] == "not_picked_up"


@pytest.mark.django_db
def test_order_intake_validation_is_atomic(merchant):
    bad = order_payload()
    bad["customer"]["lat"] = 200
    bad["items"] = []
    bad["customer"]["phone"] = "call me maybe"
    response = merchant.post("/api/orders/", bad, format="json")
    assert_error_shape(response, (400,))
    errors = response.json()["errors"]
    assert set(errors["customer"]) == {"lat", "phone"} and "items" in errors
    assert Order.objects.count() == 0 and AuditEvent.objects.count() == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["store", "external_ref", "customer", "items", "consent", "x"]),
                            json_values, max_size=5))
def test_order_intake_never_500s_on_arbitrary_json(merchant, body):
    response = merchant.post("/api/orders/", json.dumps(body), content_type="application/json")
    assert response.status_code in (201, 400), response.content[:300]

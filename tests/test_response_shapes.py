"""Every API operation's success answers match the schema it declares, strictly: no key the schema does not
name, every required key, the declared types, null only where nullable. schemathesis checks conformance too,
but it allows undeclared keys and reaches most operations only in their empty or refused states; this drives
one delivery through every operation, in the states that carry the most fields (the address at each tier, the
customer's number, a handoff and its undo, the interaction log, a lapsed grant), and checks each answer."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from dispatch.management.commands.demo_data import DEMO_PASSWORD
from dispatch.services.safety import REPORT_REASONS
from tests.factories import DOOR, order_payload


class ShapeError(AssertionError):
    pass


def _resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def check_shape(value, schema: dict, spec: dict, path: str = "$") -> None:
    """Raise ShapeError where `value` is not what `schema` (OpenAPI 3.0, as drf-spectacular writes it) declares.
    Objects are closed unless the schema sets `additionalProperties`."""
    schema = _resolve(schema, spec)
    if value is None:
        if not schema.get("nullable"):
            raise ShapeError(f"{path}: null, not declared nullable")
        return
    if "allOf" in schema:
        for part in schema["allOf"]:
            check_shape(value, part, spec, path)
        return
    if "oneOf" in schema:
        for part in schema["oneOf"]:
            try:
                check_shape(value, part, spec, path)
                return
            except ShapeError:
                continue
        raise ShapeError(f"{path}: matches none of oneOf")
    if "enum" in schema and value not in schema["enum"]:
        raise ShapeError(f"{path}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            raise ShapeError(f"{path}: {type(value).__name__}, declared an object")
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise ShapeError(f"{path}: required key {name!r} missing")
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                check_shape(item, properties[name], spec, f"{path}.{name}")
            elif isinstance(extra, dict):
                check_shape(item, extra, spec, f"{path}.{name}")
            elif extra is not True:
                raise ShapeError(f"{path}: key {name!r} is not in the schema")
    elif kind == "array":
        if not isinstance(value, list):
            raise ShapeError(f"{path}: {type(value).__name__}, declared an array")
        for i, item in enumerate(value):
            check_shape(item, schema.get("items", {}), spec, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise ShapeError(f"{path}: {value!r} is not a string")
        if schema.get("format") == "date-time":
            try:
                datetime.fromisoformat(value)
            except ValueError as exc:
                raise ShapeError(f"{path}: {value!r} is not a date-time") from exc
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(f"{path}: {value!r} is not an integer")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ShapeError(f"{path}: {value!r} is not a number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ShapeError(f"{path}: {value!r} is not a boolean")


def test_the_checker_refuses_an_undeclared_key_a_missing_one_a_wrong_type_and_an_undeclared_null():
    spec = SchemaGenerator().get_schema(request=None, public=True)
    body = {"on_duty": True}
    schema = {"$ref": "#/components/schemas/DutyOut"}
    check_shape(body, schema, spec)
    for bad in ({"on_duty": True, "extra": 1}, {}, {"on_duty": "yes"}, {"on_duty": None}):
        with pytest.raises(ShapeError):
            check_shape(bad, schema, spec)


class Session:
    """Calls operations by their schema path and checks every success answer against that operation."""

    def __init__(self, spec: dict, clients: dict[str, APIClient]):
        self.spec, self.clients, self.seen = spec, clients, {}

    def call(self, party: str, method: str, template: str, data=None, *, fmt: str = "json", **params):
        url = template.format(**params)
        client = self.clients[party]
        response = getattr(client, method)(url, data, format=fmt) if method != "get" else client.get(url, data)
        operation = self.spec["paths"][template][method]
        status = str(response.status_code)
        assert status in operation["responses"], (method, template, status, response.content[:300])
        media = response.get("Content-Type", "application/json").split(";")[0]
        if response.status_code < 300 and media != "application/json":  # a photo: its media type is declared
            assert media in operation["responses"][status]["content"], (method, template, media)
            self.seen.setdefault((method, template), []).append(media)
        elif response.status_code < 300:
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            body = response.json()
            try:
                check_shape(body, schema, self.spec)
            except ShapeError as exc:
                raise AssertionError(f"{method.upper()} {template} as {party}: {exc}") from exc
            self.seen.setdefault((method, template), []).append(body)
        return response


@pytest.mark.django_db
def test_every_operation_answers_in_the_shape_it_declares(demo, settings):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    clients = {}
    for name in ("merchant1", "dispatcher1", "rider1", "store1"):
        clients[name] = APIClient()
        clients[name].force_authenticate(demo[name])
    clients["anyone"] = APIClient()
    api = Session(spec, clients)

    order = api.call("merchant1", "post", "/api/orders/",
                     order_payload(consent={"number_protection": False, "marketing": True})).json()
    oid, code = order["id"], order["pickup_code"]
    token = order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    api.call("merchant1", "get", "/api/stores/")
    store_id = api.call("merchant1", "get", "/api/orders/{order_id}/", order_id=oid).json()["store"]["id"]
    api.call("merchant1", "get", "/api/orders/", {"limit": 1})
    api.call("merchant1", "post", "/api/quotes/", {"store": store_id, "customer": {"lat": 51.5033, "lng": -0.1196}})
    api.call("dispatcher1", "get", "/api/dispatch/orders/")
    api.call("dispatcher1", "get", "/api/dispatch/orders/{order_id}/suggestions/", order_id=oid)
    rider = demo["rider1"].rider
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk}, order_id=oid)
    assert api.call("merchant1", "get", "/api/portal/orders/{order_id}/", order_id=oid).json()["rider_area"] is None
    api.call("rider1", "post", "/api/rider/duty/", {"on_duty": True})
    api.call("rider1", "get", "/api/rider/orders/")  # the area tier, no distance yet

    def ping(seq, lat, ts):
        return api.call("rider1", "post", "/api/rider/location/", {"lat": lat, "lng": DOOR[1], "accuracy": 10.0,
                                                                   "timestamp": ts, "seq": seq})

    api.call("dispatcher1", "get", "/api/dispatch/riders/")
    api.call("dispatcher1", "get", "/api/dispatch/overload/")
    _alerts(api, demo)
    _lines(api, demo)
    api.call("store1", "get", "/api/pickup/orders/")
    api.call("store1", "get", "/api/pickup/orders/{order_id}/packing/", order_id=oid)
    api.call("store1", "post", "/api/pickup/orders/{order_id}/ready/", order_id=oid)
    assert api.call("rider1", "get", "/api/rider/pickup-check/", {"store": store_id, "code": code}).json()["mine"]
    rider_code = api.call("rider1", "get", "/api/rider/orders/{order_id}/handoff-code/", order_id=oid).json()["code"]
    api.call("store1", "get", "/api/pickup/lookup/", {"code": code})
    api.call("store1", "post", "/api/pickup/handoff/check/", {"pickup_code": code, "rider_code": rider_code})
    api.call("store1", "post", "/api/pickup/handoff/", {"pickup_code": code, "rider_code": rider_code})
    api.call("store1", "post", "/api/pickup/orders/{order_id}/undo-handoff/", order_id=oid)
    rider_code = api.call("rider1", "get", "/api/rider/orders/{order_id}/handoff-code/", order_id=oid).json()["code"]
    api.call("store1", "post", "/api/pickup/handoff/", {"pickup_code": code, "rider_code": rider_code})
    history = api.call("store1", "get", "/api/pickup/handoffs/").json()
    assert [h["undone"] for h in history] == [False, True]

    t = time.time()
    ping(1, DOOR[0] + 0.027, t - 200)
    area = api.call("rider1", "get", "/api/rider/orders/{order_id}/", order_id=oid).json()
    assert area["destination"]["distance_approx"] is True
    ping(2, DOOR[0] + 0.0072, t - 6)
    ping(3, DOOR[0] + 0.0071, t - 3)
    street = api.call("rider1", "get", "/api/rider/orders/{order_id}/", order_id=oid).json()
    ping(4, DOOR[0] + 0.0005, t + 24)
    ping(5, DOOR[0] + 0.0004, t + 28)
    door = api.call("rider1", "get", "/api/rider/orders/{order_id}/", order_id=oid).json()
    assert api.call("merchant1", "get", "/api/portal/orders/{order_id}/", order_id=oid).json()["rider_area"]
    assert (street["destination"]["tier"], door["destination"]["tier"]) == ("street", "door")
    assert "parts" in door["destination"] and "phone" in door["customer"]
    api.call("rider1", "post", "/api/rider/orders/{order_id}/call/", order_id=oid)
    api.call("rider1", "post", "/api/rider/orders/{order_id}/call/dial/", order_id=oid)
    api.call("rider1", "post", "/telephony/sandbox/call/", {"to": "+15550000000"})
    api.call("anyone", "post", "/api/track/{token}/call/", token=token)
    api.call("anyone", "post", "/api/track/{token}/consent/", {"marketing": False}, token=token)
    api.call("anyone", "get", "/api/track/{token}/messages/", token=token)
    api.call("anyone", "post", "/api/track/{token}/push/",
             {"endpoint": "https://push.example.test/x", "keys": {"p256dh": "BPk", "auth": "a1"}}, token=token)
    api.call("anyone", "post", "/api/track/{token}/messages/", {"stop": True}, token=token)
    pin = api.call("anyone", "get", "/api/track/{token}/", token=token).json()["delivery_pin"]
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/break-glass/",
             {"reason": "The rider is hurt at the door."}, order_id=oid)
    log = api.call("dispatcher1", "get", "/api/dispatch/orders/{order_id}/interactions/", order_id=oid).json()
    assert log
    api.call("rider1", "post", "/api/rider/orders/{order_id}/deliver/", {"pin": pin}, order_id=oid)
    track = api.call("anyone", "get", "/api/track/{token}/", token=token).json()
    assert track["access_ends_at"] and track["address_seen"]
    api.call("anyone", "post", "/api/auth/token/", {"username": demo["rider1"].username, "password": DEMO_PASSWORD})

    _exits(api, demo, rider.pk)
    _proof_and_feedback(api, demo, rider.pk)
    _offers(api, rider.pk)
    _webhooks(api, settings)
    # The rider's safety: an SOS with a position, and a report (with a block) on the order just delivered.
    api.call("rider1", "post", "/api/rider/sos/", {"lat": 51.5, "lng": -0.12, "accuracy": 8.0, "note": "a dog"})
    api.call("rider1", "post", "/api/rider/orders/{order_id}/report/", {"reason": REPORT_REASONS[0], "block": True},
             order_id=oid)

    api.call("anyone", "get", "/healthz")  # a load balancer's probes: no session, no token
    api.call("anyone", "get", "/readyz")

    operations = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert operations - set(api.seen) == set(), "operations this test never saw succeed: add them above"


def _alerts(api: Session, demo) -> None:
    """An alert (a stale device, with the app's reason), listed and acknowledged with a note."""
    from dispatch.services.alerts import alert_raise

    api.call("rider1", "post", "/api/rider/location/state/", {"state": "denied"})
    rider = demo["rider1"].rider
    alert = alert_raise(kind="stale_device", key=f"stale_device:rider:{rider.pk}", rider=rider, lat=51.5, lng=-0.1,
                        detail={"reason": "denied", "orders": [1]})
    assert api.call("dispatcher1", "get", "/api/dispatch/alerts/", {"open": 1}).json()
    api.call("dispatcher1", "post", "/api/dispatch/alerts/{alert_id}/ack/", {"note": "Called the rider"},
             alert_id=alert.pk)


def _lines(api: Session, demo) -> None:
    """A rider's line to dispatch, used once, in the board's list of earlier threads."""
    from dispatch.services.lines import line_chat_send
    from dispatch.services.rtc import Caller

    line_chat_send(party=Caller(role="rider", user=demo["rider1"]), rider=demo["rider1"].rider, to="dispatch",
                   text="Puncture on the bridge")
    assert api.call("dispatcher1", "get", "/api/dispatch/lines/").json()[0]["messages"] == 1


def _exits(api: Session, demo, rider_id: int) -> None:
    """The exits from a delivery: a door wait, a failure under the retry policy, the retry, a failure that goes
    back to the store and the counter taking the bag back; and a cancel by each party."""
    from dispatch.models import Store

    order = api.call("merchant1", "post", "/api/orders/", order_payload()).json()
    oid, code = order["id"], order["pickup_code"]
    token = order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    Store.objects.filter(orders__pk=oid).update(fail_policy="retry")
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/assign/", {"rider": rider_id}, order_id=oid)
    api.call("store1", "post", "/api/pickup/orders/{order_id}/ready/", order_id=oid)
    rider_code = api.call("rider1", "get", "/api/rider/orders/{order_id}/handoff-code/", order_id=oid).json()["code"]
    api.call("store1", "post", "/api/pickup/handoff/", {"pickup_code": code, "rider_code": rider_code})
    api.call("rider1", "post", "/api/rider/orders/{order_id}/door-wait/", order_id=oid)
    assert api.call("anyone", "get", "/api/track/{token}/", token=token).json()["door_wait"]
    api.call("rider1", "post", "/api/rider/orders/{order_id}/fail/", {"reason": "refused", "note": "x"}, order_id=oid)
    assert api.call("anyone", "get", "/api/track/{token}/", token=token).json()["exit"]["status"] == "failed"
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/retry/", order_id=oid)
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/pin-unlock/", {"reason": "customer called"},
             order_id=oid)
    Store.objects.filter(orders__pk=oid).update(fail_policy="return")
    api.call("rider1", "post", "/api/rider/orders/{order_id}/fail/", {"reason": "unsafe"}, order_id=oid)
    assert api.call("rider1", "get", "/api/rider/returns/").json()
    rider_code = api.call("rider1", "get", "/api/rider/returns/{order_id}/handoff-code/", order_id=oid).json()["code"]
    api.call("store1", "post", "/api/pickup/orders/{order_id}/return/", {"rider_code": rider_code}, order_id=oid)
    for party, path in (("merchant1", "/api/orders/{order_id}/cancel/"),
                        ("dispatcher1", "/api/dispatch/orders/{order_id}/cancel/"),
                        ("store1", "/api/pickup/orders/{order_id}/cancel/")):
        oid = api.call("merchant1", "post", "/api/orders/", order_payload()).json()["id"]
        api.call(party, "post", path, {"reason": "out_of_stock"}, order_id=oid)


def _webhooks(api: Session, settings) -> None:
    """An endpoint registered, rotated, with a delivery that failed once (the discard port), redelivered, then
    deleted."""
    from dispatch.services.webhooks import webhook_delivery_attempt

    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the discard port on 127.0.0.1: refused connections, quickly
    hook = api.call("merchant1", "post", "/api/webhooks/", {"url": "http://127.0.0.1:9/hooks",
                                                             "events": ["order.created"]}).json()
    api.call("merchant1", "get", "/api/webhooks/")
    api.call("merchant1", "post", "/api/webhooks/{endpoint_id}/rotate/", {"overlap_s": 60}, endpoint_id=hook["id"])
    assert api.call("merchant1", "get", "/api/webhooks/{endpoint_id}/", endpoint_id=hook["id"]).json()[
        "previous_secret_expires_at"]
    api.call("merchant1", "post", "/api/orders/", order_payload())
    delivery = api.call("merchant1", "get", "/api/webhooks/{endpoint_id}/deliveries/", endpoint_id=hook["id"]).json()[0]
    assert webhook_delivery_attempt(delivery_id=delivery["id"]) == "pending"
    failed = api.call("merchant1", "get", "/api/webhooks/{endpoint_id}/deliveries/", endpoint_id=hook["id"]).json()[0]
    assert failed["attempts"] == 1 and failed["last_error"] and failed["next_attempt_at"]
    api.call("merchant1", "post", "/api/webhooks/deliveries/{delivery_id}/redeliver/", delivery_id=delivery["id"])
    assert api.call("merchant1", "delete", "/api/webhooks/{endpoint_id}/", endpoint_id=hook["id"]).json()[
        "state"] == "disabled"


def _proof_and_feedback(api: Session, demo, rider_id: int) -> None:
    """A delivery under the photo-and-PIN policy with an uploaded photo, read back by the merchant and the
    customer; then the customer's feedback, read by the merchant."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from dispatch.models import Store
    from tests.factories import delivery_pin_of

    order = api.call("merchant1", "post", "/api/orders/", order_payload()).json()
    oid, code = order["id"], order["pickup_code"]
    token = order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    Store.objects.filter(orders__pk=oid).update(pod_policy="pin_photo")
    api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/assign/", {"rider": rider_id}, order_id=oid)
    api.call("store1", "post", "/api/pickup/orders/{order_id}/ready/", order_id=oid)
    rider_code = api.call("rider1", "get", "/api/rider/orders/{order_id}/handoff-code/", order_id=oid).json()["code"]
    api.call("store1", "post", "/api/pickup/handoff/", {"pickup_code": code, "rider_code": rider_code})
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(buf, "JPEG")
    api.call("rider1", "post", "/api/rider/orders/{order_id}/pod-photo/",
             {"photo": SimpleUploadedFile("p.jpg", buf.getvalue(), "image/jpeg")}, fmt="multipart", order_id=oid)
    api.call("rider1", "post", "/api/rider/orders/{order_id}/deliver/", {"pin": delivery_pin_of(order)}, order_id=oid)
    api.call("merchant1", "get", "/api/orders/{order_id}/pod/", order_id=oid)
    api.call("merchant1", "get", "/api/orders/{order_id}/pod/photo/", order_id=oid)
    api.call("anyone", "get", "/api/track/{token}/pod/photo/", token=token)
    assert api.call("anyone", "get", "/api/track/{token}/", token=token).json()["feedback_open"] is True
    api.call("anyone", "post", "/api/track/{token}/feedback/", {"rating": 4, "issue": "late", "text": "ok"},
             token=token)
    assert api.call("anyone", "get", "/api/track/{token}/", token=token).json()["feedback"]["rating"] == 4
    api.call("merchant1", "get", "/api/orders/{order_id}/feedback/", order_id=oid)
    assert api.call("merchant1", "get", "/api/orders/{order_id}/", order_id=oid).json()["feedback"]["text"] == "ok"


def _offers(api: Session, rider_id: int) -> None:
    """An offer accepted (with the store's pay on it) and one declined."""
    from dispatch.models import Store

    Store.objects.update(offer_pay="3.20")
    for verb in ("accept", "decline"):
        oid = api.call("merchant1", "post", "/api/orders/", order_payload()).json()["id"]
        offer = api.call("dispatcher1", "post", "/api/dispatch/orders/{order_id}/offer/", {"rider": rider_id},
                         order_id=oid).json()["id"]
        assert api.call("rider1", "get", "/api/rider/offers/").json()
        api.call("rider1", "post", f"/api/rider/offers/{{offer_id}}/{verb}/", offer_id=offer)

"""Finding 9 (at rest): the tracking token and the delivery PIN are bearer secrets. Whoever reads the
database (a backup, a read replica, a support tool, a SQL injection elsewhere) must not find either."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.test import Client

from config.asgi import application
from dispatch.models import Order, OrderStatus
from tests.factories import PII_STRINGS, order_payload


def token_of(created: dict) -> str:
    return created["tracking_url"].rstrip("/").rsplit("/", 1)[1]


def every_stored_value():
    """(model, field, value as text) for every concrete field of every row of every installed model."""
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields]
        for row in model.objects.all().values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, (dict, list)):
                    text = json.dumps(value)
                elif isinstance(value, (bytes, memoryview)):
                    text = bytes(value).decode("latin-1")
                else:
                    text = str(value)
                yield model.__name__, field.name, text


def picked_up(created: dict, *, dispatcher, staff1, rider1, demo) -> None:
    oid = created["id"]
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": demo["rider1"].rider.pk},
                           format="json").status_code == 200
    assert staff1.post(f"/api/pickup/orders/{oid}/ready/").status_code == 200
    code = rider1.get(f"/api/rider/orders/{oid}/handoff-code/").json()["code"]
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": code}, format="json")
    assert r.status_code == 200, r.content


@pytest.mark.django_db
def test_no_column_of_any_table_holds_the_token_or_the_pin(merchant, dispatcher, staff1, rider1, demo):
    """Plays someone holding a copy of the database: every row of every table is scanned for the tracking
    token (anywhere in a value) and the delivery PIN (as a whole value), through the delivery."""
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    token = token_of(created)
    pin = Client().get(f"/api/track/{token}/").json()["delivery_pin"]
    assert len(token) >= 20 and len(pin) == 4 and pin.isdigit()
    picked_up(created, dispatcher=dispatcher, staff1=staff1, rider1=rider1, demo=demo)

    def leaks() -> list[tuple[str, str]]:
        found = []
        for model, field, text in every_stored_value():
            if token in text or text == pin or f'"{pin}"' in text:
                found.append((model, field))
        return found

    assert leaks() == []
    r = rider1.post(f"/api/rider/orders/{created['id']}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 200, r.content
    assert leaks() == []


@pytest.mark.django_db
def test_the_server_cannot_produce_the_link_again(merchant, dispatcher):
    """Plays the merchant (and the dispatcher) after creation: the link is given once, in the 201, and no later
    view of the order carries it."""
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    token = token_of(created)
    for body in (merchant.get(f"/api/orders/{created['id']}/").content, dispatcher.get("/api/dispatch/orders/").content):
        assert token.encode() not in body


@pytest.mark.django_db(transaction=True)
def test_the_link_still_opens_the_page_the_api_and_the_socket(merchant):
    """Plays the customer with the link: page, API (with the PIN) and socket work; a near-miss token does not."""
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    token = token_of(created)
    customer = Client()
    page = customer.get(f"/t/{token}/")
    assert page.status_code == 200
    body = customer.get(f"/api/track/{token}/").json()
    assert body["status"] == OrderStatus.CREATED and body["delivery_pin"].isdigit()
    assert not any(s in json.dumps(body) for s in PII_STRINGS)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert customer.get(f"/t/{wrong}/").status_code == 404
    assert customer.get(f"/api/track/{wrong}/").status_code == 404

    async def socket(path: str) -> bool:
        comm = WebsocketCommunicator(application, path, headers=[(b"host", b"testserver"), (b"origin", b"http://testserver")])
        connected, _ = await comm.connect()
        if connected:
            assert (await comm.receive_json_from(timeout=2))["type"] == "hello"
        await comm.disconnect()
        return connected

    assert async_to_sync(socket)(f"/ws/track/{token}/") is True
    assert async_to_sync(socket)(f"/ws/track/{wrong}/") is False


@pytest.mark.django_db
def test_the_right_pin_delivers_and_a_wrong_one_is_refused(merchant, dispatcher, staff1, rider1, demo):
    """Plays the rider at the door: a guessed PIN is refused, the customer's PIN delivers."""
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    pin = Client().get(f"/api/track/{token_of(created)}/").json()["delivery_pin"]
    picked_up(created, dispatcher=dispatcher, staff1=staff1, rider1=rider1, demo=demo)
    wrong = f"{(int(pin) + 1) % 10_000:04d}"
    for guess in (wrong, "", "x" * 40, pin + "0"):
        r = rider1.post(f"/api/rider/orders/{created['id']}/deliver/", {"pin": guess}, format="json")
        assert r.status_code in (400, 409), (guess, r.content)
    assert Order.objects.get(pk=created["id"]).status == OrderStatus.PICKED_UP
    r = rider1.post(f"/api/rider/orders/{created['id']}/deliver/", {"pin": f" {pin} "}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == OrderStatus.DELIVERED


@pytest.mark.django_db
def test_two_orders_get_unrelated_tokens_pins_and_digests(merchant):
    """Plays someone comparing rows: equal PINs must not show as equal digests, and tokens differ."""
    tokens = [token_of(merchant.post("/api/orders/", order_payload(external_ref=f"R{i}"), format="json").json())
              for i in range(2)]
    assert tokens[0] != tokens[1]
    digests = [v for _, f, v in every_stored_value() if "pin" in f]
    assert len(digests) == len(set(digests)) >= 2


def test_outside_demo_mode_the_digest_key_is_required(tmp_path):
    """Plays an operator deploying without TOKEN_DIGEST_KEY: the settings refuse to load rather than invent a key."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("TOKEN_DIGEST_KEY", "TESTING", "DEMO_MODE", "DEBUG")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x" * 50, VAR_DIR=str(tmp_path),
               VAULT_MASTER_KEY="A" * 43, VAULT_DIGEST_KEY="B" * 43, AUDIT_ANCHOR_KEY="C" * 43)
    run = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode != 0
    assert "TOKEN_DIGEST_KEY" in run.stderr
    assert not (tmp_path / "token_digest.key").exists()

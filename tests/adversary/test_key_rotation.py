"""Finding 6: a master-key rotation must be operable mid-delivery.

The party is the operator who rotates a leaked master key in the middle of a shift: new key in
VAULT_MASTER_KEY, the old one in VAULT_OLD_MASTER_KEYS, `manage.py vault_rotate`, old key removed.
Nothing may stop opening and no live call may stop routing; a crash midway must lose nothing."""

from __future__ import annotations

import base64
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dispatch import vault
from dispatch.models import Order, SealedRecord
from dispatch.services.calls import call_route, call_session_start
from dispatch.services.privacy import order_shred, vault_open
from tests.factories import CUSTOMER_NAME, CUSTOMER_PHONE, order_payload


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("vault_rotate", *args, stdout=out)
    return out.getvalue()


def start_rotation(settings) -> str:
    old = settings.VAULT_MASTER_KEY
    settings.VAULT_MASTER_KEY = new_key()
    settings.VAULT_OLD_MASTER_KEYS = [old]
    return old


def every_order_opens() -> None:
    for order in Order.objects.select_related("sealed").filter(sealed__isnull=False, sealed__shredded_at__isnull=True):
        assert vault_open(order=order, purpose="test")["name"] == CUSTOMER_NAME


@pytest.fixture
def orders(merchant, posted_order):
    ids = [posted_order["id"]]
    for n in range(4):
        ids.append(merchant.post("/api/orders/", order_payload(external_ref=f"POS-2{n}"), format="json").json()["id"])
    return ids


@pytest.mark.django_db
def test_rotation_in_the_middle_of_a_delivery_keeps_calls_routing(assigned_order, orders, demo, rider1, settings):
    """Operator rotates while an order is assigned and its proxy call is live; the old key is then removed."""
    rider = demo["rider1"].rider
    order = Order.objects.get(pk=assigned_order["id"])
    session = call_session_start(order=order, rider=rider)
    old = start_rotation(settings)
    out = rotate("--batch-size", "2")
    assert "rewrapped 5" in out, out
    settings.VAULT_OLD_MASTER_KEYS = []
    assert set(SealedRecord.objects.values_list("key_id", flat=True)) == {vault.current_key_id()}
    to_customer = call_route(caller=rider.phone, proxy_number=session.proxy_number)
    assert (to_customer.callee, to_customer.connect_to) == ("customer", CUSTOMER_PHONE)
    to_rider = call_route(caller=CUSTOMER_PHONE, proxy_number=session.proxy_number)
    assert (to_rider.callee, to_rider.connect_to) == ("rider", rider.phone)
    assert call_session_start(order=order, rider=rider).pk == session.pk  # the same live session, recognised
    assert rider1.get(f"/api/rider/orders/{order.pk}/").status_code == 200
    every_order_opens()
    settings.VAULT_MASTER_KEY = old  # and the old key alone opens nothing any more
    with pytest.raises(vault.VaultError):
        vault_open(order=Order.objects.get(pk=order.pk), purpose="test")


@pytest.mark.django_db
def test_rotation_is_idempotent(orders, settings):
    """Operator runs the command twice: the second run rewraps nothing and says so."""
    start_rotation(settings)
    assert "rewrapped 5" in rotate()
    before = dict(SealedRecord.objects.values_list("pk", "wrapped_key"))
    out = rotate()
    assert "rewrapped 0" in out and "already current 5" in out, out
    assert dict(SealedRecord.objects.values_list("pk", "wrapped_key")) == before
    settings.VAULT_OLD_MASTER_KEYS = []
    every_order_opens()


@pytest.mark.django_db
def test_interrupted_rotation_loses_nothing_and_resumes(orders, settings, monkeypatch):
    """The process dies in the middle of the second batch: committed batches stay, the rest resumes."""
    start_rotation(settings)
    real, calls = vault.rewrap, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(vault, "rewrap", dying)
    with pytest.raises(KeyboardInterrupt):
        rotate("--batch-size", "2")
    current = vault.current_key_id()
    assert SealedRecord.objects.filter(key_id=current).count() == 2  # the first batch committed, the second rolled back
    every_order_opens()  # with the old key still configured, every order opens mid-rotation
    monkeypatch.setattr(vault, "rewrap", real)
    out = rotate("--batch-size", "2")
    assert "rewrapped 3" in out and "already current 2" in out, out
    settings.VAULT_OLD_MASTER_KEYS = []
    every_order_opens()


@pytest.mark.django_db
def test_tampered_wrapped_key_is_reported_and_shredded_rows_skipped(orders, settings):
    """One wrapped key was tampered with, one order was shredded: the first is reported (non-zero exit), the
    second skipped, and every other row still rotates."""
    tampered = SealedRecord.objects.get(order_id=orders[1])
    flipped = bytearray(bytes(tampered.wrapped_key))
    flipped[-1] ^= 1
    SealedRecord.objects.filter(pk=tampered.pk).update(wrapped_key=bytes(flipped))
    order_shred(order=Order.objects.get(pk=orders[2]))
    start_rotation(settings)
    with pytest.raises(CommandError) as exc:
        rotate("--batch-size", "2")
    message = str(exc.value)
    assert f"order {orders[1]}" in message and "1 failed" in message, message
    current = vault.current_key_id()
    rotated = set(SealedRecord.objects.filter(key_id=current).values_list("order_id", flat=True))
    assert rotated == {orders[0], orders[3], orders[4]}
    SealedRecord.objects.filter(pk=tampered.pk).delete()
    settings.VAULT_OLD_MASTER_KEYS = []
    every_order_opens()


@pytest.mark.django_db
def test_a_new_master_key_does_not_break_a_live_call(assigned_order, demo, settings):
    """The master key changes while a proxy call session is live (before any rewrap): calls still route both ways,
    because the phone digests have a key of their own."""
    rider = demo["rider1"].rider
    session = call_session_start(order=Order.objects.get(pk=assigned_order["id"]), rider=rider)
    start_rotation(settings)
    to_customer = call_route(caller=rider.phone, proxy_number=session.proxy_number)
    assert (to_customer.callee, to_customer.connect_to) == ("customer", CUSTOMER_PHONE), to_customer.message
    to_rider = call_route(caller="+447700905678", proxy_number=session.proxy_number)
    assert (to_rider.callee, to_rider.connect_to) == ("rider", rider.phone), to_rider.message

"""The vault: no plaintext at rest, tamper-evident, rotatable, shreddable."""

import base64
import os
import re

import pytest
from django.db import connection

from dispatch import vault
from dispatch.models import Order, SealedRecord
from dispatch.services.privacy import order_shred, vault_open
from tests.factories import CUSTOMER_NAME, SENSITIVE_ITEM, STREET


def raw_database_dump() -> bytes:
    """Every row of every table, as the database stores it."""
    chunks = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from introspection
            for row in cur.fetchall():
                for value in row:
                    chunks.append(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode())
    return b"\n".join(chunks)


@pytest.mark.django_db
def test_no_plaintext_pii_in_the_database(posted_order):
    # Digests and hashes are long hex runs: a short number such as the door code can occur inside one by chance.
    dump = re.sub(rb"[0-9a-f]{16,}", b"<hex>", raw_database_dump())
    for secret in (CUSTOMER_NAME, "7700 905678", "905678", STREET, "Marylebone", "Blue door", SENSITIVE_ITEM, "4921"):
        assert secret.encode() not in dump, secret
    assert vault_open(order=Order.objects.get(pk=posted_order["id"]), purpose="test")["name"] == CUSTOMER_NAME


@pytest.mark.django_db
def test_tampered_ciphertext_or_swapped_records_fail(posted_order, merchant):
    from tests.factories import order_payload

    other = merchant.post("/api/orders/", order_payload(), format="json").json()
    a = SealedRecord.objects.get(order_id=posted_order["id"])
    b = SealedRecord.objects.get(order_id=other["id"])
    # A record moved to another order fails authentication (the order id is bound as AAD).
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidTag
        vault.open_payload(b.key_id, b.wrapped_key, b.ciphertext, aad=f"order:{a.order_id}".encode())
    flipped = bytearray(bytes(a.ciphertext))
    flipped[-1] ^= 1
    with pytest.raises(Exception):  # noqa: B017
        vault.open_payload(a.key_id, a.wrapped_key, bytes(flipped), aad=f"order:{a.order_id}".encode())


@pytest.mark.django_db
def test_shredding_erases_for_good(posted_order):
    order = Order.objects.get(pk=posted_order["id"])
    order_shred(order=order)
    with pytest.raises(vault.ShreddedError):
        vault_open(order=order, purpose="test")
    assert Order.objects.get(pk=order.pk).display_name == "Z**"  # masked statistics stay


@pytest.mark.django_db
def test_master_key_rotation_rewraps_without_touching_payload(posted_order, settings):
    record = SealedRecord.objects.get(order_id=posted_order["id"])
    aad = f"order:{record.order_id}".encode()
    old_key = settings.VAULT_MASTER_KEY
    settings.VAULT_MASTER_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
    settings.VAULT_OLD_MASTER_KEYS = [old_key]
    kid, wrapped = vault.rewrap(record.key_id, record.wrapped_key, aad=aad)
    assert kid != record.key_id
    settings.VAULT_OLD_MASTER_KEYS = []  # the old key is gone: only the re-wrapped key opens it
    assert vault.open_payload(kid, wrapped, record.ciphertext, aad=aad)["name"] == CUSTOMER_NAME
    with pytest.raises(vault.VaultError):
        vault.open_payload(record.key_id, record.wrapped_key, record.ciphertext, aad=aad)


def test_bad_master_key_is_refused(settings):
    settings.VAULT_MASTER_KEY = "too-short"
    with pytest.raises(vault.VaultError):
        vault.seal({"x": 1}, aad=b"a")

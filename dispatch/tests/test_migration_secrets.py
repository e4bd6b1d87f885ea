"""0008_secrets on rows written before it: tokens and PINs become digests, the plaintext columns go, the link
still works and the PIN it shows is the one the check accepts."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from dispatch import tokens

MIGRATION = ("dispatch", "0008_secrets")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_rows_are_digested_and_the_plaintext_dropped():
    parents = [d for d in importlib.import_module("dispatch.migrations.0008_secrets").Migration.dependencies
               if d[0] == "dispatch"]
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = migrate(parents)
    try:
        Store, Order = old.get_model("dispatch", "Store"), old.get_model("dispatch", "Order")
        store = Store.objects.create(name="S", address="1 Road", lat=51.5, lng=-0.12, timezone="Europe/London")
        now = timezone.now()
        made = {}
        for i, (token, pin) in enumerate([("old-token-one-aaaaaaaaaaaaaaaa", "1234"), ("old-token-two-bbbbbbbbbbbbbb", "1234")]):
            o = Order.objects.create(store=store, business_date=date(2026, 11, 30), pickup_seq=i + 1, pickup_code=f"{i + 1:03d}",
                                     display_name="Z**", phone_masked="****0000", area="A", approx_lat=51.5,
                                     approx_lng=-0.12, delivery_pin=pin, tracking_token=token,
                                     tracking_expires_at=now + timedelta(days=1), retention_due_at=now + timedelta(days=90))
            made[o.pk] = token

        new = migrate([MIGRATION])
        Order = new.get_model("dispatch", "Order")
        columns = {f.name for f in Order._meta.concrete_fields}
        assert "tracking_token" not in columns and "delivery_pin" not in columns
        rows = {o.pk: o for o in Order.objects.all()}
        for pk, token in made.items():
            row = rows[pk]
            assert row.tracking_token_digest == tokens.token_digest(token)
            assert tokens.pin_matches(token_digest=row.tracking_token_digest, stored_digest=row.delivery_pin_digest,
                                      pin=tokens.delivery_pin(token))
        assert len({r.delivery_pin_digest for r in rows.values()}) == 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM dispatch_order")
            dump = repr(cursor.fetchall())
        assert not any(token in dump for token in made.values())
        Order.objects.all().delete()
        Store.objects.all().delete()
    finally:
        migrate(leaves)

"""Bearer secrets at rest: the tracking token and the delivery PIN become keyed digests (dispatch/tokens.py).

Existing rows: the stored token is digested, and the PIN is re-derived from it (the tracking page shows the
PIN derived from the link from now on; the stored one is dropped with its column). Irreversible once an
order exists: the plaintext is gone."""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from dispatch import tokens


def digest_existing(apps, schema_editor):
    Order = apps.get_model("dispatch", "Order")
    batch = []
    for order in Order.objects.only("pk", "tracking_token").iterator(chunk_size=2000):
        digest = tokens.token_digest(order.tracking_token)
        order.tracking_token_digest = digest
        order.delivery_pin_digest = tokens.pin_digest(token_digest=digest, pin=tokens.delivery_pin(order.tracking_token))
        batch.append(order)
        if len(batch) >= 2000:
            Order.objects.bulk_update(batch, ["tracking_token_digest", "delivery_pin_digest"])
            batch = []
    if batch:
        Order.objects.bulk_update(batch, ["tracking_token_digest", "delivery_pin_digest"])


def refuse_to_restore(apps, schema_editor):
    if apps.get_model("dispatch", "Order").objects.exists():
        raise IrreversibleError("Tracking tokens and PINs exist only as digests: nothing to restore.")


class Migration(migrations.Migration):

    dependencies = [
        ("dispatch", "0005_guessing"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="tracking_token_digest",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="order",
            name="delivery_pin_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(digest_existing, reverse_code=refuse_to_restore, elidable=False),
        migrations.RemoveField(model_name="order", name="tracking_token"),
        migrations.RemoveField(model_name="order", name="delivery_pin"),
        migrations.AlterField(
            model_name="order",
            name="tracking_token_digest",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]

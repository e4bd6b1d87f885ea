"""Post a demo order as merchant1 (the same service the intake API uses), optionally assigned."""

import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from dispatch.models import Merchant, Rider
from dispatch.services.orders import order_assign, order_create

CUSTOMERS = [("Zhang San", "+44 7700 900555"), ("Amelia Hart", "+44 7700 900777"), ("李娜", "+86 138 0013 8000")]


class Command(BaseCommand):
    help = "Create a demo order for store 1 (and assign it with --rider rider1)."

    def add_arguments(self, parser):
        parser.add_argument("--rider", default="")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, rider: str, port: int, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("Demo orders are only for debug or demo mode.")
        merchant = Merchant.objects.get(user__username="merchant1")
        store = merchant.stores.first()
        name, phone = random.choice(CUSTOMERS)  # noqa: S311 - demo data
        order = order_create(
            merchant=merchant, store=store, external_ref=f"DEMO-{random.randint(1000, 9999)}",  # noqa: S311
            customer={"name": name, "phone": phone, "lat": 51.5033, "lng": -0.1196,
                      "address": {"area": "Westminster", "street": "10 Whitehall Place", "building": "Crown House",
                                  "unit": "Flat 4", "door_code": "1234", "notes": "Ring twice"}},
            items=[{"name": "Plasters", "qty": 1}, {"name": "Insulin pen", "qty": 1, "sensitive": True}],
            consent={"number_protection": True},
        )
        if rider:
            order_assign(order_id=order.pk, rider_id=Rider.objects.get(user__username=rider).pk, by=None)
        url = f"http://127.0.0.1:{port}{reverse('track-page', args=[order.tracking_token])}"
        self.stdout.write(f"Order {order.pk}, pickup number {order.pickup_code}. Customer tracking: {url}")

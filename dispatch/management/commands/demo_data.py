"""Demo accounts and stores. Refused outside debug/demo mode."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from dispatch.demo import DEMO_PASSWORD
from dispatch.models import Dispatcher, Merchant, Rider, Staff, Store
from dispatch.services.fleets import merchant_fleet

STORES = [
    {"name": "Green Cross Pharmacy", "address": "12 Market Street, Riverside", "lat": 51.5074, "lng": -0.1278,
     "timezone": "Europe/London", "pickup_prefix": ""},
    {"name": "Noodle Bar Central", "address": "3 Station Road, Old Town", "lat": 51.5155, "lng": -0.0922,
     "timezone": "Europe/London", "pickup_prefix": "B", "fail_policy": "retry",  # a failed delivery may go out again
     "auto_dispatch": True, "offer_pay": "4.50"},  # new orders are offered to riders one by one, with the pay shown
]
RIDERS = [("rider1", "Ravi K.", "+447700900101"), ("rider2", "Mia L.", "+447700900102"),
          ("rider3", "Tom B.", "+447700900103")]
# merchant1's own fleet (docs/fleets.md): its rider takes only merchant1's orders, its dispatcher sees only them.
OWN_RIDERS = [("rider4", "Ana P.", "+447700900104")]


class Command(BaseCommand):
    help = ("Create the demo stores and accounts (rider1-3, rider4 of merchant1's own fleet, store1, store1b, "
            "store2, dispatcher1, dispatcher2 for merchant1's fleet, merchant1, merchant2).")

    def add_arguments(self, parser):
        parser.add_argument("--migrate", action="store_true",
                            help="migrate first, in this process (make run: one Django start-up, not two)")

    def handle(self, *args, migrate: bool = False, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("Demo data is only for debug or demo mode (set DEMO_MODE=1).")
        if migrate:
            call_command("migrate", interactive=False, verbosity=options.get("verbosity", 1), stdout=self.stdout)
        self.create()

    @transaction.atomic
    def create(self) -> None:
        User = get_user_model()

        def user(username: str):
            u, created = User.objects.get_or_create(username=username)
            if created or not u.has_usable_password():
                u.set_password(DEMO_PASSWORD)
                u.save()
            return u

        stores = []
        for spec in STORES:
            store, _ = Store.objects.update_or_create(name=spec["name"], defaults=spec)
            stores.append(store)
        for username, name, phone in RIDERS:
            Rider.objects.update_or_create(user=user(username), defaults={"display_name": name, "phone": phone})
        merchants = []
        for i, store in enumerate(stores, start=1):
            Staff.objects.update_or_create(user=user(f"store{i}"), defaults={"store": store})
            merchant, _ = Merchant.objects.get_or_create(user=user(f"merchant{i}"))
            merchant.stores.set([store])
            Token.objects.get_or_create(user=merchant.user)
            merchants.append(merchant)
        Staff.objects.update_or_create(user=user("store1b"), defaults={"store": stores[0]})  # a second clerk
        for username, name, phone in OWN_RIDERS:
            Rider.objects.update_or_create(user=user(username),
                                           defaults={"display_name": name, "phone": phone, "fleet": merchants[0]})
        Dispatcher.objects.update_or_create(user=user("dispatcher1"), defaults={"reports_admin": True})
        Dispatcher.objects.update_or_create(user=user("dispatcher2"),
                                            defaults={"fleet_scope": merchant_fleet(merchants[0].pk)})
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Password for every demo account: {DEMO_PASSWORD}"))

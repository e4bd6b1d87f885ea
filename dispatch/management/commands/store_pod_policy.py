"""Set a store's proof-of-delivery policy (docs/proof-of-delivery.md): what a rider must show at the door."""

from django.core.management.base import BaseCommand, CommandError

from dispatch.services.pod import POLICIES, store_pod_policy_set


class Command(BaseCommand):
    help = "Set the proof-of-delivery policy of a store (by id): " + ", ".join(POLICIES) + "."

    def add_arguments(self, parser):
        parser.add_argument("store", type=int)
        parser.add_argument("policy", choices=list(POLICIES))

    def handle(self, *args, store: int, policy: str, **options):
        try:
            changed = store_pod_policy_set(store_id=store, policy=policy)
        except LookupError as exc:
            raise CommandError(f"No store with id {store}.") from exc
        self.stdout.write(f"Store {changed.pk} ({changed.name}): proof of delivery is now {changed.pod_policy}.")

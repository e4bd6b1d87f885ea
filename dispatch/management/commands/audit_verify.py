from django.core.management.base import BaseCommand, CommandError

from dispatch.services.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain."

    def handle(self, *args, **options):
        ok, count, broken = audit_verify()
        if not ok:
            raise CommandError(f"Audit chain broken at event {broken} after {count} good events.")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events."))

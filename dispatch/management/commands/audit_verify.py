from django.core.management.base import BaseCommand, CommandError

from dispatch.services.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain against its last signed checkpoint (AUDIT_ANCHOR_PATH) and AuditHead; "
        "when intact, checkpoint the head. Exits non-zero on any break."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-checkpoint", action="store_true", help="Verify only; leave the anchor as it is.")

    def handle(self, *args, no_checkpoint: bool = False, **options):
        verdict = audit_verify(checkpoint=not no_checkpoint)
        if not verdict.ok:
            raise CommandError(verdict.problem)
        anchor = verdict.anchor
        where = f" Checkpoint at event #{anchor.last_id} ({anchor.at})." if anchor else " No events yet: nothing to anchor."
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {verdict.count} events.{where}"))
        if verdict.count and not verdict.compared:
            self.stdout.write(self.style.WARNING(
                "There was no earlier checkpoint to compare with: a tail cut before this run cannot be detected. "
                "If one was expected, its anchor file was lost or removed."))

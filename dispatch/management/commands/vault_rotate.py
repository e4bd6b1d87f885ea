from django.core.management.base import BaseCommand, CommandError

from dispatch.services.privacy import line_keys_rewrap, vault_key_census, vault_rewrap_batch


class Command(BaseCommand):
    help = (
        "Key rotation: re-wrap every stored data key under the current VAULT_MASTER_KEY, in batches. "
        "Resumable and idempotent; shredded records are skipped; a record that will not unwrap is reported. "
        "Order: give every process the new VAULT_MASTER_KEY with the old one in VAULT_OLD_MASTER_KEYS, run this, "
        "then remove the old key. Call routing does not depend on the master key (VAULT_DIGEST_KEY)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Records a transaction (default 500).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        before = vault_key_census()
        self.stdout.write(f"{before.stale} records to rewrap, {before.current} already under the current key, "
                          f"{before.shredded} shredded (skipped).")
        cursor, rewrapped, failed = 0, 0, []
        while True:
            batch = vault_rewrap_batch(after_pk=cursor, batch_size=batch_size)
            if batch.last_pk is None:
                break
            cursor = batch.last_pk
            rewrapped += batch.rewrapped
            failed += batch.failed
            self.stdout.write(f"  batch up to record {cursor}: {rewrapped} of {before.stale} done, {len(failed)} failed")
        lines, lines_failed = line_keys_rewrap()  # the riders' lines to dispatch (chat keys)
        self.stdout.write(f"  riders' line keys: {lines} rewrapped, {len(lines_failed)} failed")
        failed += [(0, f"rider {rider}'s line: {why}") for rider, why in lines_failed]
        summary = (f"Summary: rewrapped {rewrapped}, already current {before.current}, shredded {before.shredded}, "
                   f"{len(failed)} failed.")
        if failed:
            detail = "; ".join(f"order {order_id}: {why}" for order_id, why in failed)
            raise CommandError(f"{summary} Keep the old keys in VAULT_OLD_MASTER_KEYS. Failed: {detail}")
        self.stdout.write(self.style.SUCCESS(summary))
        left = vault_key_census().stale
        if left:
            self.stdout.write(self.style.WARNING(f"{left} records are still under an old key: run vault_rotate again."))
        else:
            self.stdout.write("Every record is under the current key: the old keys can leave VAULT_OLD_MASTER_KEYS.")

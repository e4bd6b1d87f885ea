"""A month of history for the privacy and operations report: `manage.py seed_month --days 30`
(see dispatch/simulation/month.py). Deterministic for a --seed. Refused outside debug, demo or test mode."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dispatch.simulation.month import seed_month


class Command(BaseCommand):
    help = "Seed `--days` of finished orders with their audit reads, calls, chats, break-glass and retention."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--per-day", type=int, default=30, dest="per_day")
        parser.add_argument("--old", type=int, default=24, help="orders older than the retention window")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, days: int, per_day: int, old: int, seed: int, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("seed_month writes demo data: only in debug, demo or test mode (set DEMO_MODE=1).")
        if days < 1 or per_day < 1 or old < 0:
            raise CommandError("--days and --per-day must be at least 1, --old at least 0.")
        try:
            made = seed_month(days=days, per_day=per_day, old=old, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(", ".join(f"{k} {v}" for k, v in made.items()))

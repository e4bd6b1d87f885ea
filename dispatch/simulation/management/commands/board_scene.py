"""A busy dispatch board: `manage.py board_scene --orders 100 --riders 50` (see dispatch/simulation/board_scene.py).
For the board's browser test and `make lighthouse-board`. Refused outside debug, demo or test mode."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dispatch.simulation.board_scene import board_scene


class Command(BaseCommand):
    help = "Open orders (some late, some held) and on-duty riders with positions, for the dispatch board."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=100)
        parser.add_argument("--riders", type=int, default=50)
        parser.add_argument("--seed", type=int, default=26)

    def handle(self, *args, orders: int, riders: int, seed: int, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("board_scene writes demo data: only in debug, demo or test mode (set DEMO_MODE=1).")
        made = board_scene(orders=orders, riders=riders, seed=seed)
        self.stdout.write(f"Board scene: {made['orders']} open orders, {made['riders']} riders on duty.")

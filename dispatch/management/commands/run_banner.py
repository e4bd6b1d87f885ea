from django.core.management.base import BaseCommand

from .demo_data import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Print the demo URLs and logins (used by `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options):
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(
            f"""
  Privacy-first delivery is starting on {base}
    Rider app (phone):   {base}/rider/        rider1, rider2, rider3
    Store counter:       {base}/pickup/       store1, store2
    Dispatch map:        {base}/dispatch/     dispatcher1
    Customer tracking:   {base}/t/<token>/    (the tracking_url of an order)
    API docs:            {base}/api/docs/     merchant1 (token: POST /api/auth/token/)
  Password for every demo account: {DEMO_PASSWORD}
  Post a demo order:     make demo-order PORT={port}   (or .venv/bin/python manage.py demo_order --port {port})
  Ctrl-C stops the server, the worker and beat.
"""
        )

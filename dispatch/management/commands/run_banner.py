"""The demo's URLs and logins, printed once the server answers (`make run`), or at once (`make urls`)."""

import time
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError

from dispatch.demo import DEMO_PASSWORD, DEMO_SCREENS


def server_answers(url: str) -> bool:
    """True once `url` answers with any HTTP status (a 4xx is an answer; a refused connection is not)."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - a loopback http URL built from the port
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def banner(base: str, port: int) -> str:
    lines = ["", f"  Privacy-first delivery on {base}"]
    for screen, path, logins, note in DEMO_SCREENS:
        extra = f"  {note}" if note else ""
        lines.append(f"    {str(screen) + ':':<20} {base + path:<34} {', '.join(logins)}{extra}")
    lines += [
        f"    {'Customer tracking:':<20} {base + '/t/<token>/':<34} (the tracking_url of an order)",
        f"  Password for every demo account: {DEMO_PASSWORD}",
        f"  Post a demo order:     make demo-order PORT={port}   (or .venv/bin/python manage.py demo_order --port {port})",
        f"  These again: make urls PORT={port}, or the home page {base}/",
        "  Ctrl-C stops the server, the worker, beat and the sim riders.",
        "",
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print the demo URLs and logins; with --wait, once the server on --port answers."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--wait", type=float, default=0.0,
                            help="seconds to wait for the server to answer before printing (0: print at once)")
        parser.add_argument("--poll", type=float, default=0.5, help="seconds between two tries while waiting")

    def handle(self, *args, port: int, wait: float, poll: float, **options):
        base = f"http://127.0.0.1:{port}"
        if wait > 0:
            deadline = time.monotonic() + wait
            while not server_answers(f"{base}/"):
                if time.monotonic() >= deadline:
                    raise CommandError(f"No answer from {base}/ after {wait:g} s: the server did not start "
                                       "(see its log above); `make urls` prints the URLs and logins again.")
                time.sleep(poll)
        self.stdout.write(banner(base, port))

"""The web server's garbage collection (config/asgi.py). Finding (scale profile, 10,000 sockets, 2026-12): with
Python's default thresholds, full collections over a process's millions of objects (about 250 ms for 2.4 million
here) put ack p99 at 1,095 ms and map p99 at 2,090 ms at 2,500 pings/s, and the bare echo consumer's p99 at
95-566 ms; with start-up objects frozen and the young generation collected less often, 112 ms and 560 ms."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness import ROOT


def server_gc(env: dict[str, str]) -> dict:
    code = ("import gc, json, config.asgi; "
            "print(json.dumps({'threshold': gc.get_threshold(), 'frozen': gc.get_freeze_count()}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEMO_MODE": "1", **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_server_freezes_its_start_up_objects_and_collects_the_young_generation_less_often():
    default = server_gc({})
    assert default["threshold"] == [50_000, 20, 100]
    assert default["frozen"] > 50_000  # Django, the apps, the routing: out of every collection from then on
    assert server_gc({"GC_THRESHOLDS": "700,10,10"})["threshold"] == [700, 10, 10]

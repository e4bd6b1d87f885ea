"""What an open rider socket holds in the application (consumer, channel layer, our per-rider state), by
tracemalloc: N rider sockets opened in-process, each after one ping, against none. Prints a table by file;
asserts nothing. The transport's own share (daphne, autobahn, twisted) is not in it: `make bench-live`
measures the whole process's RSS per socket.

    PYTHONPATH=. .venv/bin/python -m pytest tests/bench_socket_memory.py -q -s -p no:randomly
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections import defaultdict

import pytest

from tests.security.socket_helpers import login_cookie, open_socket, shut

pytestmark = pytest.mark.django_db(transaction=True)
N = 200


def test_memory_per_rider_socket(demo, assigned_order, settings):
    settings.LOCATION_FIX_BATCH = True
    cookies = [login_cookie(demo["rider1"]) for _ in range(N)]

    async def scenario():
        first, _ = await open_socket("/ws/rider/", cookies[0])  # imports and one-off caches out of the figure
        await first.send_json_to({"type": "location", "lat": 51.53, "lng": -0.1196, "accuracy": 8,
                                  "timestamp": time.time(), "seq": 1})
        await first.receive_json_from(timeout=5)
        gc.collect()
        tracemalloc.start(8)
        before = tracemalloc.take_snapshot()
        comms = []
        for i, cookie in enumerate(cookies[1:], start=2):
            comm, ok = await open_socket("/ws/rider/", cookie)
            assert ok
            await comm.send_json_to({"type": "location", "lat": 51.53 + i / 1e5, "lng": -0.1196, "accuracy": 8,
                                     "timestamp": time.time(), "seq": i})
            await comm.receive_json_from(timeout=5)
            comms.append(comm)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        by_file: dict[str, int] = defaultdict(int)
        for stat in after.compare_to(before, "filename"):
            name = stat.traceback[0].filename
            name = name.split("site-packages/")[-1] if "site-packages/" in name else name.split("/hot/")[-1]
            by_file[name] += stat.size_diff
        total = sum(by_file.values())
        print(f"\n{len(comms)} rider sockets: {total / len(comms) / 1024:.1f} KiB each (tracemalloc, in-process)")
        ours = sum(v for k, v in by_file.items() if k.startswith(("dispatch/", "rider/", "config/")))
        print(f"  this project's code (dispatch/, rider/, config/): {ours / len(comms) / 1024:.2f} KiB")
        for name, size in sorted(by_file.items(), key=lambda kv: -kv[1]):
            if name.startswith(("dispatch/", "rider/", "config/")) and size > 0:
                print(f"    {size / len(comms):7.0f} B  {name}")
        for name, size in sorted(by_file.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {size / len(comms) / 1024:7.2f} KiB  {name}")
        by_line = after.compare_to(before, "lineno")[:12]
        for stat in by_line:
            print(f"  {stat.size_diff / len(comms):8.0f} B  {stat.traceback[0]}")
        await shut(first, *comms)

    asyncio.run(scenario())

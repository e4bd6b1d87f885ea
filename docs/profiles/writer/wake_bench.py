# ruff: noqa - a measurement script kept as it was run for docs/profiles/README.md (the batch writer pass)
"""Loop-side cost of waiting on a group: old fixes_durable (wrap_future + shield + wait_for per ping) vs new."""
import asyncio
import os
import threading
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
django.setup()
from concurrent.futures import Future

from dispatch.live import writer as fixes


async def old_durable(future, wait_s=5.0):
    if future.done():
        return True
    try:
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), wait_s)
    except TimeoutError:
        return False
    return True

def resolve_old(fut): fut.set_result(None)
def resolve_new(fut): fixes._wake_loops([fut])

async def run(mode, n, groups):
    durable = old_durable if mode == "old" else fixes.fixes_durable
    make = Future if mode == "old" else fixes.GroupFuture
    resolve = resolve_old if mode == "old" else resolve_new
    c0 = time.process_time(); t0 = time.perf_counter()
    for _ in range(groups):
        fut = make()
        tasks = [asyncio.ensure_future(durable(fut)) for _ in range(n)]
        await asyncio.sleep(0)
        th = threading.Thread(target=resolve, args=(fut,)); th.start()
        assert all(await asyncio.gather(*tasks))
        th.join()
    return (time.process_time() - c0) / (n * groups) * 1e6, (time.perf_counter() - t0) / (n * groups) * 1e6

print("load", os.getloadavg()[0])
for n in (1, 10, 50, 200):
    for rep in range(2):
        for mode in ("old", "new"):
            cpu, wall = asyncio.run(run(mode, n, max(20, 4000 // n)))
            print(f"waiters/group {n:4d} {mode}: CPU {cpu:6.1f} us/ping, wall {wall:6.1f} us/ping")

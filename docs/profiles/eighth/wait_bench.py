"""What waiting for a shared future costs per waiter on uvloop: asyncio.wait with a timeout (the seventh pass's
ack wait), a plain await, and asyncio.shield. Task creation included. Prints figures (#10, eighth pass).

    .venv/bin/python docs/profiles/eighth/wait_bench.py
"""

import asyncio
import time

import uvloop

N = 20000


async def via_wait(shared):
    done, _ = await asyncio.wait((shared,), timeout=5)
    return bool(done)


async def direct(shared):
    return await shared


async def shielded(shared):
    return await asyncio.shield(shared)


async def main(waiter):
    loop = asyncio.get_running_loop()
    best = float("inf")
    for _ in range(5):
        shared = loop.create_future()
        t0 = time.perf_counter()
        tasks = [loop.create_task(waiter(shared)) for _ in range(N)]
        await asyncio.sleep(0)
        shared.set_result(True)
        await asyncio.gather(*tasks)
        best = min(best, time.perf_counter() - t0)
    return best


for waiter in (via_wait, direct, shielded):
    print(f"{waiter.__name__}: {uvloop.run(main(waiter)) / N * 1e6:.1f} µs per waiter")

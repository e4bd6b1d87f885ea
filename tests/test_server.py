"""config/server.py: daphne with a ChannelQueue for each connection's input (an asyncio.Queue is 3 KiB of deques
held for as long as a socket is open)."""

from __future__ import annotations

import asyncio
import tracemalloc

from daphne.server import Server

from config.server import LeanServer


def per_connection(server_class, n: int = 200) -> tuple[float, list]:
    received: list = []

    async def app(scope, receive, send):
        received.append(await receive())

    async def scenario() -> float:
        server = server_class.__new__(server_class)  # only what create_application reads
        server.connections, server.application = {}, app
        protocols = [object() for _ in range(n)]
        for p in protocols:
            server.connections[p] = {}
        await asyncio.sleep(0)
        before = tracemalloc.take_snapshot()
        queues = [server.create_application(p, {"type": "websocket"}) for p in protocols]
        await asyncio.sleep(0)  # every application waits in receive()
        after = tracemalloc.take_snapshot()
        for i, q in enumerate(queues):
            q.put_nowait({"type": "websocket.connect", "i": i})
        await asyncio.gather(*(server.connections[p]["application_instance"] for p in protocols))
        return sum(s.size_diff for s in after.compare_to(before, "filename")) / n

    tracemalloc.start()
    try:
        return asyncio.run(scenario()), received
    finally:
        tracemalloc.stop()


def test_each_connection_s_input_queue_delivers_and_costs_less_than_daphne_s():
    lean, received = per_connection(LeanServer)
    assert sorted(m["i"] for m in received) == list(range(200))
    daphne, _ = per_connection(Server)
    assert lean < daphne - 2500, f"{lean:.0f} bytes a connection, daphne's own {daphne:.0f}"

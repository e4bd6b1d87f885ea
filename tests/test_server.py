"""config/server.py: daphne with a ChannelQueue for each connection's input (an asyncio.Queue is 3 KiB of deques
held for as long as a socket is open), and websockets that keep nothing of their HTTP upgrade or handshake."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import tracemalloc

import httpx
import websockets
from daphne.server import Server

from config.server import LeanServer
from tests.harness import BIN, ROOT, SERVER, free_port


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


def serve_and_probe(command: list[str], n: int = 40, env: dict[str, str] | None = None) -> dict:
    """`n` websockets opened on a real server process, each echoing once; then what the process holds for them."""
    port = free_port()
    proc = subprocess.Popen([*command, "-b", "127.0.0.1", "-p", str(port), "tests.lean_server_app:application"],
                            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.1)

        async def scenario() -> dict:
            sockets = [await websockets.connect(f"ws://127.0.0.1:{port}/ws/{i}/") for i in range(n)]
            try:
                for i, ws in enumerate(sockets):
                    await ws.send(f"ping {i}")
                    assert await ws.recv() == f"ping {i}"
                await asyncio.sleep(1.5)  # daphne forgets an upgraded request on its next once-a-second check
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"http://127.0.0.1:{port}/probe", timeout=30)).json()
            finally:
                for ws in sockets:
                    await ws.close()

        return asyncio.run(scenario())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def test_an_open_websocket_keeps_nothing_of_its_http_upgrade_or_handshake():
    held = serve_and_probe(SERVER)
    assert held["sockets"] == 40
    assert held["paths"] == sorted(f"/ws/{i}/" for i in range(40))  # what daphne's access log still reads
    assert held["http_channels"] <= 1 and held["http_requests"] <= 1, held  # the probe's own request at most
    assert held["handshake_copies"] == 0, held
    assert held["options_per_socket"] == 0, held
    assert held["send_queues"] == ["SendQueue"], held


def test_the_server_runs_twisted_on_uvloop_and_on_asyncio_s_own_loop_when_asked():
    """uvloop under Twisted's asyncio reactor (about a tenth less CPU per ping, docs/profiles/README.md); with
    SERVER_LOOP=asyncio the same server runs on asyncio's selector loop, for comparison."""
    held = serve_and_probe(SERVER, n=5)
    assert held["loop"] == "uvloop" and held["sockets"] == 5, held
    held = serve_and_probe(SERVER, n=5, env={"SERVER_LOOP": "asyncio"})
    assert held["loop"] == "asyncio.unix_events" and held["sockets"] == 5, held


def test_daphne_s_own_server_keeps_them_which_is_what_the_probe_sees():
    """The same probe on plain daphne: the channel, the request and the copies are there for every socket."""
    held = serve_and_probe([str(BIN / "daphne")])
    assert held["sockets"] == 40
    assert held["http_channels"] >= 40 and held["http_requests"] >= 40, held
    assert held["handshake_copies"] == 40, held
    assert held["options_per_socket"] >= 25, held
    assert held["send_queues"] == ["deque"], held


def test_the_send_queue_is_first_in_first_out_like_autobahn_s_deque():
    from config.server import SendQueue

    queue = SendQueue()
    assert not queue and len(queue) == 0
    queue.append((b"one", True))
    queue.append((b"two", False))
    assert len(queue) == 2
    assert queue.popleft() == (b"one", True) and queue.popleft() == (b"two", False)
    assert not queue

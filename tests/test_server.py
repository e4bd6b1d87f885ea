"""dispatch/live/server.py: daphne with a ChannelQueue for each connection's input (an asyncio.Queue is 3 KiB of deques
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

from dispatch.live.server import LeanServer
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
                # The server forgets an upgraded request within two seconds: its once-a-second check runs a slice every
                # 0.1 s, and a connection opened during a round is first visited in the next (dispatch/live/server.py).
                await asyncio.sleep(2.5)
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
    """uvloop under Twisted's asyncio reactor (about a tenth less CPU per ping, docs/performance.md); with
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
    from dispatch.patches.autobahn import SendQueue

    queue = SendQueue()
    assert not queue and len(queue) == 0
    queue.append((b"one", True))
    queue.append((b"two", False))
    assert len(queue) == 2
    assert queue.popleft() == (b"one", True) and queue.popleft() == (b"two", False)
    assert not queue


def test_a_round_visits_each_connection_once_a_slice_per_tick():
    from dispatch.patches.daphne import RoundRobin

    conns = {i: {} for i in range(1000)}
    rr = RoundRobin(ticks=20)
    first = [rr.take(conns) for _ in range(20)]
    assert {len(s) for s in first} == {50}  # 1,000 in 20 slices, not all in one pass
    assert sorted(i for s in first for i in s) == list(range(1000))
    conns[1000] = {}  # opened mid-round: taken from the next round
    second = [rr.take(conns) for _ in range(20)]
    assert sorted(i for s in second for i in s) == list(range(1001))
    few = RoundRobin(ticks=20)
    assert [len(few.take(range(3))) for _ in range(40)] == ([1, 1, 1] + [0] * 17) * 2  # once a round, however few
    assert RoundRobin(ticks=20).take({}) == []


class FakeProtocol:
    def __init__(self) -> None:
        self.timeouts_checked = 0
        self.exceptions: list[BaseException] = []

    def check_timeouts(self) -> None:
        self.timeouts_checked += 1

    def handle_exception(self, exc: BaseException) -> None:
        self.exceptions.append(exc)


def test_the_servers_checks_reap_log_and_time_out_as_daphne_s_do_spread_over_their_period(monkeypatch, caplog):
    """Daphne's two passes over every connection (reap finished applications each second, timeouts and keep-alive
    pings every 2 s) run a slice every 0.1 s: the scale profile (2026-12) measured a whole pass holding the loop 10-34 ms at
    5,000 sockets, and the pings it sent at once 70-127 ms."""
    from dispatch.patches import daphne as lean

    later: list = []
    monkeypatch.setattr(lean.reactor, "callLater", lambda delay, fn, *a: later.append((delay, fn)))

    async def scenario():
        server = LeanServer.__new__(LeanServer)
        server.application_round, server.timeout_round = lean.RoundRobin(10), lean.RoundRobin(20)
        server.application_close_timeout = 10
        loop = asyncio.get_running_loop()
        done, failed, running, stuck = (loop.create_future() for _ in range(4))
        done.set_result(None)
        failed.set_exception(ValueError("boom"))
        protocols = [FakeProtocol() for _ in range(4)]
        server.connections = {
            protocols[0]: {"application_instance": done, "disconnected": time.time()},  # closed and finished
            protocols[1]: {"application_instance": failed},  # open, its application raised
            protocols[2]: {"application_instance": running},  # open and running
            protocols[3]: {"application_instance": stuck, "disconnected": time.time() - 11},  # closed, app hangs
        }
        for _ in range(10):  # one second's ticks
            server.application_checker()
        assert protocols[0] not in server.connections  # forgotten
        assert server.connections[protocols[1]] == {}  # reaped, its exception logged and handed to the protocol
        assert [str(e) for e in protocols[1].exceptions] == ["boom"]
        assert server.connections[protocols[2]] == {"application_instance": running}
        assert stuck.cancelled()  # cancelled after application_close_timeout (and, done, forgotten)
        assert protocols[3] not in server.connections
        for _ in range(20):  # two seconds' ticks
            server.timeout_checker()
        assert [p.timeouts_checked for p in protocols] == [0, 1, 1, 0]
        assert {delay for delay, _ in later} == {lean.CHECK_TICK_S} and len(later) == 30

    with caplog.at_level("ERROR"):
        asyncio.run(scenario())
    assert "Exception inside application: boom" in caplog.text

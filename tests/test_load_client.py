"""The load generator's client (`dispatch/simulation/`: `client.LeanSocket`, `load.LoadShard`) against a real
websockets server in the same loop: the handshake carries the session and the origin, frames arrive whole
(fragmented ones too), the server's pings are answered, the close is a clean handshake, and the one-ticker
schedule sends every socket's pings on time, counting those a closed socket could not send as lost."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.server import serve

from dispatch.simulation.client import LeanSocket
from dispatch.simulation.load import LoadShard


class Server:
    """A stand-in rider socket: a hello, then one ack per location; `/ws/echo/` says nothing first."""

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        self.pings: list[tuple[str, int, float]] = []  # (session, seq, the client's send time in the frame)
        self.pongs: list[float] = []
        self.close_codes: list[int | None] = []
        self.kill_after: dict[str, int] = {}  # session -> close the socket after this many pings

    async def handler(self, ws):
        headers = ws.request.headers
        session = headers.get("Cookie", "").removeprefix("sessionid=")
        self.requests.append({"path": ws.request.path, "cookie": headers.get("Cookie", ""),
                              "origin": headers.get("Origin", "")})
        if ws.request.path != "/ws/echo/":
            await ws.send(json.dumps({"type": "hello"}))
        count = 0
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("type") == "fragmented please":
                    await ws.send(iter(['{"type": "long", ', '"text": "', "x" * 5000, '"}']))
                    continue
                if msg.get("type") == "ping me":
                    t0 = time.monotonic()
                    await (await ws.ping())
                    self.pongs.append(time.monotonic() - t0)
                    await ws.send(json.dumps({"type": "ponged"}))
                    continue
                count += 1
                self.pings.append((session, msg["seq"], msg["timestamp"]))
                await ws.send(json.dumps({"type": "location.ack", "seq": msg["seq"], "accepted": True}))
                if self.kill_after.get(session) == count:
                    await ws.close(4001)
                    return
        finally:
            self.close_codes.append(ws.close_code)


def with_server(body):
    """Runs `body(server, url)` in a fresh event loop with the stand-in server listening."""

    async def main():
        srv = Server()
        async with serve(srv.handler, "127.0.0.1", 0, compression=None) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            await asyncio.wait_for(body(srv, f"http://127.0.0.1:{port}"), 30)

    asyncio.run(main())


def test_a_lean_socket_opens_with_the_session_reads_whole_messages_answers_pings_and_closes_cleanly():
    with_server(_a_lean_socket_opens_with_the_session_reads_whole_messages_answers_pings_and_closes_cleanly)


async def _a_lean_socket_opens_with_the_session_reads_whole_messages_answers_pings_and_closes_cleanly(srv, url):
    got: list[bytes] = []
    ws = await LeanSocket.connect(url, "/ws/rider/", "abc123", got.append, open_timeout=5)
    assert srv.requests == [{"path": "/ws/rider/", "cookie": "sessionid=abc123", "origin": url}]
    for _ in range(50):
        if got:
            break
        await asyncio.sleep(0.02)
    assert [json.loads(g) for g in got] == [{"type": "hello"}]

    ws.send(json.dumps({"type": "fragmented please"}))
    ws.send(json.dumps({"type": "ping me"}))
    for _ in range(100):
        if len(got) == 3:
            break
        await asyncio.sleep(0.02)
    long, ponged = (json.loads(g) for g in got[1:])
    assert long == {"type": "long", "text": "x" * 5000}  # four fragments, one message
    assert ponged == {"type": "ponged"} and len(srv.pongs) == 1  # the server's ping was answered

    await ws.close()
    assert ws.lost.done() and not ws.open
    for _ in range(50):
        if srv.close_codes:
            break
        await asyncio.sleep(0.02)
    assert srv.close_codes == [1000]
    with pytest.raises(ConnectionError):
        ws.send("{}")


def test_a_refused_handshake_raises():
    asyncio.run(_refused())


async def _refused():
    srv2 = Server()

    async def refuse(connection, request):
        return connection.respond(403, "no\n")

    async with serve(srv2.handler, "127.0.0.1", 0, process_request=refuse) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        with pytest.raises(Exception, match="403"):
            await LeanSocket.connect(f"http://127.0.0.1:{port}", "/ws/rider/", "s", lambda raw: None, open_timeout=5)
    assert srv2.requests == []


def rider(i: int) -> dict:
    return {"id": 100 + i, "index": i, "session": f"s{i}", "dest": (31.23, 121.47), "ring_m": 2500.0, "phase": 0.0}


def test_the_shard_pings_every_socket_on_its_schedule_and_counts_a_closed_sockets_pings_as_lost():
    with_server(_the_shard_pings_every_socket_on_its_schedule_and_counts_a_closed_sockets_pings_as_lost)


async def _the_shard_pings_every_socket_on_its_schedule_and_counts_a_closed_sockets_pings_as_lost(srv, url):
    riders = [rider(i) for i in range(6)]
    srv.kill_after["s5"] = 2  # the server closes rider 5's socket after its second ping
    shard = LoadShard(riders, [url], "/ws/rider/")
    opened, failed = await shard.open()
    assert (opened, failed) == (6, 0)

    interval, seconds = 0.3, 1.2
    start = time.time() + 0.2
    result = await shard.step(interval=interval, start_at=start, seconds=seconds, phase0=0.0, total=6, grace=0.5)
    await shard.close()

    by_session: dict[str, list[tuple[int, float]]] = {}
    for session, seq, at in srv.pings:
        by_session.setdefault(session, []).append((seq, at))
    # Four pings each, in seq order, none sent before its due time: the first spread over the interval by the
    # socket's index, then one an interval later each (a busy machine may send them late, never early).
    early = 0.005  # the clocks' resolution: asyncio may wake a timer this much before time.time() reaches it
    for i in range(5):
        got = by_session[f"s{i}"]
        assert [seq for seq, _ in got] == [1, 2, 3, 4]
        first_due = start + interval * ((i * 0.6180339887498949) % 1.0)
        assert all(sent >= first_due + k * interval - early for k, (_, sent) in enumerate(got)), (first_due, got)
    assert [seq for seq, _ in by_session["s5"]] == [1, 2]
    assert result["sent"] == 5 * 4 + 2
    assert result["lost"] == 1  # rider 5's third ping found its socket closed; it stopped pinging after that
    assert len(result["acks"]) == 22 and all(accepted for *_, accepted in result["acks"])
    assert {rider_id for rider_id, *_ in result["acks"]} == {100 + i for i in range(6)}
    assert all(latency >= 0 for _, _, latency, _ in result["acks"])  # timed from the send of the same seq


def test_the_echo_path_opens_without_a_hello():
    with_server(_the_echo_path_opens_without_a_hello)


async def _the_echo_path_opens_without_a_hello(srv, url):
    shard = LoadShard([rider(0), rider(1)], [url], "/ws/echo/")
    assert await shard.open() == (2, 0)
    assert {r["path"] for r in srv.requests} == {"/ws/echo/"}
    await shard.close()

# ruff: noqa: S311 - simulated movement and noise, nothing secret
"""The rider simulator: the demo's moving map and the live benchmark's load generator.

Everything except `accounts_setup` talks to a running server the way real clients do: HTTP with API
tokens, and websockets with a session cookie. `accounts_setup` is the bulk set-up step (it runs in the
server's environment and writes rows directly): dedicated sim accounts, never the demo logins, with
unusable passwords, tokens and sessions minted through the session engine, so that 10,000 riders cost no
password hash at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri

M_PER_DEG_LAT = 111_195.0
SIM_PREFIX = "sim"


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it). Returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / M_PER_DEG_LAT, lng + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return 6_371_008.8 * math.hypot(x, y)


# --- bulk set-up (runs inside Django) ----------------------------------------------------------------
ORDERS_PER_COMMIT = 250


def accounts_setup(*, riders: int, orders: bool, prefix: str = SIM_PREFIX, seed: int = 1) -> dict[str, Any]:
    """Sim riders (on duty), a sim merchant, store staff and dispatcher for the first store, each with an
    API token and a session; with `orders`, one picked-up order per rider (created through the services, so
    the reveal engine runs on every ping). Idempotent for the accounts."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from rest_framework.authtoken.models import Token

    from dispatch.models import Dispatcher, Merchant, Order, OrderStatus, Rider, Staff, Store
    from dispatch.services.orders import order_assign, order_create

    rng = random.Random(seed)
    User = get_user_model()
    store = Store.objects.order_by("pk").first()
    if store is None:
        raise RuntimeError("No store: run demo_data first.")
    unusable = make_password(None)  # one value for every sim account: nobody logs in with a password
    backend = "dispatch.auth.RoleBackend"  # the backend that loads a session's user (axes only counts failures)
    names = [f"{prefix}-rider-{i:05d}" for i in range(1, riders + 1)]
    roles = [f"{prefix}-merchant", f"{prefix}-staff", f"{prefix}-dispatcher"]
    with transaction.atomic():
        existing = set(User.objects.filter(username__in=names + roles).values_list("username", flat=True))
        User.objects.bulk_create([User(username=n, password=unusable) for n in names + roles if n not in existing],
                                 batch_size=1000)
        users = {u.username: u for u in User.objects.filter(username__in=names + roles)}
        have_rider = set(Rider.objects.filter(user__username__in=names).values_list("user__username", flat=True))
        Rider.objects.bulk_create([Rider(user=users[n], display_name=f"Sim {n.rsplit('-', 1)[1]}", phone="+447700900000",
                                         on_duty=True) for n in names if n not in have_rider], batch_size=1000)
        Rider.objects.filter(user__username__in=names).update(on_duty=True)
        merchant, _ = Merchant.objects.get_or_create(user=users[roles[0]])
        merchant.stores.set([store])
        Staff.objects.update_or_create(user=users[roles[1]], defaults={"store": store})
        Dispatcher.objects.get_or_create(user=users[roles[2]])
        have_token = set(Token.objects.filter(user__in=users.values()).values_list("user_id", flat=True))
        Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users.values() if u.pk not in have_token],
                                  batch_size=1000)
        tokens = dict(Token.objects.filter(user__in=users.values()).values_list("user_id", "key"))
        # Sessions written with the session engine's encoding: what a login would store, minus the hash.
        engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"]).SessionStore()
        expires = timezone.now() + timedelta(days=1)
        sessions, rows = {}, []
        for u in users.values():
            key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
            sessions[u.pk] = key
            rows.append(Session(session_key=key, expire_date=expires, session_data=engine.encode(
                {SESSION_KEY: str(u.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: u.get_session_auth_hash()})))
        Session.objects.bulk_create(rows, batch_size=1000)
    rider_rows = {r.user.username: r for r in Rider.objects.filter(user__username__in=names).select_related("user")}
    out_riders = []
    for n in names:
        r = rider_rows[n]
        # A destination 2-3 km from the store; the rider circles it 1.5-2.5 km out (outside every reveal radius).
        bearing = rng.uniform(0, 2 * math.pi)
        far = rng.uniform(2000, 3000)
        dest = offset(store.lat, store.lng, far * math.cos(bearing), far * math.sin(bearing))
        out_riders.append({"id": r.pk, "username": n, "token": tokens[r.user_id], "session": sessions[r.user_id],
                           "dest": dest, "ring_m": rng.uniform(1500, 2500), "phase": rng.uniform(0, 2 * math.pi)})
    if orders:
        for start in range(0, len(out_riders), ORDERS_PER_COMMIT):  # one commit per many orders, not per order
            with transaction.atomic():
                for spec in out_riders[start:start + ORDERS_PER_COMMIT]:
                    order = order_create(
                        merchant=merchant, store=store, external_ref=f"SIM-{spec['id']}",
                        customer={"name": "Sim Customer", "phone": "+447700900000", "lat": spec["dest"][0],
                                  "lng": spec["dest"][1], "address": {"area": "Simtown", "street": "1 Sim Street"}},
                        items=[{"name": "Parcel", "qty": 1}], consent={"number_protection": True})
                    order_assign(order_id=order.pk, rider_id=spec["id"], by=None)
                    spec["order"] = order.pk
        Order.objects.filter(pk__in=[s["order"] for s in out_riders]).update(status=OrderStatus.PICKED_UP)

    def account(name: str) -> dict[str, Any]:
        u = users[name]
        return {"id": u.pk, "username": name, "token": tokens[u.pk], "session": sessions[u.pk]}

    return {"store": {"id": store.pk, "lat": store.lat, "lng": store.lng}, "riders": out_riders,
            "merchant": account(roles[0]), "staff": account(roles[1]), "dispatcher": account(roles[2])}


# --- movement and GPS ---------------------------------------------------------------------------------
@dataclass
class Mover:
    """A rider's true position moving toward a target at a riding speed, with stops (lights, traffic),
    and the GPS fixes a phone would report: Gaussian noise of sigma = accuracy / 2, 5-20 m accuracy and,
    in an urban canyon, 10% of fixes at 60-120 m."""

    lat: float
    lng: float
    speed: float = 7.0
    rng: random.Random = field(default_factory=random.Random)
    target: tuple[float, float] | None = None
    stopped_until: float = 0.0
    seq: int = 0
    last_ts: float = 0.0

    def advance(self, dt: float, now: float) -> None:
        if self.target is None or now < self.stopped_until:
            return
        if self.rng.random() < 0.01 * dt:  # a stop roughly every 100 s of riding
            self.stopped_until = now + self.rng.uniform(5, 25)
            return
        left = distance((self.lat, self.lng), self.target)
        step = min(left, self.speed * self.rng.uniform(0.8, 1.2) * dt)
        if left < 0.5:
            return
        north = (self.target[0] - self.lat) * M_PER_DEG_LAT
        east = (self.target[1] - self.lng) * M_PER_DEG_LAT * math.cos(math.radians(self.lat))
        self.lat, self.lng = offset(self.lat, self.lng, north * step / left, east * step / left)

    def arrived(self, within: float = 8.0) -> bool:
        return self.target is None or distance((self.lat, self.lng), self.target) <= within

    def fix(self, *, canyon: bool = True, noise: bool = True) -> dict[str, Any]:
        accuracy = self.rng.uniform(5, 20)
        if canyon and self.rng.random() < 0.1:
            accuracy = self.rng.uniform(60, 120)
        sigma = accuracy / 2 if noise else 0.0
        lat, lng = offset(self.lat, self.lng, self.rng.gauss(0, sigma), self.rng.gauss(0, sigma))
        self.seq += 1
        ts = max(time.time(), self.last_ts + 0.001)  # the client's send time, strictly increasing
        self.last_ts = ts
        return {"type": "location", "lat": round(lat, 7), "lng": round(lng, 7), "accuracy": round(accuracy, 1),
                "timestamp": ts, "seq": self.seq}


def ws_url(http_url: str, path: str) -> str:
    return http_url.replace("http://", "ws://", 1).rstrip("/") + path


async def ws_connect(http_url: str, path: str, session: str | None, *, open_timeout: float = 60):
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={session}"} if session else {}
    ws = await connect(ws_url(http_url, path), origin=http_url.rstrip("/"), additional_headers=headers,  # type: ignore[arg-type]
                       open_timeout=open_timeout, ping_interval=None, compression=None, max_queue=None)
    if path == "/ws/echo/":  # the bare echo consumer says nothing first
        return ws, None
    hello = json.loads(await asyncio.wait_for(ws.recv(), open_timeout))
    if hello.get("type") != "hello":
        raise RuntimeError(f"unexpected first frame {hello.get('type')!r}")
    return ws, hello


# --- the load generator ---------------------------------------------------------------------------------
class LeanSocket(asyncio.Protocol):
    """A client websocket for the load generator: websockets' sans-I/O `ClientProtocol` on a bare asyncio protocol.

    The load generator runs on the machine it measures, so each of its frames must cost as little as it can.
    `websockets.asyncio` gives each connection a reader task, a send lock and a pending-write wait; here a frame
    is one `send_text` and one `transport.write`, and each frame received goes straight to `on_text` from
    `data_received`. The library still does the handshake, the masking, the frame parsing and the answers to the
    server's pings and close."""

    def __init__(self, protocol, request, on_text) -> None:
        self.ws = protocol
        self.request = request
        self.on_text = on_text  # called with each text message's bytes
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future = loop.create_future()
        self.lost: asyncio.Future = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._parts: list[bytes] = []

    @classmethod
    async def connect(cls, http_url: str, path: str, session: str | None, on_text, *, open_timeout: float = 60):
        uri = parse_uri(ws_url(http_url, path))
        protocol = ClientProtocol(uri, origin=Origin(http_url.rstrip("/")), max_size=None)
        request = protocol.connect()
        if session:
            request.headers["Cookie"] = f"sessionid={session}"
        loop = asyncio.get_running_loop()
        _, sock = await asyncio.wait_for(
            loop.create_connection(lambda: cls(protocol, request, on_text), uri.host, uri.port), open_timeout)
        try:
            await asyncio.wait_for(asyncio.shield(sock.opened), open_timeout)
        except BaseException:
            sock.abort()
            raise
        return sock

    # asyncio.Protocol
    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.ws.send_request(self.request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.opened.done():
                    continue
                if self.ws.handshake_exc is not None:
                    self.opened.set_exception(self.ws.handshake_exc)
                else:
                    self.opened.set_result(None)
                continue
            if event.opcode is Opcode.TEXT or (event.opcode is Opcode.CONT and self._parts):
                if not event.fin:
                    self._parts.append(event.data)
                    continue
                data_ = b"".join((*self._parts, event.data)) if self._parts else event.data
                self._parts = []
                self.on_text(data_)
        self._flush()

    def eof_received(self) -> bool:
        self.ws.receive_eof()
        self._flush()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.lost.done():
            self.lost.set_result(None)

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                transport.write_eof()

    # the client's side
    @property
    def open(self) -> bool:
        return self.ws.state is State.OPEN and self.transport is not None and not self.transport.is_closing()

    def send(self, text: str) -> None:
        """One text frame, written at once (raises ConnectionError once the socket is closed)."""
        if not self.open:
            raise ConnectionError("socket closed")
        self.ws.send_text(text.encode())
        self._flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        """The closing handshake, then the TCP close; aborted if the server has not closed within 2 s."""
        if self.open:
            self.ws.send_close(1000)
            self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.lost), 2.0)
        if not self.lost.done():
            self.abort()


class LoadShard:
    """A share of the load's rider sockets in one process: open-loop pings on a fixed schedule, acks timed
    against the send time of the same seq.

    One ticker sends every socket's pings in order of their due times (a timer per ping, not a task per
    socket), on `LeanSocket`s: at 2,500 pings/s the load generator shares the servers' two cores, and what it
    spends is taken from them."""

    def __init__(self, riders: list[dict[str, Any]], urls: list[str], path: str):
        self.riders = riders
        self.urls = urls
        self.path = path
        self.sockets: list[LeanSocket] = []
        self.movers: list[Mover] = []
        self.sent: dict[tuple[int, int], float] = {}
        self.acks: list[tuple[int, float, float, bool]] = []  # (rider id, ping ts, latency s, accepted)

    async def open(self, *, concurrency: int = 50) -> tuple[int, int]:
        sem = asyncio.Semaphore(concurrency)
        failures = 0

        async def one(spec: dict[str, Any]):
            nonlocal failures
            for attempt in range(3):  # a busy server's listen queue overflows under a connect storm: retry
                async with sem:
                    with contextlib.suppress(Exception):
                        return await self._connect(spec)
                await asyncio.sleep(1.0 + attempt)
            failures += 1
            return None

        for spec in self.riders:
            spec["url"] = self.urls[spec["index"] % len(self.urls)]
        results = await asyncio.gather(*(one(s) for s in self.riders))
        for spec, ws in zip(self.riders, results, strict=True):
            if ws is None:
                continue
            rng = random.Random(spec["id"])
            start = self._ring_point(spec, spec["phase"])
            self.sockets.append(ws)
            self.movers.append(Mover(*start, rng=rng))
        self.riders = [s for s, ws in zip(self.riders, results, strict=True) if ws is not None]
        return len(self.sockets), failures

    async def _connect(self, spec: dict[str, Any]) -> LeanSocket:
        """A rider socket whose first frame (the hello; the bare echo says nothing first) has come, and whose
        acks then go to `_ack`."""
        rider_id = spec["id"]
        hello: asyncio.Future = asyncio.get_running_loop().create_future()
        echo = self.path == "/ws/echo/"

        def on_text(raw: bytes) -> None:
            if hello.done():
                self._ack(rider_id, raw)
            else:
                hello.set_result(raw)

        ws = await LeanSocket.connect(spec["url"], self.path, spec["session"], on_text)
        if echo:
            hello.set_result(b"")
            return ws
        try:
            first = json.loads(await asyncio.wait_for(hello, 60))
            if first.get("type") != "hello":
                raise RuntimeError(f"unexpected first frame {first.get('type')!r}")
        except BaseException:
            ws.abort()
            raise
        return ws

    def _ack(self, rider_id: int, raw: bytes) -> None:
        now = time.time()
        msg = json.loads(raw)
        if msg.get("type") != "location.ack":
            return
        sent = self.sent.pop((rider_id, msg.get("seq")), None)
        if sent is not None:
            self.acks.append((rider_id, sent, now - sent, bool(msg.get("accepted"))))

    @staticmethod
    def _ring_point(spec: dict[str, Any], angle: float) -> tuple[float, float]:
        r = spec["ring_m"]
        return offset(spec["dest"][0], spec["dest"][1], r * math.cos(angle), r * math.sin(angle))

    async def step(self, *, interval: float, start_at: float, seconds: float, phase0: float, total: int,
                   grace: float = 2.0) -> dict:
        """Each socket pings every `interval` s from `start_at` for `seconds`, its first ping spread over the
        interval by its global index (open loop: a ping goes out on schedule whether or not acks came).
        `total` (the sockets open over all shards) is informational."""
        self.sent.clear()
        self.acks = []
        late: list[float] = []
        sent_count = 0
        end = start_at + seconds
        # Golden-ratio spacing of the first pings: even over the interval whichever sockets failed to open.
        # One round of the schedule is the sockets in order of their offset; round r sends each at start + offset
        # + r * interval.
        order = sorted(((interval * ((spec["index"] * 0.6180339887498949 + phase0) % 1.0), k)
                        for k, spec in enumerate(self.riders)), key=lambda pair: pair[0])
        dead: set[int] = set()
        rounds = 0
        base = start_at
        sleep = asyncio.sleep
        while order and base < end:
            for off, k in order:
                due = base + off
                if due >= end:
                    break
                delay = due - time.time()
                if delay > 0:
                    await sleep(delay)
                if k in dead:
                    continue
                late.append(time.time() - due)
                spec, mover = self.riders[k], self.movers[k]
                # Circle the destination at ~7 m/s: 2-3 km out, never inside a reveal radius.
                spec["phase"] += 7.0 * interval / spec["ring_m"]
                mover.lat, mover.lng = self._ring_point(spec, spec["phase"])
                frame = mover.fix(canyon=False)
                self.sent[(spec["id"], frame["seq"])] = frame["timestamp"]
                try:
                    self.sockets[k].send(json.dumps(frame))
                except Exception:  # closed under it: this ping and the socket's later ones are lost
                    dead.add(k)
                    continue
                sent_count += 1
            rounds += 1
            base = start_at + rounds * interval  # not a running sum: no drift over a long step
        grace_end = time.time() + grace  # acks still in flight
        while self.sent and time.time() < grace_end:  # noqa: ASYNC110 - polls a dict the protocol empties
            await asyncio.sleep(0.05)
        late.sort()
        return {"sent": sent_count, "acks": self.acks, "lost": len(self.sent),
                "client_late_p99": late[int(len(late) * 0.99) - 1] if late else 0.0}

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def settle_gc() -> None:
    """A load worker's open sockets live as long as it does: out of every collection from now on, as the server's
    start-up objects are (config/asgi.py). Scale bench, 10,000 sockets: before, the first step's pings went out
    105-157 ms late at p99 (client lag, 6 runs; 3-6 ms in the steps after), the collections over 2,500 sockets'
    objects falling in it; with them frozen, 3-7 ms (5 runs)."""
    gc.collect()
    gc.freeze()


def new_loop() -> asyncio.AbstractEventLoop:
    """A load process's event loop: uvloop's (as under the servers, config/server.py) unless SIM_LOOP=asyncio.
    The load generator shares the machine's cores with the servers it measures, so each of its pings should cost
    as little as it can."""
    if os.environ.get("SIM_LOOP", "uvloop") == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def shard_process(conn, riders: list[dict[str, Any]], urls: list[str], path: str) -> None:
    """A load worker process: commands from the bench over a pipe ("open", "step", "close")."""
    raise_fd_limit()
    loop = new_loop()
    shard = LoadShard(riders, urls, path)
    try:
        while True:
            cmd, args = conn.recv()
            if cmd == "open":
                conn.send(loop.run_until_complete(shard.open()))
                settle_gc()
            elif cmd == "step":
                conn.send(loop.run_until_complete(shard.step(**args)))
            elif cmd == "close":
                loop.run_until_complete(shard.close())
                conn.send("closed")
                return
    finally:
        loop.close()


class MapObserver:
    """The dispatcher's socket: every rider position frame, with its arrival time."""

    def __init__(self, url: str, session: str):
        self.url = url
        self.session = session
        self.frames: list[tuple[int, float, float]] = []  # (rider, ping ts carried as `at`, arrival)
        self.other = 0

    async def run(self, stop: asyncio.Event) -> None:
        from datetime import datetime

        ws, _ = await ws_connect(self.url, "/ws/dispatch/", self.session)
        try:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(raw)
                kind = msg.get("type")
                items = [msg] if kind == "rider.position" else msg.get("riders", []) if kind == "rider.positions" else None
                if items is None:
                    self.other += 1
                    continue
                for item in items:
                    at = datetime.fromisoformat(item["at"]).timestamp()
                    self.frames.append((item["rider"], at, now))
        finally:
            await ws.close()


def map_process(conn, url: str, session: str) -> None:
    """The map observer in a process of its own. It answers "ready" (or "failed: ..."), then each "frames"
    with the frames seen since the last one, and "stop" with the last ones before it exits."""
    loop = new_loop()
    observer = MapObserver(url, session)
    stop = asyncio.Event()

    async def main():
        task = asyncio.create_task(observer.run(stop))
        await asyncio.sleep(0.5)
        conn.send("ready" if not task.done() else f"failed: {task.exception()!r}")
        while True:
            if not await loop.run_in_executor(None, conn.poll, 0.2):
                continue
            cmd = conn.recv()
            frames, observer.frames = observer.frames, []
            conn.send(frames)
            if cmd == "stop":
                break
        stop.set()
        with contextlib.suppress(Exception):
            await task

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


# --- the demo -----------------------------------------------------------------------------------------
class DemoRider:
    """One sim rider living a delivery loop through the real API: an order comes in (as the merchant),
    dispatch assigns it, the rider rides to the store, the staff hands the bag over against the rider's
    one-time code, the rider rides to the door, reads the PIN the customer sees on the tracking page, and
    delivers. Positions go over the rider socket every `every` seconds the whole time."""

    def __init__(self, base: str, setup: dict[str, Any], spec: dict[str, Any], *, every: float = 2.0,
                 speed: float = 8.0, log=print):
        self.base = base.rstrip("/")
        self.setup = setup
        self.spec = spec
        self.every = every
        self.log = log
        store = (setup["store"]["lat"], setup["store"]["lng"])
        self.rng = random.Random(spec["id"])
        start = offset(*store, self.rng.uniform(-600, 600), self.rng.uniform(-600, 600))
        self.mover = Mover(*start, speed=speed, rng=self.rng, seq=int(time.time() * 10))
        self.store = store
        self.delivered = 0

    def _client(self, who: dict[str, Any]):
        import httpx

        return httpx.AsyncClient(base_url=self.base, timeout=20, headers={"Authorization": f"Token {who['token']}"})

    async def run(self, stop: asyncio.Event) -> None:
        ws, _ = await ws_connect(self.base, "/ws/rider/", self.spec["session"])
        async with self._client(self.spec) as rider, self._client(self.setup["merchant"]) as merchant, \
                self._client(self.setup["staff"]) as staff, self._client(self.setup["dispatcher"]) as dispatcher:
            (await rider.post("/api/rider/duty/", json={"on_duty": True})).raise_for_status()
            pinger = asyncio.create_task(self._ping(ws, stop))
            drain = asyncio.create_task(self._drain(ws))
            try:
                while not stop.is_set():
                    await self._one_delivery(rider, merchant, staff, dispatcher, stop)
            finally:
                pinger.cancel()
                drain.cancel()
                with contextlib.suppress(Exception):
                    await ws.close()
                if stop.is_set():  # the demo ends: off the board, not a stale marker
                    with contextlib.suppress(Exception):
                        await rider.post("/api/rider/duty/", json={"on_duty": False})

    async def _ping(self, ws, stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            self.mover.advance(now - last, time.time())
            last = now
            await ws.send(json.dumps(self.mover.fix()))
            await asyncio.sleep(self.every)

    @staticmethod
    async def _drain(ws) -> None:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def _ride_to(self, target: tuple[float, float], stop: asyncio.Event, *, until=None, give_up_s: float = 900) -> None:
        self.mover.target = target
        deadline = time.monotonic() + give_up_s
        while not stop.is_set() and time.monotonic() < deadline:
            if self.mover.arrived() and (until is None or await until()):
                return
            await asyncio.sleep(1.0)

    async def _one_delivery(self, rider, merchant, staff, dispatcher, stop: asyncio.Event) -> None:
        bearing = self.rng.uniform(0, 2 * math.pi)
        far = self.rng.uniform(1000, 1800)
        door = offset(*self.store, far * math.cos(bearing), far * math.sin(bearing))
        r = await merchant.post("/api/orders/", json={
            "external_ref": f"SIM-{self.spec['id']}-{int(time.time())}",
            "customer": {"name": "Sim Customer", "phone": "+44 7700 900000", "lat": door[0], "lng": door[1],
                         "address": {"area": "Simtown", "street": f"{self.rng.randint(1, 99)} Sim Street"}},
            "items": [{"name": "Parcel", "qty": 1, "sensitive": False}],
            "consent": {"number_protection": True, "marketing": False}})
        r.raise_for_status()
        order = r.json()
        oid, track = order["id"], order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
        (await dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", json={"rider": self.spec["id"]})).raise_for_status()
        self.log(f"order {oid}: assigned to {self.spec['username']}")
        await self._ride_to(self.store, stop)
        if stop.is_set():
            return
        (await staff.post(f"/api/pickup/orders/{oid}/ready/")).raise_for_status()
        code = (await rider.get(f"/api/rider/orders/{oid}/handoff-code/")).json()["code"]
        (await staff.post("/api/pickup/handoff/", json={"pickup_code": order["pickup_code"], "rider_code": code})
         ).raise_for_status()
        self.log(f"order {oid}: picked up")

        async def at_door() -> bool:
            got = await rider.get(f"/api/rider/orders/{oid}/")
            return got.status_code == 200 and got.json().get("destination", {}).get("tier") == "door"

        await self._ride_to(door, stop, until=at_door)
        if stop.is_set():
            return
        pin = (await rider.get(f"/api/track/{track}/")).json().get("delivery_pin")  # as the customer tells it
        (await rider.post(f"/api/rider/orders/{oid}/deliver/", json={"pin": pin})).raise_for_status()
        self.delivered += 1
        self.log(f"order {oid}: delivered")
        await asyncio.sleep(self.rng.uniform(3, 8))


async def demo_run(base: str, setup: dict[str, Any], *, riders: int, seconds: float | None, every: float = 2.0,
                   speed: float = 8.0, log=print) -> list[DemoRider]:
    stop = asyncio.Event()
    sims = [DemoRider(base, setup, spec, every=every, speed=speed, log=log) for spec in setup["riders"][:riders]]
    tasks = [asyncio.create_task(_forever(s, stop, log)) for s in sims]
    try:
        if seconds is None:
            await asyncio.gather(*tasks)
        else:
            await asyncio.sleep(seconds)
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sims


async def _forever(sim: DemoRider, stop: asyncio.Event, log) -> None:
    """A sim rider that hits an error (a server restart, a refusal) says so and starts over."""
    while not stop.is_set():
        try:
            await sim.run(stop)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log(f"{sim.spec['username']}: {type(exc).__name__}: {exc}; starting over in 3 s")
            await asyncio.sleep(3)

"""The clients' websockets: `ws_connect` (websockets' asyncio client, for the demo and the map observer) and
`LeanSocket` (websockets' sans-I/O protocol on a bare asyncio protocol, for the load generator)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin
from websockets.uri import parse_uri


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

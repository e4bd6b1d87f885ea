"""Websocket helpers for the socket security tests: the real ASGI application, as a browser page reaches it."""

from __future__ import annotations

import asyncio

from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application

SITE = "http://testserver"


def login_cookie(user) -> str:
    """A fresh login session for `user` (each call is another session), as a Cookie header."""
    c = Client()
    c.force_login(user)
    return f"sessionid={c.cookies['sessionid'].value}"


def session_key(cookie: str) -> str:
    return cookie.split("=", 1)[1]


def communicator(path: str, cookie: str | None = None, origin: str | None = SITE, host: str | None = "testserver",
                 scheme: str | None = None) -> WebsocketCommunicator:
    headers = []
    if host is not None:
        headers.append((b"host", host.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    if scheme is not None:
        comm.scope["scheme"] = scheme
    return comm


async def open_socket(path: str, cookie: str | None = None, **kw) -> tuple[WebsocketCommunicator, bool]:
    comm = communicator(path, cookie, **kw)
    connected, _ = await comm.connect(timeout=3)
    if connected:
        hello = await comm.receive_json_from(timeout=2)
        assert hello == {"type": "hello", "seq": 0}
    return comm, connected


async def frames_until_quiet(comm: WebsocketCommunicator, quiet_s: float = 0.5) -> list[dict]:
    """Every JSON frame that arrives until `quiet_s` pass quietly; fails if the socket closes instead."""
    frames = []
    while not await comm.receive_nothing(timeout=quiet_s):
        frames.append(await comm.receive_json_from(timeout=2))
    return frames


async def frames_until_closed(comm: WebsocketCommunicator, wait_s: float = 5.0) -> tuple[list[dict], int]:
    """Every JSON frame the server sends before it closes the socket, and the close code. Times out (the
    test fails) if the server keeps the socket open."""
    import json

    frames = []
    while True:
        output = await comm.receive_output(timeout=wait_s)
        if output["type"] == "websocket.close":
            return frames, output.get("code", 1000)
        frames.append(json.loads(output["text"]))


async def shut(*comms: WebsocketCommunicator) -> None:
    for comm in comms:
        try:
            await comm.disconnect()
        except (TimeoutError, asyncio.CancelledError):  # already closed by the server
            pass


def tracking_token(order: dict) -> str:
    return order["tracking_url"].rstrip("/").rsplit("/", 1)[-1]

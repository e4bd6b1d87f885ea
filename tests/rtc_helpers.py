"""Socket helpers for the call and chat tests: a party's socket on the real ASGI app, and frame collection."""

from __future__ import annotations

from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application


def cookie_for(user) -> str:
    c = Client()
    c.force_login(user)
    return f"sessionid={c.cookies['sessionid'].value}"


def token_of(order: dict) -> str:
    return order["tracking_url"].rstrip("/").rsplit("/", 1)[-1]


class Sock:
    """One socket, keeping every frame it received (for the no-number grep)."""

    def __init__(self, path: str, cookie: str | None = None):
        headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.frames: list[dict] = []
        self.raw: list[str] = []

    async def open(self) -> bool:
        ok, _ = await self.comm.connect()
        if ok:
            await self.recv()  # hello
        return ok

    async def send(self, message: dict) -> None:
        await self.comm.send_json_to(message)

    async def recv(self, wait: float = 3) -> dict:
        text = await self.comm.receive_from(timeout=wait)
        self.raw.append(text)
        import json

        frame = json.loads(text)
        self.frames.append(frame)
        return frame

    async def expect(self, type_: str, wait: float = 3, **match) -> dict:
        """The next frame of this type (others on the way are kept, not asserted)."""
        while True:
            frame = await self.recv(wait)
            if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def drain(self, quiet_s: float = 0.4) -> list[dict]:
        got = []
        while not await self.comm.receive_nothing(timeout=quiet_s):
            got.append(await self.recv())
        return got

    async def close(self) -> None:
        await self.comm.disconnect()

"""The web server: daphne's command line (`python -m dispatch.live.server -b HOST -p PORT config.asgi:application`,
the same arguments as `daphne`), with changes that every open socket pays for. Started by tests/harness.py,
config/supervisord.conf and the README's scale profile.

- Each connection's input queue. Daphne gives each connection an `asyncio.Queue` for what the client sends; that
  queue is four deques (its items, getters, putters and its `join` event's waiters) of 760 bytes each on CPython
  3.11, 3 KiB held for as long as a socket is open, of which daphne uses `put_nowait` and the application `get`.
  Here it is a ChannelQueue (dispatch/live/layers.py), with the same FIFO and wake-up rules, at a few hundred
  bytes.
- What a websocket keeps of its opening handshake, and daphne's periodic passes over every connection: the
  copies of daphne's and autobahn's internals that do this are dispatch/patches/daphne.py and autobahn.py.
"""

from __future__ import annotations

import asyncio  # isort:skip
import os  # isort:skip

# Before daphne makes the loop that Twisted runs on; only when this runs as the server (`python -m dispatch.live.server`),
# never as a side effect of importing it (a test process would switch every later loop to uvloop).
if __name__ == "__main__" and os.environ.get("SERVER_LOOP", "uvloop") == "uvloop":
    import uvloop  # isort:skip

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # isort:skip - daphne installs Twisted's asyncio reactor first

from dispatch.patches import daphne as daphne_patch  # isort:skip
from dispatch.live import probe  # isort:skip
from dispatch.live.layers import ChannelQueue  # isort:skip


class LeanServer(daphne_patch.LeanServer):
    input_queue_class = ChannelQueue

    def application_starting(self) -> None:
        probe.ensure_started()


class LeanCommandLine(CommandLineInterface):
    server_class = LeanServer


if __name__ == "__main__":
    LeanCommandLine.entrypoint()

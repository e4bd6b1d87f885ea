"""The web server: daphne's command line (`python -m config.server -b HOST -p PORT config.asgi:application`, the same
arguments as `daphne`), with one change that every open socket pays for. Daphne gives each connection an
`asyncio.Queue` for what the client sends; that queue is four deques (its items, getters, putters and its `join`
event's waiters) of 760 bytes each on CPython 3.11, 3 KiB held for as long as a socket is open, of which daphne uses
`put_nowait` and the application `get`. Here it is a ChannelQueue (dispatch/channel_layers.py), with the same FIFO
and wake-up rules, at a few hundred bytes. Started by tests/harness.py, config/supervisord.conf and the README's
scale profile.
"""

from __future__ import annotations

import asyncio  # isort:skip
from functools import partial  # isort:skip

from daphne.cli import CommandLineInterface  # isort:skip - daphne installs Twisted's asyncio reactor first
from daphne.server import Server  # isort:skip

from dispatch.channel_layers import ChannelQueue  # isort:skip


class LeanServer(Server):
    def create_application(self, protocol, scope):
        """daphne 4.2's create_application, on a ChannelQueue."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = ChannelQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(scope=scope, receive=input_queue.get,
                                                send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop())
        return input_queue


class LeanCommandLine(CommandLineInterface):
    server_class = LeanServer


if __name__ == "__main__":
    LeanCommandLine.entrypoint()

"""A real HTTP receiver for webhook tests (threading http.server on 127.0.0.1) that checks every request's
signature with the snippet docs/webhooks.md shows: the code is read from the page, not copied."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.outputs import docs_page

DOC = docs_page("webhooks.md")


def documented_verifier():
    """`verify_signature` from the fenced block after `<!-- verify-snippet -->` in docs/webhooks.md."""
    match = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"{DOC} lost its verification snippet"
    namespace: dict = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation's code
    return namespace["verify_signature"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: dict[str, bool]  # secret -> whether the documented snippet accepts the request with it


@dataclass
class Receiver:
    url: str
    port: int
    secrets: list[str] = field(default_factory=list)  # what to verify each request against
    now: float | None = None  # the verifier's clock (the test's frozen one); None: the real clock
    statuses: list[int] = field(default_factory=list)  # answers in turn; 200 once they run out
    received: list[Received] = field(default_factory=list)


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    verify = documented_verifier()
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            receiver: Receiver = holder["r"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("X-Delivery-Signature", "")
            receiver.received.append(Received(
                path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                verified={s: verify(s, header, body, now=receiver.now) for s in receiver.secrets},
            ))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    holder["r"] = Receiver(url=f"http://127.0.0.1:{port}/hooks", port=port)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return holder["r"], server

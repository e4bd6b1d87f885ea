"""The demo's URLs and logins: the banner waits for the server before it prints, and the home page lists the
logins in demo mode only."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from dispatch.demo import DEMO_PASSWORD, DEMO_SCREENS
from tests.harness import free_port


class Answering(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Answering.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_the_banner_gives_up_with_a_clear_message_when_no_server_answers():
    port = free_port()  # nothing listens on it
    out = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("run_banner", port=port, wait=0.3, poll=0.05, stdout=out)
    assert f"No answer from http://127.0.0.1:{port}/" in str(refused.value)
    assert "make urls" in str(refused.value)
    assert "rider1" not in out.getvalue()  # nothing printed as if the server were up


def test_the_banner_prints_the_urls_and_logins_once_the_server_answers():
    Answering.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = StringIO()
        call_command("run_banner", port=server.server_port, wait=30, poll=0.05, stdout=out)
    finally:
        server.shutdown()
        server.server_close()
    assert Answering.requests == ["/"]  # it asked before it printed
    text = out.getvalue()
    assert f"http://127.0.0.1:{server.server_port}/dispatch/" in text
    for _, _, logins, _ in DEMO_SCREENS:
        assert all(login in text for login in logins)
    assert DEMO_PASSWORD in text


@pytest.mark.django_db
@override_settings(DEMO_MODE=True)
def test_the_home_page_in_demo_mode_lists_the_demo_logins(client):
    page = client.get("/").content.decode()
    assert "Demo logins" in page
    for login in ("rider1", "store1", "dispatcher1", "merchant1"):
        assert f"<code>{login}</code>" in page
    assert DEMO_PASSWORD in page


@pytest.mark.django_db
@override_settings(DEMO_MODE=False)
def test_the_home_page_outside_demo_mode_names_no_login(client):
    page = client.get("/").content.decode()
    assert "Demo logins" not in page
    assert "rider1" not in page
    assert DEMO_PASSWORD not in page

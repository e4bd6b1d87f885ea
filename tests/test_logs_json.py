"""JSON logs (LOG_FORMAT=json): one object a line that parses, the request's id on every line of a request (and
in its X-Request-ID), and the tracking token still redacted, in the message and in a traceback."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from config.logs import JsonLines, RedactTokens, RequestId

SECRET = "tok3n-Secret-9f8e7d6c5b4a"
log = logging.getLogger("tests.logs_json")


def _view(request):
    log.info("looking up /t/%s/ for the customer", SECRET)
    try:
        raise ValueError(f"bad link /api/track/{SECRET}/")
    except ValueError:
        log.exception("lookup failed")
    return HttpResponse("gone", status=404)  # and django.request logs "Not Found" after the chain


def _quiet(request):
    return HttpResponse("ok")


urlpatterns = [path("logs-probe/", _view), path("logs-quiet/", _quiet)]


@pytest.fixture
def lines(settings):
    """A JSON-lines handler on the root logger, with the filters LOGGING puts on every handler."""
    settings.ROOT_URLCONF = __name__
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(RedactTokens())
    handler.addFilter(RequestId())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_requests_lines_parse_share_its_id_and_carry_no_token(db, lines):
    c = Client()
    first = c.get("/logs-probe/")
    second = c.get("/logs-probe/")
    got = lines()
    assert got and all(set(line) >= {"ts", "level", "logger", "message", "request_id", "process"} for line in got)
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert ids[0] != ids[1]
    for rid in ids:
        mine = [line for line in got if line["request_id"] == rid]
        assert [line["logger"] for line in mine] == ["tests.logs_json", "tests.logs_json", "django.request"], mine
        assert mine[1]["level"] == "ERROR" and "ValueError" in mine[1]["exc"]
    text = "\n".join(json.dumps(line) for line in got)
    assert SECRET not in text
    assert "/t/<redacted>/" in text and "/api/track/<redacted>/" in text


def test_the_proxys_request_id_is_kept_when_sane_and_replaced_when_not(db, lines):
    c = Client()
    sane = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"
    assert c.get("/logs-quiet/", HTTP_X_REQUEST_ID=sane)["X-Request-ID"] == sane
    for bad in ("short", "x" * 101, "has space in it", "new\nline-injected", "<script>alert(1)</script>", ""):
        echoed = c.get("/logs-quiet/", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert echoed != bad and len(echoed) == 32 and int(echoed, 16) >= 0


def test_log_format_json_from_the_environment():
    """The settings wire it: a process started with LOG_FORMAT=json writes JSON lines, redacted, with no request."""
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    code = ("import django, logging; django.setup(); "
            f"logging.getLogger('dispatch.probe').warning('opened /ws/track/{SECRET}/')")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,  # noqa: S603
                         check=True)
    got = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    probe = [line for line in got if line["logger"] == "dispatch.probe"]
    assert probe == [{**probe[0], "level": "WARNING", "message": "opened /ws/track/<redacted>/", "request_id": "-"}]
    assert SECRET not in out.stderr


def test_an_unknown_log_format_is_refused():
    env = {**os.environ, "LOG_FORMAT": "xml", "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    out = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,  # noqa: S603
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0 and "LOG_FORMAT" in out.stderr

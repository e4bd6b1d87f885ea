"""Map tiles through this origin (config/tiles.py): the tile server's answer when it has one, a 1-pixel
placeholder (no failed load in the browser) when it has none, and no tile coordinates in the logs."""

from __future__ import annotations

import httpx
import pytest
from django.core.cache import cache
from django.test import Client

from config import tiles
from config.logs import redact

PNG = b"\x89PNG\r\n\x1a\n-a-real-tile"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_unreachable_tile_server_gives_the_placeholder_and_is_left_alone(settings, monkeypatch):
    settings.TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: nothing answers
    calls = []
    real_get = httpx.get
    monkeypatch.setattr(tiles.httpx, "get", lambda *a, **k: (calls.append(a[0]), real_get(*a, **k))[1])
    for _ in range(3):
        r = Client().get("/tiles/13/4093/2724.png")
        assert r.status_code == 200
        assert r["Content-Type"] == "image/png" and r["X-Tile"] == "placeholder" and r["Cache-Control"] == "no-store"
        assert r.content == tiles.PLACEHOLDER
    assert len(calls) == 1, calls  # then TILE_RETRY_S of placeholders without asking again


def test_a_tile_is_fetched_once_and_cached(settings, monkeypatch):
    settings.TILE_URL = "https://tiles.example/{z}/{x}/{y}.png"
    calls = []

    def fake_get(url, **kwargs):
        calls.append(url)
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    monkeypatch.setattr(tiles.httpx, "get", fake_get)
    for _ in range(2):
        r = Client().get("/tiles/13/4093/2724.png")
        assert r.status_code == 200 and r.content == PNG and "X-Tile" not in r
        assert r["Cache-Control"] == "no-store"  # the area someone looked at is not kept on the device
    assert calls == ["https://tiles.example/13/4093/2724.png"]


@pytest.mark.parametrize("path", ["/tiles/20/0/0.png", "/tiles/2/4/0.png", "/tiles/2/0/4.png", "/tiles/a/0/0.png"])
def test_out_of_range_tiles_are_404(path, monkeypatch):
    monkeypatch.setattr(tiles.httpx, "get", lambda *a, **k: pytest.fail("no fetch for a bad tile"))
    assert Client().get(path).status_code == 404


def test_pages_use_this_origin_and_the_csp_allows_no_tile_host(settings):
    from django.conf import settings as live

    assert live.MAP_TILES == "/tiles/{z}/{x}/{y}.png"
    assert live.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] == ["'self'", "data:"]


def test_tile_coordinates_stay_out_of_the_logs():
    line = '127.0.0.1 - - "GET /tiles/17/65486/43582.png HTTP/1.1" 200 - /static/site.css'
    assert redact(line) == '127.0.0.1 - - "GET /tiles/<redacted> HTTP/1.1" 200 - /static/site.css'


@pytest.mark.django_db
def test_the_board_says_tiles_are_down_from_its_first_paint(demo):
    """Once this server knows the tile server is down, the board's HTML carries the note: it is not drawn seconds
    later, when the first placeholder tile has come back."""
    dispatcher = Client()
    dispatcher.force_login(demo["dispatcher1"])
    up = dispatcher.get("/dispatch/").content.decode()
    assert 'id="map-note" role="status" hidden>' in up and 'data-tiles="unavailable"' not in up
    cache.set(tiles.DOWN_KEY, 1, 60)
    down = dispatcher.get("/dispatch/").content.decode()
    assert 'data-tiles="unavailable"' in down
    note = down.split('id="map-note"', 1)[1].split("</p>", 1)[0]
    assert "hidden" not in note and "Map tiles unavailable" in note

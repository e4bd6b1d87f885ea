"""Map tiles through this origin: GET /tiles/<z>/<x>/<y>.png.

The server fetches the tile from settings.TILE_URL and keeps it in the cache (TILE_CACHE_S), so the browsers of
riders, customers and dispatchers never tell the tile server where they look (a tile at zoom 17 is the customer's
street). They stay off the device too (no-store, like every answer Django makes; the server's cache serves
them again). When the tile server cannot be reached, the answer is a 1x1 transparent placeholder (200,
`X-Tile: placeholder`): Leaflet draws nothing there, the maps' JS sees the 1-pixel image and says
"tiles unavailable", and the browser logs no failed load (a failed tile used to be one console error per tile).
After a failure the tile server is left alone for TILE_RETRY_S. The tile paths are kept out of the logs
(config/logs.py).
"""

from __future__ import annotations

import base64
import logging

import httpx
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

PLACEHOLDER = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII=")
DOWN_KEY = "tiles:down"
MAX_ZOOM = 19
USER_AGENT = "privacy-first-delivery tile cache (+https://operations.openstreetmap.org/policies/tiles/)"


def upstream_tile(z: int, x: int, y: int) -> bytes | None:
    key = f"tiles:{z}:{x}:{y}"
    body = cache.get(key)
    if body is not None or cache.get(DOWN_KEY):
        return body
    try:
        r = httpx.get(settings.TILE_URL.format(z=z, x=x, y=y), timeout=settings.TILE_TIMEOUT_S,
                      headers={"User-Agent": USER_AGENT}, follow_redirects=True)
        if r.status_code == 200 and r.headers.get("content-type", "").startswith("image/"):
            cache.set(key, r.content, settings.TILE_CACHE_S)
            return r.content
        log.info("tile server answered %s", r.status_code)
    except httpx.HTTPError as exc:
        log.info("tile server unreachable: %s", type(exc).__name__)
    cache.set(DOWN_KEY, 1, settings.TILE_RETRY_S)
    return None


@require_GET
def tile(request: HttpRequest, z: int, x: int, y: int) -> HttpResponse:
    if z > MAX_ZOOM or x >= 2**z or y >= 2**z:
        raise Http404
    body = upstream_tile(z, x, y)
    if body is None:
        response = HttpResponse(PLACEHOLDER, content_type="image/png")
        response["Cache-Control"] = "no-store"
        response["X-Tile"] = "placeholder"
        return response
    return HttpResponse(body, content_type="image/png")  # no-store (NoStoreMiddleware): the area looked at stays off the device


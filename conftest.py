"""Shared fixtures: the demo accounts, API clients per role, and order payloads."""

from __future__ import annotations

import logging
import os

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import order_payload


def _share_whitenoise_files() -> None:
    """Every test client loads the middleware chain, and WhiteNoise's builds a response object for each of the
    ~700 static files (0.1-0.2 s) each time: with hundreds of clients, minutes of the suite. The object is a
    pure function of the path, the headers WhiteNoise computed, and the file's and its .gz/.br variants' stat,
    so an unchanged file under the same headers gets the one already built; a rewritten file, a new one."""
    from whitenoise import base, responders

    real = responders.StaticFile
    built: dict[tuple, responders.StaticFile] = {}

    def signature(path: str, stat_cache) -> tuple | None:
        try:
            st = stat_cache[path] if stat_cache is not None else os.stat(path)
        except (KeyError, OSError):
            return None
        return (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino)

    def static_file(path, headers, encodings=None, stat_cache=None):
        variants = tuple(sorted((encodings or {}).items()))
        key = (path, tuple(headers), variants, signature(path, stat_cache),
               tuple(signature(alt, stat_cache) for _, alt in variants))
        if key not in built:
            built[key] = real(path, headers, encodings=encodings, stat_cache=stat_cache)
        return built[key]

    base.StaticFile = static_file  # type: ignore[misc,assignment]


_share_whitenoise_files()

# The door of the demo customer: the rider walks toward it in the flow tests.
DOOR = (51.5033, -0.1196)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Ids repeat across tests: no cached engine state, ping context or pending map position may leak from one
    to the next (a position left in the batch reaches the next test's dispatcher socket)."""
    from django.core.cache import cache

    from dispatch.live import state as live_state
    from dispatch.live.positions import aggregator

    cache.clear()
    live_state.state_clear()
    aggregator.take()
    yield
    cache.clear()
    live_state.state_clear()
    aggregator.take()


@pytest.fixture(autouse=True)
def _own_audit_anchor(settings, tmp_path):
    """Each test's database starts empty: its audit anchor must too, not one left by another test."""
    settings.AUDIT_ANCHOR_PATH = tmp_path / "audit-anchor.json"


@pytest.fixture
def demo(db):
    call_command("demo_data", verbosity=0)
    User = get_user_model()
    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def client_for(demo):
    def make(username: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(demo[username])
        return client

    return make


@pytest.fixture
def merchant(client_for):
    return client_for("merchant1")


@pytest.fixture
def dispatcher(client_for):
    return client_for("dispatcher1")


@pytest.fixture
def rider1(client_for):
    return client_for("rider1")


@pytest.fixture
def staff1(client_for):
    return client_for("store1")


@pytest.fixture
def posted_order(merchant):
    response = merchant.post("/api/orders/", order_payload(), format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def assigned_order(posted_order, dispatcher, demo):
    rider = demo["rider1"].rider
    response = dispatcher.post(f"/api/dispatch/orders/{posted_order['id']}/assign/", {"rider": rider.pk}, format="json")
    assert response.status_code == 200, response.content
    return posted_order


logging.getLogger("httpx").setLevel(logging.WARNING)

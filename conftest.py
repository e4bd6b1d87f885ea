"""Shared fixtures: the demo accounts, API clients per role, and order payloads."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import order_payload

# The door of the demo customer: the rider walks toward it in the flow tests.
DOOR = (51.5033, -0.1196)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Ids repeat across tests: no cached engine state or ping context may leak from one to the next."""
    from django.core.cache import cache

    from dispatch.services import delivery

    cache.clear()
    delivery._contexts.clear()
    delivery._checked.clear()
    delivery._states.clear()
    delivery._saved_at.clear()
    delivery._eta_sent.clear()
    delivery._map_sent.clear()
    yield
    cache.clear()
    delivery._contexts.clear()
    delivery._checked.clear()
    delivery._states.clear()
    delivery._saved_at.clear()
    delivery._eta_sent.clear()
    delivery._map_sent.clear()


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

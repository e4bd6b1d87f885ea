"""Counter fixtures: orders at each stage, rider codes, and a second staff member of store 1."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import order_payload


@pytest.fixture
def new_order(merchant, dispatcher, demo):
    """Post an order for store 1 (as merchant1), assigned to `rider` unless rider is None."""

    def make(rider: str | None = "rider1", **overrides) -> dict:
        r = merchant.post("/api/orders/", order_payload(**overrides), format="json")
        assert r.status_code == 201, r.content
        order = r.json()
        if rider:
            r = dispatcher.post(f"/api/dispatch/orders/{order['id']}/assign/", {"rider": demo[rider].rider.pk},
                                format="json")
            assert r.status_code == 200, r.content
        return order

    return make


@pytest.fixture
def ready_order(new_order, staff1):
    order = new_order()
    assert staff1.post(f"/api/pickup/orders/{order['id']}/ready/").status_code == 200
    return order


@pytest.fixture
def rider_code(client_for):
    def get(order_id: int, rider: str = "rider1") -> str:
        r = client_for(rider).get(f"/api/rider/orders/{order_id}/handoff-code/")
        assert r.status_code == 200, r.content
        return r.json()["code"]

    return get


@pytest.fixture
def staff1b(demo):
    """A second staff member at store 1 (the per-store limit spans them): the demo's second clerk."""
    user = demo["store1b"]
    assert user.staff.store_id == demo["store1"].staff.store_id
    client = APIClient()
    client.force_authenticate(user)
    return client

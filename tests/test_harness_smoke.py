"""The process harness itself: one daphne on a fresh SQLite file, login, an API call."""

import pytest

from tests.factories import order_payload
from tests.harness import LiveStack


@pytest.mark.worker
def test_stack_serves_api_and_pages(tmp_path):
    with LiveStack(tmp_path) as stack:
        merchant = stack.token_client("merchant1")
        r = merchant.post("/api/orders/", json=order_payload())
        assert r.status_code == 201, r.text
        staff = stack.login("store1")
        assert staff.get("/api/pickup/orders/").json()[0]["id"] == r.json()["id"]
        assert staff.get("/pickup/").status_code == 200

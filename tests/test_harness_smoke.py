"""The process harness itself: one daphne on a fresh SQLite file, login, an API call."""

import pytest

from tests.factories import order_payload
from tests.harness import LiveStack, Template


@pytest.mark.worker
def test_stack_serves_api_and_pages(tmp_path):
    with LiveStack(tmp_path) as stack:
        merchant = stack.token_client("merchant1")
        r = merchant.post("/api/orders/", json=order_payload())
        assert r.status_code == 201, r.text
        staff = stack.login("store1")
        assert staff.get("/api/pickup/orders/").json()[0]["id"] == r.json()["id"]
        assert staff.get("/pickup/").status_code == 200


@pytest.mark.worker
def test_stacks_start_from_one_template_and_keep_their_data_apart(tmp_path):
    """Stacks of a kind copy one migrated, demo-data'd template (settings only the processes read may differ);
    what one stack writes, another never sees, and the template stays as `demo_data` left it."""
    with LiveStack(tmp_path / "a") as a:
        created = a.token_client("merchant1").post("/api/orders/", json=order_payload())
        assert created.status_code == 201, created.text
        with LiveStack(tmp_path / "b", env={"ACCESS_REVOKE_AFTER_S": "5"}) as b:
            assert Template.for_stack(b) is Template.for_stack(a)
            assert b.login("store1").get("/api/pickup/orders/").json() == []
            assert "No migrations to apply" in b.manage("migrate", "--noinput").stdout
        assert a.login("store1").get("/api/pickup/orders/").json()[0]["id"] == created.json()["id"]
    with LiveStack(tmp_path / "c", env={"ACCESS_REVOKE_AFTER_S": "5"}) as c:
        assert c.login("store1").get("/api/pickup/orders/").json() == []

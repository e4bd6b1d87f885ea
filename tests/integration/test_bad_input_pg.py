"""Bad input on the scale profile's database: PostgreSQL refuses a NUL in a query (SQLite does not), so the
path check and the strict fields are proven here against a real daphne on PostgreSQL. The attacker is a
stranger with a tracking link, or a merchant's POS."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.factories import order_payload
from tests.harness import LiveStack

from .conftest import refusal

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def stack(scale_env, tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("badinput"), database_url=scale_env[0]) as live:
        yield live


def test_nul_in_a_tracking_token_is_404_on_postgresql(stack):
    """A stranger, finding "a NUL byte in a tracking token gives a 500 on PostgreSQL" (and a failed handshake)."""
    with httpx.Client(base_url=stack.url, timeout=20) as client:
        for method, path in [("GET", "/t/%00/"), ("GET", "/api/track/%00/"), ("POST", "/api/track/%00/call/"),
                             ("GET", "/api/track/ab%00cd/")]:
            response = client.request(method, path)
            assert response.status_code == 404, (path, response.status_code, response.text[:200])
            assert response.json()["code"] == "not_found"
    assert refusal(stack.url, "/ws/track/%00/") == 403


def test_nul_in_a_session_cookie_is_ignored_on_postgresql(stack):
    """A stranger, finding "NUL gives a 500 on PostgreSQL": a cookie's octal escape (`"\\000"`) decodes to a NUL,
    which reached the session lookup."""
    for cookie in ('sessionid="\\000abcdefghijklmnop"', 'csrftoken="\\000abc"; sessionid="abc\\001defghijk"'):
        response = httpx.get(f"{stack.url}/rider/", headers={"Cookie": cookie}, timeout=20)
        assert response.status_code == 302, (cookie, response.status_code, response.text[:200])
        response = httpx.get(f"{stack.url}/api/stores/", headers={"Cookie": cookie}, timeout=20)
        assert response.status_code == 401, (cookie, response.status_code, response.text[:200])
        with pytest.raises(InvalidStatus) as refused:
            connect(f"ws://{stack.url.split('//')[1]}/ws/rider/", open_timeout=10,
                    additional_headers={"Origin": stack.url, "Cookie": cookie})
        assert refused.value.response.status_code == 403


def test_deep_json_and_coerced_types_are_400_on_postgresql(stack):
    """A merchant's POS, findings "JSON nested ~950 levels deep gives a 500 on both profiles", "`lat: true` is stored
    as 1.0" and "U+202E is accepted in names"."""
    merchant = stack.token_client("merchant1")
    try:
        response = merchant.post("/api/orders/", content="[" * 950 + "]" * 950,
                                 headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["code"] == "malformed", response.text[:200]
        body = order_payload()
        body["customer"]["lat"] = True
        body["customer"]["name"] = "Zhang\u202eS"
        response = merchant.post("/api/orders/", json=body)
        assert response.status_code == 400, response.text[:200]
        assert set(response.json()["errors"]["customer"]) == {"lat", "name"}
    finally:
        merchant.close()

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


def test_test_clients_share_whitenoise_s_files_until_a_file_changes(tmp_path, settings):
    """conftest shares WhiteNoise's per-file objects between middleware chains (each test client loads one):
    an unchanged file is built once; a rewritten one is built again and served at its new length."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    root = tmp_path / "static"
    root.mkdir()
    css = root / "app.css"
    css.write_text("a{}")
    settings.STATIC_ROOT, settings.WHITENOISE_USE_FINDERS = root, False

    def served():
        return WhiteNoiseMiddleware(get_response=lambda request: None).files["/static/app.css"]

    first = served()
    assert served() is first
    css.write_text("body{color:red}")
    again = served()
    assert again is not first
    response = again.get_response("GET", {})
    response.file.close()
    assert dict(response.headers)["Content-Length"] == str(len("body{color:red}"))

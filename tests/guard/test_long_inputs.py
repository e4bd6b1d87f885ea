"""Every login door caps its text before any library sees it: a 5,000-character username was an anonymous
500 on PostgreSQL (django-axes writes the username to a 255-character column). Runs on SQLite and, with
DATABASE_URL set, on PostgreSQL."""

from __future__ import annotations

import pytest
from django.test import Client

from dispatch.demo import DEMO_PASSWORD

LONG = "r" * 5000


def _form(username, password):
    return Client().post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="203.0.113.5")


def _token(username, password):
    return Client().post("/api/auth/token/", {"username": username, "password": password},
                         content_type="application/json", REMOTE_ADDR="203.0.113.5")


def _admin(username, password):
    return Client().post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
                         REMOTE_ADDR="203.0.113.5")


DOORS = {"login_form": _form, "api_token": _token, "admin": _admin}


@pytest.mark.django_db
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("field", ["username", "password"])
def test_a_5000_character_field_is_a_4xx_at_every_door(door, field, demo):
    username, password = (LONG, "x") if field == "username" else ("rider1", "p" * 5000)
    for _ in range(2):  # the second try meets the first one's failure row
        r = DOORS[door](username, password)
        assert r.status_code in (200, 400, 401, 429), (r.status_code, r.content[:200])
        assert "_auth_user_id" not in r.wsgi_request.session
        if door != "api_token":
            assert r.status_code == 200 and 'name="username"' in r.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["login_form", "api_token"])
def test_the_right_password_still_works(door, demo):
    r = DOORS[door]("rider1", DEMO_PASSWORD)
    assert r.status_code in (200, 302), r.content[:200]


def _door_over_http(client, base: str, door: str, username: str, password: str):
    if door == "api_token":
        return client.post("/api/auth/token/", json={"username": username, "password": password})
    path = "/accounts/login/" if door == "login_form" else "/admin/login/?next=/admin/"
    client.get(path)
    data = {"username": username, "password": password, "csrfmiddlewaretoken": client.cookies.get("csrftoken")}
    return client.post(path, data=data, headers={"Referer": base + "/"})


@pytest.mark.scale
def test_a_5000_character_username_is_a_4xx_on_postgresql(tmp_path):
    """The same at the three doors of a server on PostgreSQL (the 255-character column is enforced there)."""
    import httpx

    from tests.harness import LiveStack, scale_urls

    base_url = scale_urls()[0]
    if not base_url:
        pytest.skip("needs DATABASE_URL (PostgreSQL)")
    with LiveStack(tmp_path, database_url=base_url) as stack:
        for door in DOORS:
            with httpx.Client(base_url=stack.url, timeout=20) as client:
                for _ in range(2):
                    r = _door_over_http(client, stack.url, door, LONG, "x")
                    assert 200 <= r.status_code < 500 and r.status_code not in (301, 302), (door, r.status_code)

"""rider2, store2 and another store's merchant get 404 on rider1's order at every endpoint that names it.
Wrong roles get 403, and no login gets 401."""

import pytest
from rest_framework.test import APIClient

from dispatch.models import Order

ORDER_ENDPOINTS = [
    ("get", "/api/orders/{id}/", None),
    ("get", "/api/rider/orders/{id}/", None),
    ("get", "/api/rider/orders/{id}/handoff-code/", None),
    ("post", "/api/rider/orders/{id}/call/", None),
    ("post", "/api/rider/orders/{id}/call/dial/", None),
    ("post", "/api/rider/orders/{id}/deliver/", {"pin": "1234"}),
    ("post", "/api/pickup/orders/{id}/ready/", None),
    ("post", "/api/dispatch/orders/{id}/assign/", {"rider": 1}),
    ("get", "/api/dispatch/orders/{id}/suggestions/", None),
    ("post", "/api/dispatch/orders/{id}/break-glass/", {"reason": "customer collapsed at the door"}),
    ("get", "/pickup/orders/{id}/label/", None),
    ("post", "/api/orders/{id}/cancel/", {"reason": "other"}),
    ("post", "/api/pickup/orders/{id}/cancel/", {"reason": "other"}),
    ("post", "/api/pickup/orders/{id}/return/", {"rider_code": "123456"}),
    ("post", "/api/rider/orders/{id}/fail/", {"reason": "refused"}),
    ("post", "/api/rider/orders/{id}/door-wait/", None),
    ("get", "/api/rider/returns/{id}/handoff-code/", None),
    ("post", "/api/rider/orders/{id}/pod-photo/", None),
    ("get", "/api/orders/{id}/pod/", None),
    ("get", "/api/orders/{id}/pod/photo/", None),
    ("get", "/api/orders/{id}/feedback/", None),
]
OWN_ROLE = {
    "/api/orders/": "merchant", "/api/rider/": "rider", "/api/pickup/": "staff", "/pickup/": "staff",
    "/api/dispatch/": "dispatcher",
}
ROLE_OF = {"rider2": "rider", "store2": "staff", "merchant2": "merchant"}


def role_for(path: str) -> str:
    return next(role for prefix, role in OWN_ROLE.items() if path.startswith(prefix))


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["rider2", "store2", "merchant2"])
def test_other_parties_get_404_on_every_endpoint_that_names_the_order(assigned_order, client_for, username):
    client = client_for(username)
    if username == "store2":
        client.force_login(client.handler._force_user)  # the label page is a session-authenticated page
    checked = 0
    for method, template, body in ORDER_ENDPOINTS:
        path = template.format(id=assigned_order["id"])
        if role_for(path) != ROLE_OF[username]:
            continue
        response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
        assert response.status_code == 404, (username, path, response.status_code)
        checked += 1
    if username == "store2":
        r = client.get(f"/api/pickup/lookup/?code={assigned_order['pickup_code']}")
        assert r.status_code == 404 and r.json()["code"] == "unknown_code"
        r = client.post("/api/pickup/handoff/", {"pickup_code": assigned_order["pickup_code"], "rider_code": "123456"},
                        format="json")
        assert r.status_code == 404
        checked += 2
    assert checked >= 1
    # And nothing of it in their lists.
    for path in ("/api/rider/orders/", "/api/pickup/orders/"):
        r = client.get(path)
        assert r.status_code in (200, 403)
        if r.status_code == 200:
            assert all(o["id"] != assigned_order["id"] for o in r.json())
    assert Order.objects.get(pk=assigned_order["id"]).status == "assigned"  # nothing changed


@pytest.mark.django_db
def test_wrong_role_is_403_and_no_login_is_401(assigned_order, client_for):
    order_id = assigned_order["id"]
    assert client_for("rider1").get("/api/dispatch/orders/").status_code == 403
    assert client_for("store1").get(f"/api/rider/orders/{order_id}/").status_code == 403
    assert client_for("merchant1").post(f"/api/pickup/orders/{order_id}/ready/").status_code == 403
    anon = APIClient()
    r = anon.get("/api/rider/orders/")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    assert anon.post("/api/orders/", {}, format="json").status_code == 401


@pytest.mark.django_db
def test_tracking_links_expire_and_unknown_tokens_404(posted_order, client):
    token = posted_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/api/track/{token}/").status_code == 200
    from django.utils import timezone

    Order.objects.filter(pk=posted_order["id"]).update(tracking_expires_at=timezone.now())
    assert client.get(f"/api/track/{token}/").status_code == 404
    assert client.get("/api/track/nope/").status_code == 404


@pytest.mark.django_db
def test_logout_clears_site_data(client, demo):
    client.force_login(demo["rider1"])
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/rider/").status_code == 302  # back to the login page


@pytest.mark.django_db
def test_a_session_cookie_kept_past_logout_opens_nothing(client, demo):
    """Sessions are read through the cache: logout must end the session there as well as in the database."""
    from django.conf import settings
    from django.test import Client

    assert settings.SESSION_ENGINE == "config.sessions"  # cached_db whose cache may fail (config/sessions.py)
    client.force_login(demo["store1"])
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/api/pickup/orders/").status_code == 200  # the session is now in the cache
    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert replay.get("/api/pickup/orders/").status_code in (401, 403)
    assert replay.get("/pickup/").status_code == 302

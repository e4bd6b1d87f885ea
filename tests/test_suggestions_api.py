"""`GET /api/dispatch/orders/{id}/suggestions/`: the ranking for the dispatcher's fleet scope, 404 for an order
that is not there, 400 for a bad limit, 403 for other roles."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import suggest_scene

pytestmark = pytest.mark.django_db


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_dispatcher_gets_the_ranking_best_first():
    scene = suggest_scene.build()
    order = scene["orders"]["A"]
    r = client_of(scene["dispatchers"]["all"]).get(f"/api/dispatch/orders/{order.pk}/suggestions/?limit=3")
    assert r.status_code == 200, r.content
    m1 = scene["m1"].pk
    assert r.json() == [
        {"rider": scene["riders"]["M01"].pk, "name": "M01", "fleet": f"merchant:{m1}", "distance_m": 250, "load": 0,
         "eta_s": 62},
        {"rider": scene["riders"]["P01"].pk, "name": "P01", "fleet": "platform", "distance_m": 300, "load": 0,
         "eta_s": 75},
        {"rider": scene["riders"]["P14"].pk, "name": "P14", "fleet": "platform", "distance_m": 300, "load": 0,
         "eta_s": 75},
    ]
    r = client_of(scene["dispatchers"][f"merchant:{m1}"]).get(f"/api/dispatch/orders/{order.pk}/suggestions/")
    assert [s["name"] for s in r.json()] == ["M01", "M03", "M02", "M04", "M06", "M05"]


def test_bad_limit_is_400_missing_order_404_other_roles_403():
    scene = suggest_scene.build()
    desk = client_of(scene["dispatchers"]["all"])
    order = scene["orders"]["A"]
    for bad in ("0", "51", "ten", "1.5", "-1"):
        r = desk.get(f"/api/dispatch/orders/{order.pk}/suggestions/?limit={bad}")
        assert r.status_code == 400 and r.json()["code"] == "invalid", (bad, r.content)
    r = desk.get("/api/dispatch/orders/999999/suggestions/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    rider = client_of(scene["riders"]["P01"].user)
    assert rider.get(f"/api/dispatch/orders/{order.pk}/suggestions/").status_code == 403
    assert APIClient().get(f"/api/dispatch/orders/{order.pk}/suggestions/").status_code == 401

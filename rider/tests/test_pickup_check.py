"""At the counter the rider can check a pickup number: theirs or not, and nothing about other riders."""

import pytest

from dispatch.models import Store


@pytest.mark.django_db
def test_pickup_check_says_mine_only_for_the_riders_own_bag(assigned_order, client_for):
    store = Store.objects.get(orders__id=assigned_order["id"])
    code = assigned_order["pickup_code"]
    mine = client_for("rider1").get(f"/api/rider/pickup-check/?store={store.pk}&code={code}").json()
    assert mine == {"mine": True, "order": assigned_order["id"], "pickup_code": code, "status": "assigned"}
    other = client_for("rider2").get(f"/api/rider/pickup-check/?store={store.pk}&code={code}").json()
    missing = client_for("rider2").get(f"/api/rider/pickup-check/?store={store.pk}&code=999").json()
    assert other == missing == {"mine": False}  # a foreign bag and a missing one look the same
    wrong_store = client_for("rider1").get(f"/api/rider/pickup-check/?store={store.pk + 1}&code={code}").json()
    assert wrong_store == {"mine": False}
    bad = client_for("rider1").get("/api/rider/pickup-check/?store=x&code=")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"store", "code"}
    assert client_for("store1").get(f"/api/rider/pickup-check/?store={store.pk}&code={code}").status_code == 403

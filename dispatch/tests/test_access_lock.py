"""`access_order(lock=True)`: a write reads (and locks) the order row once, not three times."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dispatch import selectors
from dispatch.errors import NotFound

ORDER_READ = re.compile(r'^SELECT .* FROM "dispatch_order"', re.S)


def _order_reads(queries) -> int:
    return sum(1 for q in queries if ORDER_READ.match(q["sql"]))


@pytest.mark.django_db
def test_assign_reads_the_order_once(posted_order, dispatcher, demo):
    rider = demo["rider1"].rider
    with CaptureQueriesContext(connection) as ctx:
        response = dispatcher.post(f"/api/dispatch/orders/{posted_order['id']}/assign/", {"rider": rider.pk},
                                   format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rider"] == {"id": rider.pk, "name": rider.display_name}
    assert _order_reads(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_store_ready_reads_the_order_once(posted_order, staff1):
    with CaptureQueriesContext(connection) as ctx:
        response = staff1.post(f"/api/pickup/orders/{posted_order['id']}/ready/", format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"
    assert _order_reads(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_lock_keeps_the_scope(posted_order, demo):
    """Locking changes nothing about who may see the order: another party still gets a 404."""
    with transaction.atomic(), pytest.raises(NotFound):
        selectors.access_order(user=demo["rider2"], order_id=posted_order["id"], lock=True)
    with transaction.atomic():
        order = selectors.access_order(user=demo["dispatcher1"], order_id=posted_order["id"], lock=True)
    assert order.pk == posted_order["id"]

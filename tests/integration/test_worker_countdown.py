"""Embedded profile, real processes: a Celery worker on kombu's filesystem broker revokes a rider's
access after delivery, on time, through the countdown task that delivery schedules.

The beat runs but its sweep is set to once an hour, so whatever revokes here is the countdown
task. The worker is another process than the web server: its order.revoked event reaches the
rider's open socket through the outbox relay in daphne.
"""

import re

import pytest

from tests.harness import LiveStack
from tests.integration.conftest import (
    Socket,
    assert_access_ended_on_time,
    assert_no_pii,
    assert_no_process_errors,
    audit_verify,
    is_event,
    order_state,
    tracking,
    wait_for,
)

pytestmark = pytest.mark.worker

REVOKE_AFTER_S = 6  # long enough that the reads just after delivery are certainly inside it


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"ACCESS_REVOKE_AFTER_S": str(REVOKE_AFTER_S), "SWEEP_INTERVAL_S": "3600"}
    with LiveStack(tmp_path_factory.mktemp("countdown"), workers=True, beat=True, env=env) as live:
        yield live
        assert_no_process_errors(live)


def test_worker_revokes_access_after_delivery_and_the_socket_hears_it(stack, parties):
    rider = parties("rider1")
    # The rider's app is open through the whole delivery (and another rider's, which must hear nothing).
    rider_ws = Socket(stack.url, "/ws/rider/", rider, name="rider1")
    other_ws = Socket(stack.url, "/ws/rider/", parties("rider2"), name="rider2")
    try:
        order = parties.picked_up()
        oid = order["id"]
        rider_ws.wait_for(is_event("order.updated", oid, status="picked_up"), what="order.updated picked_up")
        parties.deliver(order)
        # Inside the window the rider still sees the order: the server, asked after these reads, says the
        # rider's access has not ended yet, so it had not when it answered them.
        detail, listed = rider.get(f"/api/rider/orders/{oid}/"), rider.get("/api/rider/orders/").json()
        assert tracking(stack, order["token"])["access_ends_at"] is not None, "the window ended before it was read"
        assert detail.status_code == 200, detail.text
        assert [o["id"] for o in listed] == [oid]
        rider_ws.wait_for(is_event("order.updated", oid, status="delivered"), what="order.updated delivered")

        revoked = rider_ws.wait_for(is_event("order.revoked", oid), timeout=REVOKE_AFTER_S + 20, what="order.revoked")
        assert set(revoked) == {"type", "seq", "order", "reason"} and revoked["seq"] > 0
        assert revoked["reason"] == "expired"  # a code (access ran out after delivery), for the phone; nothing else
        other_ws.drain(0.5)
        assert other_ws.about(oid) == [], "rider2 heard about rider1's order"
    finally:
        rider_ws.close()
        other_ws.close()
    assert_no_pii(rider_ws.raw + other_ws.raw)

    # Gone from the rider's list, and the detail and its actions answer 404 ("not yours").
    wait_for(lambda: rider.get("/api/rider/orders/").json() == [], timeout=5, what="an empty rider list")
    assert rider.get(f"/api/rider/orders/{oid}/").status_code == 404
    assert rider.get(f"/api/rider/orders/{oid}/handoff-code/").status_code == 404
    assert rider.post(f"/api/rider/orders/{oid}/call/").status_code == 404

    # The grants are marked revoked in the database: the worker ran, not only the read-time check. And not
    # early, by the server's own record: each grant ended no sooner than delivery plus the window, and was
    # revoked (its access.revoked written) no sooner than that end.
    assert_access_ended_on_time(stack, oid, "rider1", REVOKE_AFTER_S)
    state = order_state(stack, oid)
    held = [g for g in state["grants"] if g["user"] == "rider1"]
    assert held and all(g["revoked"] for g in held), state
    assert "access.revoked" in state["actions"]
    # ...and it was the countdown task (the hourly sweep never ran) that revoked them.
    worker_log = stack.log("worker")
    done = re.findall(rf"revoke_order_access order={oid} grants=(\d+)", worker_log)
    assert done and int(done[0]) == len(held), worker_log[-3000:]
    assert "revocation_sweep[" not in worker_log
    assert "intact" in audit_verify(stack)

    # A device that was offline at the time hears the purge when it resumes.
    late = Socket(stack.url, "/ws/rider/", rider, name="rider1-resume")
    try:
        late.send({"type": "resume", "seq": revoked["seq"] - 1})
        replay = late.wait_for(is_event("order.revoked", oid), timeout=10, what="replayed order.revoked")
        assert replay["seq"] == revoked["seq"]
    finally:
        late.close()

"""Embedded profile, real processes: the beat's periodic sweep revokes access even when no
countdown task exists (lost with a killed worker, or, as here, never sent: a revoke window above
the 900 s countdown cap is left to the sweep). The sweep runs every second (the harness sets
SWEEP_INTERVAL_S=1), leaves grants that are not due alone, and revokes them once expires_at passes.
"""

import pytest

from tests.harness import LiveStack
from tests.integration.conftest import (
    Socket,
    assert_no_pii,
    assert_no_process_errors,
    audit_verify,
    count_in_log,
    expire_grants,
    is_event,
    order_state,
    wait_for,
)

pytestmark = pytest.mark.worker

SWEEP_DONE = r"Task dispatch\.tasks\.revocation_sweep\[[0-9a-f-]+\] succeeded"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"ACCESS_REVOKE_AFTER_S": "1000", "SWEEP_INTERVAL_S": "1"}
    with LiveStack(tmp_path_factory.mktemp("sweep"), workers=True, beat=True, env=env) as live:
        yield live
        assert_no_process_errors(live)


def test_beat_sweep_revokes_when_no_countdown_task_exists(stack, parties):
    rider = parties("rider1")
    rider_ws = Socket(stack.url, "/ws/rider/", rider, name="rider1")
    try:
        order = parties.picked_up()
        oid = order["id"]
        parties.deliver(order)
        # Two sweeps after delivery: the grant is not due yet, so nothing is revoked.
        swept = count_in_log(stack, "worker", SWEEP_DONE)
        wait_for(lambda: count_in_log(stack, "worker", SWEEP_DONE) >= swept + 2, timeout=15, what="two sweeps")
        state = order_state(stack, oid)
        assert state["grants"] and not any(g["revoked"] for g in state["grants"]), state
        assert rider.get(f"/api/rider/orders/{oid}/").status_code == 200
        assert not [f for f in rider_ws.frames if f["type"] == "order.revoked"]

        # The grant's due time passes (time travel): the next sweep revokes it and tells the device.
        assert expire_grants(stack, oid) >= 1
        frame = rider_ws.wait_for(is_event("order.revoked", oid), timeout=15, what="order.revoked")
        assert set(frame) == {"type", "seq", "order", "reason"}
        assert frame["reason"] == "expired"  # a code (access ran out after delivery), for the phone; nothing else
    finally:
        rider_ws.close()
    assert_no_pii(rider_ws.raw)

    wait_for(lambda: rider.get("/api/rider/orders/").json() == [], timeout=5, what="an empty rider list")
    assert rider.get(f"/api/rider/orders/{oid}/").status_code == 404
    state = order_state(stack, oid)
    held = [g for g in state["grants"] if g["user"] == "rider1"]
    assert held and all(g["revoked"] for g in held), state
    assert state["actions"].count("access.revoked") == 1, state["actions"]
    worker_log = stack.log("worker")
    assert "Task dispatch.tasks.revoke_order_access[" not in worker_log, "a countdown task ran for a window above the cap"
    assert f"'revoked': {len(held)}" in worker_log  # the sweep's own report
    assert "intact" in audit_verify(stack)

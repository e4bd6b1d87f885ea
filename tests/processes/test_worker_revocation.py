"""A real Celery worker and beat on kombu's filesystem broker revoke access after delivery, and the
rider's open socket is told to purge (the web process relays the worker's event)."""

import pytest

from tests.harness import LiveStack
from tests.processes.conftest import Socket, delivery_to_handoff, wait_for

pytestmark = pytest.mark.worker

SHELL_REVOKED = (
    "from dispatch.models import Grant; "
    "print(Grant.objects.filter(order_id={oid}, revoked_at__isnull=False).count(), "
    "Grant.objects.filter(order_id={oid}).count())"
)


def revoked_counts(stack, oid):
    out = stack.manage("shell", "--no-imports", "-c", SHELL_REVOKED.format(oid=oid)).stdout.strip().splitlines()[-1].split()
    return int(out[0]), int(out[1])


def deliver(stack, flow):
    pin = stack.login("rider2").get(f"/api/track/{flow['token']}/").json()["delivery_pin"]
    r = flow["rider"].post(f"/api/rider/orders/{flow['order']}/deliver/", json={"pin": pin})
    assert r.status_code == 200, r.text


def test_countdown_task_revokes_after_delivery_and_the_socket_hears_it(tmp_path):
    with LiveStack(tmp_path, workers=True, beat=True, env={"ACCESS_REVOKE_AFTER_S": "3",
                                                          "SWEEP_INTERVAL_S": "3600"}) as stack:
        flow = delivery_to_handoff(stack)
        sock = Socket(stack.url, "/ws/rider/", flow["rider"])
        try:
            deliver(stack, flow)
            assert flow["rider"].get(f"/api/rider/orders/{flow['order']}/").status_code == 200  # inside the window
            frame = sock.wait_for(lambda f: f["type"] == "order.revoked", timeout=20)
            assert frame["order"] == flow["order"] and frame["seq"] > 0
        finally:
            sock.close()
        assert flow["rider"].get("/api/rider/orders/").json() == []
        assert flow["rider"].get(f"/api/rider/orders/{flow['order']}/").status_code == 404
        # The worker marked the grants revoked: not merely refused at read time.
        revoked, total = wait_for(lambda: (c := revoked_counts(stack, flow["order"]))[0] == c[1] and c, what="revoked")
        assert revoked == total >= 1
        assert "Task dispatch.tasks.revoke_order_access[" in stack.log("worker")
        assert "intact" in stack.manage("audit_verify").stdout


def test_beat_sweep_revokes_when_no_countdown_was_sent(tmp_path):
    """A wait beyond the countdown cap (or a countdown lost with a killed worker) is caught by the sweep."""
    with LiveStack(tmp_path, workers=True, beat=True, env={"ACCESS_REVOKE_AFTER_S": "100000",
                                                          "SWEEP_INTERVAL_S": "1"}) as stack:
        flow = delivery_to_handoff(stack)
        sock = Socket(stack.url, "/ws/rider/", flow["rider"])
        try:
            deliver(stack, flow)
            assert revoked_counts(stack, flow["order"])[0] == 0
            stack.manage("shell", "--no-imports", "-c", "from datetime import timedelta; from django.utils import timezone; "
                         "from dispatch.models import Grant; "
                         f"Grant.objects.filter(order_id={flow['order']}).update("
                         "expires_at=timezone.now() - timedelta(seconds=1))")
            sock.wait_for(lambda f: f["type"] == "order.revoked" and f["order"] == flow["order"], timeout=20)
        finally:
            sock.close()
        assert revoked_counts(stack, flow["order"])[0] >= 1
        assert "Task dispatch.tasks.revoke_order_access[" not in stack.log("worker")  # no countdown task ran
        assert "Task dispatch.tasks.revocation_sweep[" in stack.log("worker")

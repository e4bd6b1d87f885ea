"""The dispatch board's order list at scale: most urgent first (unassigned, then oldest), late ones flagged against
the due settings, filters by status, store, fleet and pickup number (server-side, in the schema), malformed filters
refused with 400; and the channel layer's drop counts summed across server processes through the shared cache."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from dispatch.live.layers import OverflowTally, overflow_reset, shared_counts, shared_reset
from dispatch.models import Order, Rider, Store
from dispatch.selectors.board import board_order_list
from dispatch.simulation.board_scene import board_scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(demo):
    now = timezone.now()
    board_scene(orders=30, riders=12, seed=7, now=now)
    return now


def urgency(order: dict) -> tuple:
    return (order["rider"] is not None, order["created_at"], order["id"])


def test_orders_come_unassigned_and_oldest_first_with_late_ones_flagged(scene, dispatcher):
    board = dispatcher.get("/api/dispatch/orders/").json()
    assert len(board) == 30
    assert board == sorted(board, key=urgency)
    unassigned = [o for o in board if o["rider"] is None]
    assert unassigned and board[: len(unassigned)] == unassigned  # every unassigned one above every held one
    for o in board:  # due: 5 min after placing while unassigned, 45 once held (the defaults)
        minutes = 45 if o["rider"] else 5
        created = timezone.datetime.fromisoformat(o["created_at"])
        assert timezone.datetime.fromisoformat(o["due_at"]) == created + timedelta(minutes=minutes)
        assert o["late"] == (timezone.now() > created + timedelta(minutes=minutes))
    assert any(o["late"] for o in board) and not all(o["late"] for o in board)


def test_lateness_follows_the_settings_and_the_clock(scene, demo):
    """Unassigned orders follow the assign setting (or their promise, if sooner); held ones their promise (the
    late alert's deadline), which no setting moves."""
    user = demo["dispatcher1"]
    with override_settings(ORDER_ASSIGN_DUE_MIN=1000, ORDER_DELIVER_DUE_MIN=1000):
        listed = board_order_list(user=user, now=scene)
        # The assign deadline pushed away, each order is late exactly when its promise is past.
        assert all(o.late == (scene > o.promised_at) for o in listed)
        assert any(o.late for o in listed) and not all(o.late for o in listed)
        assert not any(o.late for o in listed if o.created_at > scene - timedelta(minutes=45))
        assert all(o.late for o in board_order_list(user=user, now=scene + timedelta(minutes=1001)))


def _held_order(*, created, promised):
    board_scene(orders=2, riders=2, seed=3)
    order = Order.objects.filter(rider__isnull=True).order_by("pk").first()
    rider = Rider.objects.filter(fleet__isnull=True, user__username__startswith="scene-rider").first()
    Order.objects.filter(pk=order.pk).update(rider=rider, status="assigned", created_at=created,
                                             assigned_at=created, promised_at=promised)
    return order.pk


def test_a_held_order_is_late_on_the_board_when_its_promise_is_past_as_the_alert_says(demo, dispatcher):
    from dispatch.models import Alert
    from dispatch.services.detectors import late_orders_detect

    now = timezone.now()
    past = _held_order(created=now - timedelta(minutes=10), promised=now - timedelta(minutes=1))
    listed = {o["id"]: o for o in dispatcher.get("/api/dispatch/orders/").json()}
    assert listed[past]["late"] is True  # 10 minutes old: within ORDER_DELIVER_DUE_MIN, yet past its promise
    assert timezone.datetime.fromisoformat(listed[past]["due_at"]) == now - timedelta(minutes=1)
    late_orders_detect(now=now)
    assert Alert.objects.filter(kind="late", order_id=past, acked_at__isnull=True).exists()


def test_a_held_order_with_a_far_promise_is_not_late_however_old(demo, dispatcher):
    from dispatch.models import Alert
    from dispatch.services.detectors import late_orders_detect

    now = timezone.now()
    far = _held_order(created=now - timedelta(minutes=200), promised=now + timedelta(hours=3))
    listed = {o["id"]: o for o in dispatcher.get("/api/dispatch/orders/").json()}
    assert listed[far]["late"] is False  # older than ORDER_DELIVER_DUE_MIN (45), promised for later
    late_orders_detect(now=now)
    assert not Alert.objects.filter(kind="late", order_id=far).exists()


def test_an_unassigned_order_is_due_at_its_promise_when_that_comes_before_the_assign_deadline(demo):
    now = timezone.now()
    board_scene(orders=2, riders=2, seed=3)
    order = Order.objects.filter(rider__isnull=True).order_by("pk").first()
    Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(minutes=1),
                                             promised_at=now - timedelta(seconds=30))
    listed = {o.pk: o for o in board_order_list(user=demo["dispatcher1"], now=now)}
    assert listed[order.pk].due_at == now - timedelta(seconds=30) and listed[order.pk].late


def test_filters_by_status_store_fleet_and_pickup_number(scene, dispatcher):
    store = Store.objects.order_by("pk").first()
    by_store = dispatcher.get(f"/api/dispatch/orders/?store={store.pk}").json()
    assert by_store and {o["store"]["id"] for o in by_store} == {store.pk}
    assert by_store == sorted(by_store, key=urgency)

    two = dispatcher.get("/api/dispatch/orders/?status=created,picked_up").json()
    assert two and {o["status"] for o in two} == {"created", "picked_up"}

    own = Rider.objects.filter(fleet__isnull=False).first()
    fleet = f"merchant:{own.fleet_id}"
    mine = dispatcher.get(f"/api/dispatch/orders/?fleet={fleet}").json()
    # Held by that fleet's riders, or unassigned and theirs to take (that merchant's orders).
    expected = set(Order.objects.filter(rider__fleet_id=own.fleet_id).values_list("pk", flat=True)) | set(
        Order.objects.filter(rider__isnull=True, merchant_id=own.fleet_id).values_list("pk", flat=True))
    assert {o["id"] for o in mine} == expected
    assert all(o["fleet"] in (None, fleet) for o in mine)
    platform = dispatcher.get("/api/dispatch/orders/?fleet=platform").json()
    assert all(o["fleet"] in (None, "platform") for o in platform)
    assert len([o for o in platform if o["rider"] is None]) == Order.objects.filter(rider__isnull=True).count()

    order = Order.objects.filter(store__pickup_prefix="B").order_by("pk").first()
    exact = dispatcher.get(f"/api/dispatch/orders/?q={order.pickup_code.lower()}").json()
    assert [o["id"] for o in exact] == [order.pk]
    by_number = dispatcher.get(f"/api/dispatch/orders/?q=%23{order.pickup_seq}").json()  # "#12": at every store
    assert order.pk in {o["id"] for o in by_number}
    assert {o["pickup_code"].lstrip("B") for o in by_number} == {str(order.pickup_seq)}
    assert dispatcher.get("/api/dispatch/orders/?q=ZZ").json() == []


@pytest.mark.parametrize("query", ["status=delivered", "status=,", "store=abc", "store=0", "fleet=merchant:x",
                                   "fleet=everyone", "q=1234567890123"])
def test_malformed_filters_are_a_400_with_a_code(demo, dispatcher, query):
    r = dispatcher.get(f"/api/dispatch/orders/?{query}")
    assert r.status_code == 400, (query, r.content)
    assert {"code", "detail"} <= set(r.json())


def test_only_dispatchers_list_the_board(demo, client_for):
    assert client_for("rider1").get("/api/dispatch/orders/?store=1").status_code == 403


def test_two_server_processes_drop_counts_add_up_in_the_shared_totals(demo, dispatcher):
    """Two processes' tallies (each what one daphne keeps) flushed into the one cache: the board's figure is
    their sum, per group family, while each process still answers its own."""
    overflow_reset()
    shared_reset()
    first, second = OverflowTally(), OverflowTally()
    with override_settings(OVERFLOW_FLUSH_S=60):  # the timers never fire here: the test flushes
        first.record("dispatch", 3)
        first.record("rider.12", 2)
        second.record("dispatch", 4)
        second.record("socket", 1)
        assert shared_counts() == {"dropped": 0, "by_group": {}}  # nothing shared before a flush
        first.flush()
        second.flush()
        first.flush()  # nothing new: adds nothing
        assert shared_counts() == {"dropped": 10, "by_group": {"dispatch": 7, "rider": 2, "socket": 1}}
        assert first.counts() == {"dropped": 5, "by_group": {"dispatch": 3, "rider": 2}}
        second.record("dispatch", 1)
        second.flush()
    for tally in (first, second):
        tally.reset()
    answer = dispatcher.get("/api/dispatch/overload/").json()
    assert answer["all_servers"] == {"dropped": 11, "by_group": {"dispatch": 8, "rider": 2, "socket": 1}}
    assert answer["dropped"] == 0  # this process (the test's) dropped nothing itself
    shared_reset()


def test_a_recorded_drop_reaches_the_shared_totals_by_itself(demo):
    import threading

    overflow_reset()
    shared_reset()
    tally = OverflowTally()
    with override_settings(OVERFLOW_FLUSH_S=0.05):
        tally.record("track.abc", 2)
        timer = tally.timer
        assert isinstance(timer, threading.Timer)
    timer.join(timeout=5)
    assert shared_counts() == {"dropped": 2, "by_group": {"track": 2}}
    shared_reset()


def test_board_scene_command(demo, capsys):
    call_command("board_scene", "--orders", "4", "--riders", "3")
    assert "4 open orders, 3 riders on duty" in capsys.readouterr().out
    assert Rider.objects.filter(user__username__startswith="scene-rider", on_duty=True, last_lat__isnull=False).count() == 3

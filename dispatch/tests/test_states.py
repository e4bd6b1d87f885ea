"""The order state machine, cell by cell: every status against every action.

EXPECTED is written out by hand, independently of `states.TRANSITIONS`: a wrong, missing or extra entry in the
table fails here, and every pair not listed must be refused with `wrong_state` (409) naming both."""

from __future__ import annotations

import itertools

import pytest
from django.utils import translation

from dispatch.errors import DomainError
from dispatch.models import Order, OrderStatus
from dispatch.services import states

EXPECTED = {
    "created": {"offer": "offered", "assign": "assigned", "ready": "ready", "cancel": "cancelled"},
    "offered": {"offer": "offered", "accept": "assigned", "decline": "created", "expire_offer": "created",
                "assign": "assigned", "ready": "ready", "cancel": "cancelled"},
    "assigned": {"assign": "assigned", "ready": "ready", "cancel": "cancelled"},
    "ready": {"offer": "ready", "accept": "ready", "decline": "ready", "expire_offer": "ready", "assign": "ready",
              "pick_up": "picked_up", "cancel": "cancelled"},
    "picked_up": {"undo_pick_up": "ready", "deliver": "delivered", "fail": "failed", "cancel": "cancelled"},
    "delivered": {},
    "failed": {"retry": "picked_up", "return_start": "returning"},
    "returning": {"return_receive": "returned"},
    "returned": {},
    "cancelled": {},
}
ALL_STATUSES = ["created", "offered", "assigned", "ready", "picked_up", "delivered", "failed", "returning",
                "returned", "cancelled"]
ALL_ACTIONS = ["offer", "accept", "decline", "expire_offer", "assign", "ready", "pick_up", "undo_pick_up", "deliver",
               "cancel", "fail", "retry", "return_start", "return_receive"]
CELLS = list(itertools.product(ALL_STATUSES, ALL_ACTIONS))


def test_the_lists_are_complete():
    """Every status of the model and every action of the machine is in the grid, and nothing else."""
    assert sorted(ALL_STATUSES) == sorted(OrderStatus.values)
    assert sorted(ALL_ACTIONS) == sorted(states.ACTIONS)
    assert len(CELLS) == 140


def test_the_table_is_the_expectation():
    table = {(str(s), a): str(n) for (s, a), n in states.TRANSITIONS.items()}
    expected = {(s, a): n for s, moves in EXPECTED.items() for a, n in moves.items()}
    assert table == expected


@pytest.mark.parametrize(("status", "action"), CELLS)
def test_cell(status, action):
    order = Order(status=status)
    allowed = EXPECTED[status].get(action)
    if allowed is not None:
        assert states.transition(order, action) == status
        assert order.status == allowed
        return
    with pytest.raises(DomainError) as refused:
        states.transition(order, action)
    assert order.status == status  # a refusal changes nothing
    err = refused.value
    assert (err.status_code, err.code) == (409, "wrong_state")
    assert str(OrderStatus(status).label) in err.detail
    assert str(states.ACTION_TEXT[action]) in err.detail


def test_refusal_is_translated():
    with translation.override("zh-hans"):
        with pytest.raises(DomainError) as refused:
            states.transition_check("delivered", "cancel")
    assert refused.value.detail == "已送达的订单不能取消。"


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        states.transition_check("created", "teleport")


@pytest.mark.django_db
def test_the_services_follow_the_table(posted_order, demo):
    """The services route through the table: in every status, assign, ready and cancel either move the order
    where EXPECTED says or refuse with `wrong_state` and change nothing."""
    from dispatch.services.orders import order_assign, order_cancel, order_mark_ready

    riders = [demo["rider1"].rider, demo["rider2"].rider]
    services = {
        "assign": lambda oid, n: order_assign(order_id=oid, rider_id=riders[n % 2].pk, by=None),
        "ready": lambda oid, n: order_mark_ready(order_id=oid, by=None),
        "cancel": lambda oid, n: order_cancel(order_id=oid, by=None, reason="other"),
    }
    order_id = posted_order["id"]
    for n, (status, action) in enumerate(itertools.product(ALL_STATUSES, services)):
        Order.objects.filter(pk=order_id).update(status=status)
        allowed = EXPECTED[status].get(action)
        if status == action == "ready":
            allowed = "ready"  # marking a ready order ready again is a no-op, not a refusal
        try:
            services[action](order_id, n)
        except DomainError as err:
            assert (err.code, allowed) == ("wrong_state", None), (status, action)
        else:
            assert allowed is not None, (status, action)
        assert Order.objects.get(pk=order_id).status == (allowed or status), (status, action)

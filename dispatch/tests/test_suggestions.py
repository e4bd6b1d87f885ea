"""Suggestions: the fixed scene's ranking, asserted exactly for each fleet scope; the index's search against a
full scan; the queries it costs."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch import grid
from dispatch.models import Order, Rider
from dispatch.selectors import suggestions
from dispatch.selectors.suggestions import Suggestion, rank_key, suggest_riders
from tests import suggest_scene

pytestmark = pytest.mark.django_db


def table(out: list[Suggestion]) -> list[tuple]:
    return [(s.name, s.distance_m, s.load, s.eta_s) for s in out]


@pytest.fixture
def scene():
    return suggest_scene.build()


def test_scene_ranking_for_store_1_every_rider_who_may_take_it(scene):
    """Order A (merchant 1, store 1): the platform's riders and merchant 1's own. ETA = distance / 4 m/s + 300 s
    per order carried; ties by load (P06 before M02), then id (P01 before P14). P12's position is 20 minutes
    old and P11, M05 have none: last, without a distance. P10 (80 km) and P13 (off duty) are not suggested."""
    assert table(suggest_riders(order=scene["orders"]["A"], limit=20)) == [
        ("M01", 250, 0, 62), ("P01", 300, 0, 75), ("P14", 300, 0, 75), ("P07", 566, 0, 141),
        ("M03", 1000, 0, 250), ("P03", 1200, 0, 300), ("P06", 1600, 0, 400), ("M02", 400, 1, 400),
        ("P04", 900, 1, 525), ("P05", 2500, 0, 625), ("P02", 200, 2, 650), ("M04", 3000, 0, 750),
        ("P08", 5000, 1, 1550), ("M06", 8000, 0, 2000), ("P09", 12000, 0, 3000),
        ("P11", None, 0, None), ("P12", None, 0, None), ("M05", None, 0, None),
    ]
    # The default limit: the first ten of the same list.
    assert [s.name for s in suggest_riders(order=scene["orders"]["A"])] == [
        "M01", "P01", "P14", "P07", "M03", "P03", "P06", "M02", "P04", "P05"]


def test_scene_ranking_for_store_2_only_the_platform_may_take_merchant_2s_order(scene):
    """Order B (merchant 2, store 2, 2 km east): merchant 1's riders never; P08 (one order) before P02 (two)."""
    out = suggest_riders(order=scene["orders"]["B"])
    assert table(out) == [
        ("P05", 500, 0, 125), ("P03", 800, 0, 200), ("P07", 1649, 0, 412), ("P01", 1700, 0, 425),
        ("P14", 1700, 0, 425), ("P06", 2561, 0, 640), ("P04", 2193, 1, 848), ("P08", 3000, 1, 1050),
        ("P02", 1800, 2, 1050), ("P09", 10000, 0, 2500),
    ]
    assert {s.fleet for s in out} == {"platform"}


def test_scene_ranking_in_each_dispatchers_fleet_scope(scene):
    m1 = scene["m1"].pk
    merchant_desk, platform_desk = scene["dispatchers"][f"merchant:{m1}"], scene["dispatchers"]["platform"]
    a, b = scene["orders"]["A"], scene["orders"]["B"]
    assert table(suggest_riders(order=a, user=merchant_desk)) == [
        ("M01", 250, 0, 62), ("M03", 1000, 0, 250), ("M02", 400, 1, 400), ("M04", 3000, 0, 750),
        ("M06", 8000, 0, 2000), ("M05", None, 0, None)]
    assert {s.fleet for s in suggest_riders(order=a, user=merchant_desk)} == {f"merchant:{m1}"}
    assert suggest_riders(order=b, user=merchant_desk) == []
    assert [s.name for s in suggest_riders(order=a, user=platform_desk, limit=20)] == [
        "P01", "P14", "P07", "P03", "P06", "P04", "P05", "P02", "P08", "P09", "P11", "P12"]
    assert table(suggest_riders(order=b, user=scene["dispatchers"]["all"])) == table(suggest_riders(order=b))


def test_exclude_skips_riders_and_the_next_best_moves_up(scene):
    out = suggest_riders(order=scene["orders"]["A"], limit=3, exclude=[scene["riders"]["M01"].pk])
    assert [s.name for s in out] == ["P01", "P14", "P07"]
    assert suggest_riders(order=scene["orders"]["A"], limit=0) == []


def test_a_rider_going_off_duty_or_moving_is_seen_by_the_next_ranking(scene):
    from dispatch.services.riders import rider_duty_set

    a = scene["orders"]["A"]
    rider_duty_set(rider=scene["riders"]["M01"], on_duty=False)
    assert Rider.objects.get(pk=scene["riders"]["M01"].pk).cell is None
    assert suggest_riders(order=a, limit=1)[0].name == "P01"


def test_the_search_stops_at_a_few_rings_and_costs_few_queries(scene, django_assert_max_num_queries):
    """Order A's ten best are all within 2.5 km: the search stops after the square of 4 cells (two queries a
    ring: the riders and their loads), far short of P09 (12 km) and P10 (80 km)."""
    with django_assert_max_num_queries(2 * 5) as ctx:
        suggest_riders(order=scene["orders"]["A"])
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "BETWEEN" in sql and '"cell"' in sql


# --- The index's answer is the full scan's -----------------------------------------------------------------
def scan(order: Order, limit: int, fresh_after) -> list[Suggestion]:
    """The definition, by brute force: every on-duty rider who may take the order, ranked."""
    out = []
    riders = list(Rider.objects.filter(on_duty=True))
    loads = suggestions._loads([r.pk for r in riders])
    for rider in riders:
        s = suggestions._suggestion(rider, order, "", loads.get(rider.pk, 0), fresh_after)
        if s is not None and (s.distance_m is None or s.distance_m <= suggestions.SEARCH_MAX_M):
            out.append(s)
    return sorted(out, key=rank_key)[:limit]


def test_ring_ranges_cover_each_cell_once():
    row, col = grid.row_col(51.5, -0.12)
    seen: list[int] = []
    inner = -1
    for k in (0, 1, 2, 4):
        for first, last in grid.ring_ranges(row, col, inner, k):
            seen += range(first, last + 1)
        inner = k
    assert sorted(seen) == sorted(c for first, last in grid.square_ranges(row, col, 4) for c in range(first, last + 1))
    assert len(seen) == len(set(seen)) == 9 * 9


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.8, 0.8), st.integers(0, 2)),
                       min_size=0, max_size=25),
       limit=st.integers(1, 12))
def test_the_ring_search_returns_what_a_full_scan_returns(scene, points, limit):
    """Riders scattered up to ~45 km around store 1, some carrying orders: the index's ten equal the scan's."""
    from django.utils import timezone

    order = scene["orders"]["A"]
    busy = list(Order.objects.exclude(rider=None)[:2])
    made = []
    for i, (dlat, dlng, load) in enumerate(points):
        lat, lng = 51.5 + dlat, -0.12 + dlng
        made.append(Rider.objects.create(user=suggest_scene.UserFactory(username=f"h{i}-{len(made)}-{math.floor(lat * 1e6)}"),
                                         display_name=f"H{i}", phone="+1", last_lat=lat, last_lng=lng,
                                         cell=grid.cell_of(lat, lng), last_seen_at=timezone.now()))
        for o in busy[:load]:
            Order.objects.filter(pk=o.pk).update(rider=made[-1])
    try:
        fresh_after = timezone.now() - __import__("datetime").timedelta(seconds=suggestions.POSITION_FRESH_S)
        assert table(suggest_riders(order=order, limit=limit)) == table(scan(order, limit, fresh_after))
    finally:
        for rider in made:
            rider.user.delete()


def test_reach_is_a_lower_bound_of_the_distance_out_of_the_square():
    from dispatch.geofence import fast_distance

    lat, lng = 51.50431, -0.12377
    for k in (0, 1, 3):
        reach = grid.reach_m(lat, lng, k)
        row, col = grid.row_col(lat, lng)
        # Just outside each edge of the square.
        south = (row - k) * grid.CELL_DEG - 90 - 1e-7
        north = (row + k + 1) * grid.CELL_DEG - 90 + 1e-7
        west = (col - k) * grid.CELL_DEG - 180 - 1e-7
        east = (col + k + 1) * grid.CELL_DEG - 180 + 1e-7
        for p in ((south, lng), (north, lng), (lat, west), (lat, east), (north, east)):
            assert fast_distance(lat, lng, *p) >= reach
        assert reach > 0 or k == 0

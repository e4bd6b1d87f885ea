"""The reveal engine's rules, example by example, then as properties over many fix sequences."""

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import geofence as g

DEST = (51.5033, -0.1196)
RADII = g.Radii(street=1000, door=150)
M_PER_DEG = 111_195.0  # metres per degree of latitude on the mean sphere


def fix_at(north_m: float, ts: float, seq: int, accuracy: float = 10.0) -> g.Fix:
    return g.Fix(DEST[0] + north_m / M_PER_DEG, DEST[1], accuracy, ts, seq)


def run(fixes, *, picked_up=True, now=None, state=None):
    state = state or g.TrackState()
    decisions = []
    for f in fixes:
        d = g.evaluate(state, f, DEST, RADII, now=now if now is not None else f.ts, picked_up=picked_up)
        if d.accepted or d.spoof:
            state = d.state
        decisions.append(d)
    return state, decisions


def test_two_consecutive_fixes_inside_reveal_street_then_door():
    state, _ = run([fix_at(3000, 0, 1), fix_at(900, 60, 2)])
    assert state.tier == g.AREA  # one fix inside is not enough
    state, ds = run([fix_at(850, 65, 3)], state=state)
    assert state.tier == g.STREET and ds[-1].new_tier == g.STREET
    state, _ = run([fix_at(140, 120, 4), fix_at(100, 125, 5)], state=state)
    assert state.tier == g.DOOR


def test_one_fix_plus_ten_second_dwell():
    state, _ = run([fix_at(900, 0, 1)])
    assert state.tier == g.AREA
    # An imprecise fix that is still inside, 10 s later, completes the dwell.
    state, _ = run([fix_at(880, 10.5, 2, accuracy=120)], state=state)
    assert state.tier == g.STREET


def test_nothing_before_pickup():
    state, _ = run([fix_at(100, 0, 1), fix_at(90, 5, 2), fix_at(80, 10, 3)], picked_up=False)
    assert state.tier == g.AREA


def test_inaccurate_fixes_reveal_nothing():
    state, _ = run([fix_at(50, t * 5, t, accuracy=80) for t in range(1, 10)])
    assert state.tier == g.AREA


def test_accuracy_gate_is_min_of_50_and_half_radius():
    radii = g.Radii(street=1000, door=60)  # door needs accuracy <= 30
    state = g.TrackState()
    for seq, ts in ((1, 0), (2, 5)):
        state = g.evaluate(state, fix_at(20, ts, seq, accuracy=40), DEST, radii, now=ts, picked_up=True).state
    assert state.tier == g.STREET  # 40 m is good enough for the street, not for a 60 m door


def test_ordering_and_clock_rules():
    state, _ = run([fix_at(900, 100, 5)])
    assert g.evaluate(state, fix_at(890, 105, 5), DEST, RADII, now=105, picked_up=True).reason == "seq"
    assert g.evaluate(state, fix_at(890, 99, 6), DEST, RADII, now=105, picked_up=True).reason == "stale"
    future = g.evaluate(state, fix_at(890, 200, 6), DEST, RADII, now=105, picked_up=True)
    assert future.reason == "future" and future.spoof and future.flags == ["clock_skew"]


def test_speed_and_teleport_are_flagged_and_ignored():
    state, _ = run([fix_at(3000, 0, 1)])
    d = g.evaluate(state, fix_at(100, 10, 2), DEST, RADII, now=10, picked_up=True)  # 290 m/s
    assert not d.accepted and d.spoof and d.flags == ["speed"]
    far = g.Fix(DEST[0] + 0.5, DEST[1], 10, 0, 1)
    state, _ = run([far])
    d = g.evaluate(state, fix_at(100, 60, 2), DEST, RADII, now=60, picked_up=True)
    assert d.flags == ["teleport"]


def test_frozen_zero_accuracy_repeats_are_flagged():
    state, ds = run([fix_at(100, 0, 1, accuracy=0), fix_at(100, 5, 2, accuracy=0), fix_at(100, 10, 3, accuracy=0)])
    assert [d.reason for d in ds[1:]] == ["frozen", "frozen"]
    assert state.tier == g.AREA


def test_here_tap_within_radius_plus_100m():
    state, _ = run([fix_at(240, 0, 1)])
    assert g.here_tap(state, DEST, RADII, picked_up=True) == g.DOOR  # 240 <= 150 + 100
    state, _ = run([fix_at(300, 0, 1)])
    assert g.here_tap(state, DEST, RADII, picked_up=True) == g.STREET
    assert g.here_tap(state, DEST, RADII, picked_up=False) is None


def test_distance_fast_path_agrees_with_geodesic():
    from geopy.distance import geodesic

    for north in (10, 150, 999, 1000, 1001, 5000):
        lat = DEST[0] + north / M_PER_DEG
        fast = g.fast_distance(lat, DEST[1], *DEST)
        exact = geodesic((lat, DEST[1]), DEST).meters
        assert abs(fast - exact) / exact < 0.005
        assert abs(g.distance_m(lat, DEST[1], *DEST, near=(1000, 150)) - exact) < max(1.0, 0.005 * exact)


# --- Properties ----------------------------------------------------------------------------
fixes_strategy = st.lists(
    st.tuples(st.floats(-3000, 3000), st.floats(0.5, 30), st.floats(0, 200)),  # north_m, dt, accuracy
    min_size=1, max_size=40,
)


def to_fixes(raw):
    ts, out = 1000.0, []
    for i, (north, dt, acc) in enumerate(raw, start=1):
        ts += dt
        out.append(fix_at(north, ts, i, accuracy=acc))
    return out


@settings(max_examples=300, deadline=None)
@given(fixes_strategy)
def test_no_reveal_without_qualifying_fixes(raw):
    fixes = [f for f in to_fixes(raw)]
    fixes = [g.Fix(f.lat, f.lng, max(f.accuracy, 75.1), f.ts, f.seq) for f in fixes]  # none qualifies anywhere
    state, ds = run(fixes)
    assert state.tier == g.AREA and all(d.new_tier is None for d in ds)


@settings(max_examples=300, deadline=None)
@given(fixes_strategy)
def test_tiers_are_monotonic(raw):
    state = g.TrackState()
    for f in to_fixes(raw):
        d = g.evaluate(state, f, DEST, RADII, now=f.ts, picked_up=True)
        new = d.state if d.accepted or d.spoof else state
        assert new.tier >= state.tier
        state = new


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 140), st.floats(0.01, 2.0)), min_size=1, max_size=20),
       st.sampled_from(["teleport", "frozen", "future"]))
def test_spoofed_sequences_never_reveal_door(raw, kind):
    """A rider far away (5 km+) who injects door-side fixes by teleporting, by replaying one frozen
    zero-accuracy fix, or with future timestamps, never reaches the door tier."""
    state, _ = run([fix_at(6000, 0, 1, accuracy=10)])
    ts = 0.0
    for i, (north, dt) in enumerate(raw, start=2):
        ts += dt
        if kind == "teleport":
            f = fix_at(north, ts, i)
            now = ts
        elif kind == "frozen":
            state = g.TrackState(last_lat=DEST[0], last_lng=DEST[1], last_ts=-1, last_seq=1)
            f = g.Fix(DEST[0], DEST[1], 0.0, ts, i)
            now = ts
        else:
            f = fix_at(north, 10_000 + ts, i)
            now = ts
        d = g.evaluate(state, f, DEST, RADII, now=now, picked_up=True)
        if d.accepted or d.spoof:
            state = d.state
        assert state.tier < g.DOOR

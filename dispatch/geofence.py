"""The reveal engine: decides, from a rider's reported fixes, which address tier they hold.

Pure functions over plain data, so the rules can be tested over many inputs. The caller keeps
`TrackState` (in the cache) and persists a tier once reached (as a grant).

A fix counts only if its accuracy is at most min(50 m, radius / 2), its timestamp is not in the
future (30 s tolerance) and newer than the last accepted fix, and its seq increases. A tier is
reached by two consecutive qualifying fixes inside the radius, or one plus a 10 s dwell, or an
"I'm here" tap while a qualifying fix lies within radius + 100 m. Spoofing is flagged and the fix
is not used: an implied speed above the limit, repeated identical zero-accuracy coordinates,
clock skew. A fix older than 30 s on arrival (replayed after an offline spell) is kept for the
record and orders later fixes, but reveals nothing: only fresh fixes reveal.

Wild fixes (a cold GPS start, a phone reporting 0,0, an accuracy that lies) are flagged and never become the
speed anchor, so one of them cannot blind the engine for the rest of the delivery:
- a fix farther than WILD_M from the address is no delivery's position (0,0, another continent): refused;
- the anchor is the last accepted *precise* fix: an imprecise one (a cell tower's "within 2 km") is kept for
  the record only;
- a fix is measured against the anchor and, failing that, against the anchor before it: a wild fix accepted
  after a gap (within reach of the old one) does not refuse the true fixes that follow it;
- a run of RUN_FIXES consistent fixes that were refused as jumps re-establishes the track, unless it comes
  closer to the address than the rider could have ridden from the anchor: a spoofed walk toward the door never
  re-establishes, and only the distance to the address decides what is revealed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from geopy.distance import geodesic

AREA, STREET, DOOR = 1, 2, 3
TIER_NAMES = {AREA: "area", STREET: "street", DOOR: "door"}

FUTURE_TOLERANCE_S = 30.0
FRESH_MAX_AGE_S = 30.0  # an older fix (replayed after an offline spell) is kept for the record only
MAX_ACCURACY_M = 50.0
DWELL_S = 10.0
HERE_SLACK_M = 100.0
EARTH_R = 6_371_008.8
WILD_M = 200_000.0  # no delivery's position is this far from its address: 0,0, another continent
RUN_FIXES = 3  # consistent fixes, refused as jumps one after another, that re-establish the track

Anchor = tuple[float, float, float, float]  # (lat, lng, ts, accuracy) of an accepted precise fix


@dataclass(frozen=True)
class Fix:
    lat: float
    lng: float
    accuracy: float
    ts: float  # epoch seconds, as reported by the device
    seq: int


@dataclass(frozen=True)
class Radii:
    street: float
    door: float


@dataclass(frozen=True)
class Config:
    max_speed_mps: float = 40.0


@dataclass(frozen=True)
class TrackState:
    tier: int = AREA
    last_ts: float | None = None
    last_seq: int | None = None
    last_lat: float | None = None
    last_lng: float | None = None
    last_accuracy: float | None = None
    zero_acc_repeats: int = 0
    streak: tuple[int, int] = (0, 0)  # consecutive qualifying fixes inside (street, door)
    dwell_start: tuple[float | None, float | None] = (None, None)
    last_qualifying_distance: float | None = None
    anchor: Anchor | None = None  # the speed anchor: the last accepted precise fix
    anchor_prev: Anchor | None = None  # the one before it
    run: tuple[float, float, float, float, int] | None = None  # the last fix refused as a jump, and its run's length


@dataclass(frozen=True)
class Decision:
    state: TrackState
    accepted: bool
    reason: str = ""  # "stale", "seq", "future", "speed", "frozen" (refused); "inaccurate", "late" (kept, no reveal)
    spoof: bool = False
    distance_m: float | None = None
    new_tier: int | None = None  # set when this fix reached a higher tier
    flags: list[str] = field(default_factory=list)


def fast_distance(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Equirectangular approximation: within 0.1% below ~10 km, and a few hundred ns."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return EARTH_R * math.hypot(x, y)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float, *, near: tuple[float, ...] = ()) -> float:
    """Cheap distance first; geodesic only when the cheap figure is within 2% of a boundary."""
    d = fast_distance(lat1, lng1, lat2, lng2)
    if any(abs(d - b) <= max(5.0, 0.02 * b) for b in near):
        return geodesic((lat1, lng1), (lat2, lng2)).meters
    return d


def _plausible(anchor: Anchor, fix: Fix, config: Config) -> bool:
    """Whether the rider could have ridden from `anchor` to `fix` within the speed limit (the accuracies, each
    at most MAX_ACCURACY_M, as slack)."""
    moved = fast_distance(anchor[0], anchor[1], fix.lat, fix.lng)
    slack = min(fix.accuracy, MAX_ACCURACY_M) + min(anchor[3], MAX_ACCURACY_M)
    return max(0.0, moved - slack) / max(fix.ts - anchor[2], 0.001) <= config.max_speed_mps


def _within_reach(anchor: Anchor, fix: Fix, d: float, dest: tuple[float, float], config: Config) -> bool:
    """Whether `fix` (at `d` from the address) is no closer to the address than the rider could have come from
    `anchor` within the speed limit: only the distance to the address decides what is revealed."""
    slack = min(fix.accuracy, MAX_ACCURACY_M) + min(anchor[3], MAX_ACCURACY_M)
    closest = fast_distance(anchor[0], anchor[1], dest[0], dest[1]) - config.max_speed_mps * max(fix.ts - anchor[2], 0.0)
    return d >= closest - slack


def _qualifies(accuracy: float, radius: float) -> bool:
    return 0 <= accuracy <= min(MAX_ACCURACY_M, radius / 2)


def evaluate(
    state: TrackState,
    fix: Fix,
    dest: tuple[float, float],
    radii: Radii,
    *,
    now: float,
    picked_up: bool,
    config: Config = Config(),  # noqa: B008 - frozen dataclass
    here_tap: bool = False,
) -> Decision:
    # Ordering and clock checks first: nothing else is trusted from a fix that fails them.
    if state.last_seq is not None and fix.seq <= state.last_seq:
        return Decision(state, False, "seq")
    if fix.ts > now + FUTURE_TOLERANCE_S:
        return Decision(state, False, "future", spoof=True, flags=["clock_skew"])
    if state.last_ts is not None and fix.ts <= state.last_ts:
        return Decision(state, False, "stale")

    if fix.accuracy == 0 and state.last_lat == fix.lat and state.last_lng == fix.lng:
        repeats = state.zero_acc_repeats + 1
        return Decision(replace(state, zero_acc_repeats=repeats), False, "frozen", spoof=True, flags=["frozen"])

    # The cheap figure always (within 0.5% of the geodesic below 10 km, far inside the 50 m accuracy
    # gate): work that grew near a radius would mark the reveal rings in the response time.
    d = fast_distance(fix.lat, fix.lng, dest[0], dest[1])
    if d > WILD_M:
        return Decision(state, False, "speed", spoof=True, flags=["teleport"])
    precise = fix.accuracy <= MAX_ACCURACY_M
    this: Anchor = (fix.lat, fix.lng, fix.ts, fix.accuracy)
    anchor, anchor_prev = state.anchor, state.anchor_prev
    if anchor is not None and not _plausible(anchor, fix, config):
        if anchor_prev is not None and _plausible(anchor_prev, fix, config):
            anchor = anchor_prev  # the anchor was the wild one (accepted after a gap): measured from the one before
        else:
            moved = fast_distance(anchor[0], anchor[1], fix.lat, fix.lng)
            flags = ["teleport"] if moved > 5_000 else ["speed"]
            if not precise:
                return Decision(state, False, "speed", spoof=True, flags=flags)
            run = state.run
            follows = run is not None and run[2] < fix.ts and _plausible((run[0], run[1], run[2], run[3]), fix, config)
            length = run[4] + 1 if follows and run is not None else 1
            if length < RUN_FIXES or not _within_reach(anchor, fix, d, dest, config):
                return Decision(replace(state, run=(*this, length)), False, "speed", spoof=True, flags=flags)
            anchor = anchor_prev = None  # a run re-establishes the track: the old anchors are left behind

    if precise:
        anchor, anchor_prev = this, anchor
    base = replace(
        state,
        last_ts=fix.ts,
        last_seq=fix.seq,
        last_lat=fix.lat,
        last_lng=fix.lng,
        last_accuracy=fix.accuracy,
        zero_acc_repeats=0,
        anchor=anchor if precise else state.anchor,
        anchor_prev=anchor_prev if precise else state.anchor_prev,
        run=None,
    )
    if now - fix.ts > FRESH_MAX_AGE_S:
        # Late: it orders and bounds later fixes, but neither counts toward nor breaks a streak.
        return Decision(base, True, "late", distance_m=d)

    streaks = list(base.streak)
    dwell = list(base.dwell_start)
    reached = base.tier
    any_ok = False
    for i, (tier, radius) in enumerate(((STREET, radii.street), (DOOR, radii.door))):
        ok = _qualifies(fix.accuracy, radius)
        any_ok = any_ok or ok
        inside = d <= radius
        if ok and inside:
            streaks[i] += 1
            dwell[i] = dwell[i] if dwell[i] is not None else fix.ts
        elif ok or d - fix.accuracy > radius:
            # A precise fix outside, or an imprecise one clearly outside, breaks the streak.
            streaks[i] = 0
            dwell[i] = None
        # An imprecise fix that may be inside neither counts nor breaks the streak.
        if not picked_up or not inside:
            continue
        started = dwell[i]
        if (ok and streaks[i] >= 2) or (started is not None and fix.ts - started >= DWELL_S):
            reached = max(reached, tier)
    if here_tap and picked_up:
        for tier, radius in ((STREET, radii.street), (DOOR, radii.door)):
            if _qualifies(fix.accuracy, radius) and d <= radius + HERE_SLACK_M:
                reached = max(reached, tier)

    new_state = replace(
        base,
        streak=(streaks[0], streaks[1]),
        dwell_start=(dwell[0], dwell[1]),
        tier=reached,
        last_qualifying_distance=d if any_ok else base.last_qualifying_distance,
    )
    return Decision(
        new_state,
        True,
        "" if any_ok else "inaccurate",
        distance_m=d,
        new_tier=reached if reached > state.tier else None,
    )


def here_tap(state: TrackState, dest: tuple[float, float], radii: Radii, *, picked_up: bool) -> int | None:
    """The rider taps "I'm here": reveal the tiers whose radius + 100 m holds the last qualifying fix."""
    if not picked_up or state.last_qualifying_distance is None or state.last_accuracy is None:
        return None
    d = state.last_qualifying_distance
    reached = state.tier
    for tier, radius in ((STREET, radii.street), (DOOR, radii.door)):
        if _qualifies(state.last_accuracy, radius) and d <= radius + HERE_SLACK_M:
            reached = max(reached, tier)
    return reached if reached > state.tier else None


def offset_point(lat: float, lng: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point `metres` from (lat, lng) along `bearing_deg` (0 = north), on the local plane (fine below ~10 km)."""
    b = math.radians(bearing_deg)
    dlat = math.degrees(metres * math.cos(b) / EARTH_R)
    dlng = math.degrees(metres * math.sin(b) / (EARTH_R * math.cos(math.radians(lat))))
    return lat + dlat, lng + dlng


def coarse_distance(metres: float) -> tuple[int, str]:
    """An area-tier distance in coarse steps, as (metres, text): under 1 km is one step; then
    0.5 km steps to 10 km, 1 km steps beyond. A reading bounds the true figure to its step only."""
    if metres < 1000:
        return 1000, "under 1 km"
    step = 500 if metres < 10_000 else 1000
    value = int(round(metres / step) * step)
    return value, f"about {value / 1000:g} km"


def distance_band(metres: float, radii: Radii) -> str:
    """What the audit log keeps of a distance: the band between the reveal radii, never the figure."""
    if metres <= radii.door:
        return f"<{radii.door:g} m"
    if metres <= radii.street:
        return f"{radii.door:g}-{radii.street:g} m"
    return f">{radii.street:g} m"

"""The socket's fast ping validator (`location_in_fast`) against the DRF serializer it stands in for: on
generated messages, whatever the fast one accepts the serializer accepts with the same data, and the
common pings (plain numbers in range) are all taken by the fast one, not handed back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.serializers import LocationIn, location_in_fast

ANY = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(["2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00", "1.5", "12"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
MISSING = object()


def field(common):
    return st.one_of(common, common, common, ANY, st.just(MISSING))


def in_range(low, high):
    return st.one_of(st.floats(min_value=low, max_value=high), st.integers(min_value=low, max_value=high),
                     st.floats(min_value=low - 1e6, max_value=high + 1e6))


MESSAGES = st.fixed_dictionaries({
    "lat": field(in_range(-90, 90)),
    "lng": field(in_range(-180, 180)),
    "accuracy": field(in_range(-5, 100_005)),
    "timestamp": field(st.one_of(st.floats(min_value=1.6e9, max_value=1.9e12), st.integers(min_value=0, max_value=2 * 10**12))),
    "seq": field(st.integers(min_value=-3, max_value=2**64)),
    "here": field(st.booleans()),
})


def drf(message):
    serializer = LocationIn(data=message)
    try:
        ok = serializer.is_valid()
    except (OverflowError, ValueError):  # huge integers the serializer itself does not survive
        return "crash"
    return dict(serializer.validated_data) if ok else None


def same(a, b):
    return a.keys() == b.keys() and all(type(a[k]) is type(b[k]) and a[k] == b[k] for k in a)


@settings(max_examples=600, deadline=None)
@given(MESSAGES)
def test_fast_validator_matches_the_serializer(fields):
    message = {"type": "location", **{k: v for k, v in fields.items() if v is not MISSING}}
    fast = location_in_fast(message)
    slow = drf(message)
    if fast is not None:
        # Never accepts what the serializer refuses, and yields the same values of the same types.
        assert slow not in (None, "crash"), (message, fast)
        assert same(fast, slow), (message, fast, slow)
    elif slow not in (None, "crash"):
        # Handed back only when some field is not a plain number / boolean (text times, big integers).
        plain = all(type(message.get(k)) in (int, float) for k in ("lat", "lng", "accuracy", "timestamp")) \
            and type(message.get("seq")) is int and message["seq"] <= 2**63 - 1 \
            and type(message.get("here", False)) is bool \
            and abs(message["timestamp"]) <= 2**63 - 1
        assert not plain, (message, slow)


def test_a_common_ping_is_taken_by_the_fast_validator():
    message = {"type": "location", "lat": 51.5, "lng": -0.12, "accuracy": 8, "timestamp": 1_780_000_000_123, "seq": 4}
    assert location_in_fast(message) == drf(message) == {
        "lat": 51.5, "lng": -0.12, "accuracy": 8.0, "timestamp": 1_780_000_000.123, "seq": 4, "here": False}
    for bad in ({"here": 1}, {"lat": True}, {"lat": float("nan")}, {"seq": -1}, {"accuracy": -0.5}):
        assert location_in_fast({**message, **bad}) is None
        assert drf({**message, **bad}) is None

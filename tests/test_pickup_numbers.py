"""Pickup numbers, as properties: short and unique per store per business day (10k in a day), restart
at the store's local rollover hour, stores count independently, and what people type reads back."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.models import PickupCounter, Store
from dispatch.services.pickup_numbers import (
    business_date,
    clean_prefix,
    format_pickup_code,
    normalise_pickup_code,
    pickup_number_allocate,
)

ZONES = ["Europe/London", "Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Sao_Paulo", "Pacific/Chatham", "UTC", "America/St_Johns", "Asia/Kathmandu"]
DB = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

prefixes = st.text(max_size=2)
zones = st.sampled_from(ZONES)
hours = st.integers(min_value=0, max_value=23)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))


def rolled_back(fn):
    """Run one example inside a transaction that is rolled back, so examples do not see each other."""
    with transaction.atomic():
        try:
            return fn()
        finally:
            transaction.set_rollback(True)


def new_store(tz="Europe/London", prefix="") -> Store:
    return Store.objects.create(name="S", address="1 Road", lat=51.5, lng=-0.1, timezone=tz, pickup_prefix=prefix)


def day_start(tz: str, day: date, hour: int) -> datetime:
    """The instant the business day `day` begins: local `hour`:00 (first occurrence)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- Pure functions -----------------------------------------------------------------------------
@given(prefix=prefixes, seqs=st.sets(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=300))
def test_codes_are_distinct_short_and_read_back(prefix, seqs):
    codes = [format_pickup_code(prefix=prefix, seq=s) for s in seqs]
    assert len(set(codes)) == len(codes)
    for seq, code in zip(seqs, codes, strict=True):
        assert len(code) <= 7  # two letters and up to five digits: easy to say and to shelve
        assert normalise_pickup_code(code) == code
        assert normalise_pickup_code(f"  {code.lower()} ") == code
        assert normalise_pickup_code(f"{clean_prefix(prefix)}0{seq}") == code


def test_all_ten_thousand_codes_of_a_day_are_distinct():
    for prefix in ("", "A", "BC"):
        codes = {format_pickup_code(prefix=prefix, seq=s) for s in range(1, 10_001)}
        assert len(codes) == 10_000


@given(text=st.text(max_size=14))
def test_normalise_never_crashes_and_is_idempotent(text):
    code = normalise_pickup_code(text)
    if code is not None:
        assert normalise_pickup_code(code) == code
        assert code[-1].isdigit() and not code.startswith("0")


@given(tz=zones, hour=hours, day=days, before=st.integers(1, 3600), after=st.integers(0, 3600))
def test_the_business_day_turns_at_the_local_rollover_hour(tz, hour, day, before, after):
    store = Store(timezone=tz)
    start = day_start(tz, day, hour)
    assert business_date(store=store, at=start + timedelta(seconds=after), rollover_hour=hour) == day
    assert business_date(store=store, at=start - timedelta(seconds=before), rollover_hour=hour) == day - timedelta(days=1)


@given(tz=zones, hour=hours, instants=st.lists(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31),
                                                             timezones=st.just(UTC)), min_size=2, max_size=50))
def test_business_days_never_go_backwards(tz, hour, instants):
    store = Store(timezone=tz)
    dates = [business_date(store=store, at=t, rollover_hour=hour) for t in sorted(instants)]
    assert dates == sorted(dates)


# --- The allocator on the database (SQLite here; PostgreSQL in test_pickup_concurrency) ------------
@pytest.mark.django_db
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tz=zones, prefix=prefixes, day=days, seed=st.integers(0, 2**32))
def test_ten_thousand_orders_in_one_store_day_get_distinct_numbers(tz, prefix, day, seed):
    def run():
        store = new_store(tz, prefix)
        start = day_start(tz, day, 4)
        rng = random.Random(seed)
        ats = sorted(start + timedelta(seconds=rng.uniform(0, 86_399)) for _ in range(10_000))
        with override_settings(PICKUP_ROLLOVER_HOUR=4):
            got = [pickup_number_allocate(store=store, at=at) for at in ats]
        # A 23- or 25-hour day (DST) still is one business day, as long as the instants stay in it.
        in_day = [g for g, at in zip(got, ats, strict=True) if business_date(store=store, at=at, rollover_hour=4) == day]
        for d in {d for d, _, _ in got}:
            codes = [code for dd, _, code in got if dd == d]
            assert len(set(codes)) == len(codes)
        assert [seq for _, seq, _ in in_day] == list(range(1, len(in_day) + 1))
        assert len({code for _, _, code in in_day}) == len(in_day) >= 9_500
        assert PickupCounter.objects.get(store=store, business_date=day).last == len(in_day)

    rolled_back(run)


@pytest.mark.django_db
@DB
@given(tz=zones, hour=hours, day=days, before=st.integers(1, 7200), after=st.integers(0, 7200), n=st.integers(1, 20))
def test_numbers_restart_after_the_rollover(tz, hour, day, before, after, n):
    def run():
        store = new_store(tz, "A")
        start = day_start(tz, day, hour)
        with override_settings(PICKUP_ROLLOVER_HOUR=hour):
            late = [pickup_number_allocate(store=store, at=start - timedelta(seconds=before)) for _ in range(n)]
            early = pickup_number_allocate(store=store, at=start + timedelta(seconds=after))
            later_still = pickup_number_allocate(store=store, at=start - timedelta(seconds=before))
        assert [(d, s, c) for d, s, c in late] == [(day - timedelta(days=1), i, f"A{i}") for i in range(1, n + 1)]
        assert early == (day, 1, "A1")  # the new business day starts again at 1
        assert later_still == (day - timedelta(days=1), n + 1, f"A{n + 1}")  # the old day goes on by itself

    rolled_back(run)


@pytest.mark.django_db
@DB
@given(order=st.lists(st.integers(0, 2), min_size=1, max_size=300), prefixes=st.lists(prefixes, min_size=3, max_size=3),
       day=days)
def test_stores_count_independently(order, prefixes, day):
    def run():
        stores = [new_store(ZONES[i], prefixes[i]) for i in range(3)]
        got: dict[int, list[int]] = {0: [], 1: [], 2: []}
        for i in order:
            at = day_start(stores[i].timezone, day, 12)
            d, seq, code = pickup_number_allocate(store=stores[i], at=at)
            assert d == day
            assert code == format_pickup_code(prefix=prefixes[i], seq=seq)
            got[i].append(seq)
        for i, seqs in got.items():
            assert seqs == list(range(1, order.count(i) + 1))

    rolled_back(run)

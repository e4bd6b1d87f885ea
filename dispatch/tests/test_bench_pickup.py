"""The pickup benchmark command keeps working: it seeds exactly the orders asked for, times every path
and leaves the database as it was. It asserts no speed (figures are for `make bench-pickup`)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dispatch.models import AuditEvent, Order, Store

LINE = re.compile(r"^(?P<label>.+?)\s+n=\s*(?P<n>\d+)\s+wall p50=\s*(?P<p50>[\d.]+) p95=\s*[\d.]+ p99=\s*(?P<p99>[\d.]+)", re.M)


@pytest.mark.django_db
def test_bench_pickup_seeds_exactly_times_each_path_and_rolls_back():
    before = (Order.objects.count(), Store.objects.count(), AuditEvent.objects.count())
    out = StringIO()
    call_command("bench_pickup", orders=2_345, stores=3, days=7, lookups=60, stdout=out)
    text = out.getvalue()

    assert re.search(r"Seeded 2,345 orders, [\d,]+ items, 3 stores, 7 business days", text), text
    assert "USING INDEX" in text or "Index" in text, text  # the lookup query uses the (store, day, code) index
    rows = {m["label"].strip(): m for m in LINE.finditer(text)}
    assert set(rows) == {"(baseline: GET /api/stores/)", "selector order_by_pickup_code", "service pickup_lookup (+audit)",
                         "API GET /api/pickup/lookup/", "(API GET /api/pickup/handoffs/)"}, text
    for m in rows.values():
        assert int(m["n"]) == 60
        assert 0 < float(m["p50"]) <= float(m["p99"])
    assert "Rolled back" in text
    assert (Order.objects.count(), Store.objects.count(), AuditEvent.objects.count()) == before


def test_bench_pickup_refuses_more_stores_than_it_has_zones():
    with pytest.raises(CommandError, match="--stores"):
        call_command("bench_pickup", stores=9, stdout=StringIO())

"""The report on the scale profile's database: seed_month and privacy_report run against PostgreSQL (JSON audit
data, the joins to the vault's records, the per-fleet grouping), the merchant's run holds only its store, and the
CSV agrees with the JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.harness import LiveStack

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def stack(scale_env, tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("report"), database_url=scale_env[0]) as live:
        yield live


def test_the_report_on_postgresql(stack):
    seeded = stack.manage("seed_month", "--days", "6", "--per-day", "6", "--old", "4").stdout
    made = dict(part.rsplit(" ", 1) for part in seeded.strip().split(", "))
    today = datetime.now(UTC).date()  # the seed is dated back from the wall clock: the report asks the same days
    period = ["--from", str(today - timedelta(days=5)), "--to", str(today)]
    data = json.loads(stack.manage("privacy_report", *period, "--format", "json").stdout)
    assert data["audit_chain"]["ok"] is True
    assert data["operations"]["total"]["orders"] == int(made["orders"])
    assert data["operations"]["total"]["completed"] == int(made["delivered"])
    assert (data["retention"]["shredded"], data["retention"]["overdue"]) == (int(made["shredded"]), int(made["overdue"]))
    assert data["pii_reads"]["total"] == sum(r["count"] for r in data["pii_reads"]["rows"]) > 0
    rows = list(csv.DictReader(io.StringIO(stack.manage("privacy_report", *period, "--format", "csv").stdout)))
    assert sum(int(r["value"]) for r in rows if r["section"] == "operations_store" and r["metric"] == "orders") == \
        data["operations"]["total"]["orders"]
    mine = json.loads(stack.manage("privacy_report", *period, "--format", "json", "--merchant", "1").stdout)
    assert {r["key"].split()[0] for r in mine["operations"]["by_store"]} <= {"1"}
    assert "uses" not in mine["break_glass"]

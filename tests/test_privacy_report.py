"""The accountability report on a small seeded history: every figure recomputed here from the rows themselves
(another way than dispatch/selectors/reports.py counts them), the merchant's scope, the audit verdict on an
intact and a tampered chain, the CSV against the JSON, the pages' roles and the privacy notice."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.test import Client

from dispatch.models import AuditEvent, Interaction, Merchant, Order, SealedRecord
from dispatch.permissions import role_of
from dispatch.selectors.reports import mask_reason, privacy_report
from dispatch.simulation.month import seed_month

NOW = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # the seeded month ends here (explicit: no wall clock)
START, END = date(2026, 6, 26), date(2026, 6, 30)  # the five seeded days
LO, HI = datetime(2026, 6, 26, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
READS = {"address.read", "contact.read", "destination.read", "items.read", "call.customer_digest"}  # what seed writes
ROLE = {"rider": "rider", "staff": "staff", "dispatcher": "dispatcher", "merchant": "merchant"}


@pytest.fixture
def month(demo, settings):
    return seed_month(days=5, per_day=8, old=4, seed=11, now=NOW)


def report(**kw):
    return privacy_report(start=START, end=END, now=NOW, **kw)


def _nearest_rank(values, p):
    values = sorted(values)
    k = -(-p * len(values) // 100)  # ceil without math
    return round(values[int(k) - 1])


def test_reads_by_party_purpose_and_tier(month):
    expected = Counter()
    for e in AuditEvent.objects.filter(at__gte=LO, at__lt=HI, action__in=READS).select_related("actor"):
        party = "system" if e.actor is None else ROLE[role_of(e.actor)]
        expected[(party, e.data.get("purpose", "-"), e.data.get("tier") or "-")] += 1
    got = {(r["party"], r["purpose"], r["tier"]): r["count"] for r in report(verify=False)["pii_reads"]["rows"]}
    assert got == dict(expected)
    assert sum(got.values()) == report(verify=False)["pii_reads"]["total"] > 0
    # A delivery walks the tiers: every delivered order was read at area, street and door by its rider.
    delivered = Order.objects.filter(created_at__gte=LO, created_at__lt=HI, status="delivered").count()
    assert got[("rider", "delivery", "door")] >= delivered > 0


def test_consent_figures(month):
    orders = list(Order.objects.filter(created_at__gte=LO, created_at__lt=HI))
    consent = report(verify=False)["consent"]
    assert consent["orders"] == len(orders) == month["orders"]
    protected = len([o for o in orders if o.consent_number_protection])
    assert consent["number_protection"] == protected
    assert consent["number_protection_pct"] == round(protected * 100 / len(orders), 1)
    assert consent["marketing"] == len([o for o in orders if o.consent_marketing])
    assert consent["marketing_withdrawn"] == AuditEvent.objects.filter(action="consent.withdrawn", at__lt=HI).count()


def test_retention_shredded_overdue_and_the_worst_case(month):
    retention = report(verify=False)["retention"]
    # seed_month's own tally of what it shredded and what it left: the ground truth.
    assert (retention["shredded"], retention["overdue"]) == (month["shredded"], month["overdue"])
    assert month["shredded"] > 0 and month["overdue"] > 0
    assert retention["due"] == month["old"]
    held = [r for r in SealedRecord.objects.select_related("order") if r.shredded_at is None]
    late = [NOW - r.order.retention_due_at for r in held if r.order.retention_due_at <= NOW]
    assert retention["oldest_overdue_s"] == int(max(late).total_seconds())
    assert retention["oldest_plaintext_age_s"] == int(max(NOW - r.order.created_at for r in held).total_seconds())
    assert retention["retention_days"] == 90
    # Shredded orders really are unreadable: no key, no ciphertext.
    assert not SealedRecord.objects.filter(shredded_at__isnull=False, wrapped_key__isnull=False).exists()


def test_operations_counts_and_percentiles(month):
    ops = report(verify=False)["operations"]
    orders = list(Order.objects.filter(created_at__gte=LO, created_at__lt=HI).select_related("rider"))
    total = ops["total"]
    assert total["orders"] == len(orders)
    assert total["completed"] == month["delivered"] == len([o for o in orders if o.status == "delivered"])
    assert total["cancelled"] == month["cancelled"]
    assert total["returned"] == month["returned"] == len([o for o in orders if o.failed_at])  # seeded fails all return
    assert total["late"] == len([o for o in orders if o.delivered_at and o.delivered_at > o.promised_at])
    waits = [(o.picked_up_at - o.ready_at).total_seconds() for o in orders if o.picked_up_at]
    rides = [(o.delivered_at - o.picked_up_at).total_seconds() for o in orders if o.delivered_at]
    assert (total["pickup_wait_p50_s"], total["pickup_wait_p90_s"]) == (_nearest_rank(waits, 50), _nearest_rank(waits, 90))
    assert (total["delivery_p50_s"], total["delivery_p90_s"]) == (_nearest_rank(rides, 50), _nearest_rank(rides, 90))
    for group in ("by_store", "by_fleet", "by_day"):
        assert sum(r["orders"] for r in ops[group]) == total["orders"], group
        assert sum(r["completed"] for r in ops[group]) == total["completed"], group
    assert len(ops["by_day"]) == 5
    fleets = {r["key"] for r in ops["by_fleet"]}
    assert "platform" in fleets and f"merchant:{Merchant.objects.order_by('pk').first().pk}" in fleets


def test_calls_and_chats(month):
    calls = report(verify=False)["calls"]
    inter = Interaction.objects.filter(started_at__gte=LO, started_at__lt=HI)
    assert calls["in_app_calls"] == inter.filter(kind="call").count() > 0
    assert calls["chat_messages"] == inter.filter(kind="chat").count() > 0
    assert calls["phone_calls"] == inter.filter(kind="phone").count()


def test_the_audit_chain_is_verified_and_a_tampered_one_reported_broken(month):
    chain = report()["audit_chain"]
    assert chain["ok"] and chain["events"] == AuditEvent.objects.count()
    victim = AuditEvent.objects.filter(action="breakglass.used").first() or AuditEvent.objects.order_by("id")[5]
    AuditEvent.objects.filter(pk=victim.pk).update(data={**victim.data, "reason": "nothing happened"})
    chain = report()["audit_chain"]
    assert chain["ok"] is False and chain["broken_at"] == victim.pk


def test_a_merchants_report_holds_only_its_own_stores(month, demo):
    m1 = demo["merchant1"].merchant
    own = set(m1.stores.values_list("pk", flat=True))
    assert Order.objects.exclude(store_id__in=own).exists()  # the other merchant has orders too
    mine = report(store_ids=sorted(own), verify=False)
    assert {int(r["key"].split()[0]) for r in mine["operations"]["by_store"]} == own
    assert mine["operations"]["total"]["orders"] == Order.objects.filter(
        store_id__in=own, created_at__gte=LO, created_at__lt=HI).count()
    expected = AuditEvent.objects.filter(at__gte=LO, at__lt=HI, action__in=READS, order__store_id__in=own).count()
    assert mine["pii_reads"]["total"] == expected
    assert "uses" not in mine["break_glass"]  # counts only, never the reasons

    client = Client()
    client.force_login(demo["merchant1"])
    page = client.get("/portal/reports/?start=2026-06-26&end=2026-06-30").content.decode()
    others = Order.objects.exclude(store_id__in=own).select_related("store").first().store.name
    assert others not in page and 'href="/portal/"' in page
    body = client.get("/portal/reports/operations.csv?start=2026-06-26&end=2026-06-30").content.decode()
    assert others not in body
    for reason in ("Police asked", "door code", "顾客"):
        assert reason not in page


def test_the_csv_parses_and_its_totals_match_the_json(month, demo):
    out_json, out_csv = io.StringIO(), io.StringIO()
    # The command reads the wall clock for `now`: the seeded days lie in its past, so every figure is final.
    call_command("privacy_report", "--from", "2026-06-26", "--to", "2026-06-30", "--format", "json", stdout=out_json)
    call_command("privacy_report", "--from", "2026-06-26", "--to", "2026-06-30", "--format", "csv", stdout=out_csv)
    data = json.loads(out_json.getvalue())
    rows = list(csv.DictReader(io.StringIO(out_csv.getvalue())))
    value = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert int(value[("pii_reads", "total", "count")]) == data["pii_reads"]["total"]
    assert sum(int(r["value"]) for r in rows if r["section"] == "pii_reads" and r["key"] != "total") == \
        data["pii_reads"]["total"]
    assert int(value[("operations_total", "total", "orders")]) == data["operations"]["total"]["orders"]
    assert sum(int(r["value"]) for r in rows if r["section"] == "operations_day" and r["metric"] == "orders") == \
        data["operations"]["total"]["orders"]
    assert int(value[("retention", "total", "overdue")]) == data["retention"]["overdue"]
    assert value[("audit_chain", "total", "ok")] == "True"
    assert int(value[("break_glass", "total", "count")]) == len(data["break_glass"]["uses"])

    client = Client()
    client.force_login(demo["dispatcher1"])
    response = client.get("/dispatch/reports/operations.csv?start=2026-06-26&end=2026-06-30")
    assert response["Content-Disposition"].startswith("attachment;")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    total = next(r for r in table if r["group"] == "total")
    assert int(total["orders"]) == sum(int(r["orders"]) for r in table if r["group"] == "store")


def test_break_glass_reasons_are_masked_and_cut():
    assert mask_reason("call back on 13800138000 now") == "call back on ••• now"
    assert mask_reason("door code 4471, 2nd floor") == "door code •••, 2nd floor"
    assert mask_reason("waited 10 min") == "waited 10 min"
    long = mask_reason("x" * 200)
    assert len(long) == 60 and long.endswith("…")


@pytest.mark.parametrize("who, path, status", [
    ("dispatcher1", "/dispatch/reports/", 200), ("dispatcher2", "/dispatch/reports/", 403),
    ("merchant1", "/dispatch/reports/", 403), ("rider1", "/dispatch/reports/", 403),
    ("dispatcher2", "/dispatch/reports/privacy.csv", 403), ("merchant1", "/portal/reports/", 200),
    ("dispatcher1", "/portal/reports/", 403), ("store1", "/portal/reports/privacy.csv", 403),
    ("dispatcher1", "/dispatch/reports/other.csv", 404), (None, "/dispatch/reports/", 302), (None, "/portal/reports/", 302),
])
def test_who_may_read_which_report(demo, who, path, status):
    client = Client()
    if who:
        client.force_login(demo[who])
    assert client.get(path).status_code == status


def test_the_admin_page_shows_the_masked_reasons(month, demo):
    client = Client()
    client.force_login(demo["dispatcher1"])
    page = client.get("/dispatch/reports/?start=2026-06-26&end=2026-06-30").content.decode()
    uses = report(reasons=True, verify=False)["break_glass"]["uses"]
    assert month["break_glass"] == len(uses)
    for use in uses:
        assert use["reason"] in page
    assert "13800138000" not in page and "4471" not in page


def test_the_privacy_notice_shows_the_real_settings_in_both_languages(client, settings):
    settings.RETENTION_DAYS, settings.PRIVACY_CONTACT = 45, "dpo@shop.test"
    page = client.get("/privacy/").content.decode()
    assert "45 days" in page and "dpo@shop.test" in page and "area" in page
    client.cookies["django_language"] = "zh-hans"
    zh = client.get("/privacy/").content.decode()
    assert "45 天" in zh and "dpo@shop.test" in zh and "隐私" in zh


def test_the_tracking_page_links_to_the_notice(posted_order, client):
    page = client.get(posted_order["tracking_url"]).content.decode()
    assert 'href="/privacy/"' in page


def test_seed_month_is_deterministic(demo):
    first = seed_month(days=2, per_day=4, old=2, seed=5, now=NOW)
    figures = report(verify=False)
    before = (figures["operations"]["total"], figures["consent"], figures["pii_reads"]["rows"])
    assert first["orders"] > 0
    Order.objects.all().delete()  # the audit rows keep their order ids as null
    AuditEvent.objects.filter(at__lt=HI).delete()
    Interaction.objects.all().delete()
    seed_month(days=2, per_day=4, old=2, seed=5, now=NOW)
    again = report(verify=False)
    assert (again["operations"]["total"], again["consent"], again["pii_reads"]["rows"]) == before

"""GET /metrics: only the scraper reads it (a 404 to anyone else), the text parses, the ping path and the sockets
move their instruments, the database's figures are right and cost a fixed number of queries, and no label value
is an id, a token or the customer's."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dispatch.instruments import REGISTRY
from dispatch.metrics import exposition
from dispatch.models import AuditEvent, Event, Grant, GrantPurpose, GrantScope, Order, Tier
from dispatch.selectors.metrics import metrics_figures
from tests.factories import CUSTOMER_NAME, CUSTOMER_PHONE
from tests.test_websockets import connect, cookie_for

pytestmark = pytest.mark.django_db(transaction=False)
TOKEN = "m3tr1cs-scraper-token-for-tests"
OUTSIDE = "203.0.113.7"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = ["127.0.0.1/32", "::1/128"]
    return TOKEN


def scrape(**extra) -> str:
    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- who may read it -----------------------------------------------------------------------------------------


def test_a_stranger_gets_the_sites_404(db, token):
    c = Client()
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
                    {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"}):
        r = c.get("/metrics", REMOTE_ADDR=OUTSIDE, **headers)
        assert r.status_code == 404
        assert b"delivery_" not in r.content
    assert c.post("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 404  # not even a 405 says it is there
    # Loopback through a reverse proxy is a visitor, not the scraper.
    assert c.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OUTSIDE).status_code == 404


def test_the_token_or_an_allowed_address_lets_the_scraper_in(db, token, settings):
    c = Client()
    assert c.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert c.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert c.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    settings.METRICS_ALLOW = ["10.0.0.0/8"]
    assert c.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert c.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    settings.METRICS_ALLOW, settings.METRICS_TOKEN = [], ""
    assert c.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert c.post("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_the_text_parses_and_names_every_figure(demo, token):
    got = families(scrape())
    for name in ("delivery_pings", "delivery_ping_ack_seconds", "delivery_open_sockets", "delivery_frames_dropped",
                 "delivery_frames_dropped_all", "delivery_celery_queue_depth", "delivery_outbox_lag_seconds",
                 "delivery_revocation_lag_seconds", "delivery_grants_live", "delivery_break_glass_uses",
                 "delivery_break_glass_uses_24h", "delivery_webhook_deliveries_failed",
                 "delivery_webhook_endpoints_failing", "delivery_audit_anchor_age_seconds"):
        assert name in got, name
    assert got["delivery_ping_ack_seconds"].type == "histogram"
    assert got["delivery_pings"].type == "counter"
    assert {s.labels["tier"] for s in got["delivery_grants_live"].samples} == {"area", "street", "door", "contact"}


# --- the live path ---------------------------------------------------------------------------------------------


def test_an_http_ping_counts_and_times_its_ack(demo, rider1, token):
    before = (sample("delivery_pings_total", kind="http", outcome="accepted"),
              sample("delivery_ping_ack_seconds_count", kind="http"))
    r = rider1.post("/api/rider/location/", {"lat": 51.503, "lng": -0.115, "accuracy": 10,
                                             "timestamp": time.time() * 1000, "seq": 1}, format="json")
    assert r.status_code == 200 and r.json()["accepted"] is True
    assert sample("delivery_pings_total", kind="http", outcome="accepted") == before[0] + 1
    assert sample("delivery_ping_ack_seconds_count", kind="http") == before[1] + 1
    # And the scrape says so.
    text = scrape()
    counted = [s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "delivery_pings_total" and s.labels == {"kind": "http", "outcome": "accepted"}]
    assert counted == [before[0] + 1]


def test_a_socket_ping_counts_and_a_socket_is_gauged_while_open(demo, token):
    ck = cookie_for(demo["rider1"])
    before = (sample("delivery_pings_total", kind="socket", outcome="accepted"),
              sample("delivery_ping_ack_seconds_count", kind="socket"), sample("delivery_open_sockets", role="rider"))
    seen = {}

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", ck)
        assert ok
        seen["open"] = sample("delivery_open_sockets", role="rider")
        await comm.send_json_to({"type": "location", "lat": 51.503, "lng": -0.115, "accuracy": 8,
                                 "timestamp": time.time() * 1000, "seq": 1})
        ack = await comm.receive_json_from(timeout=3)
        assert ack["type"] == "location.ack" and ack["accepted"] is True
        await comm.disconnect()

    async_to_sync(scenario)()
    assert seen["open"] == before[2] + 1
    assert sample("delivery_open_sockets", role="rider") == before[2]
    assert sample("delivery_pings_total", kind="socket", outcome="accepted") == before[0] + 1
    assert sample("delivery_ping_ack_seconds_count", kind="socket") == before[1] + 1


def test_a_refused_socket_is_not_gauged(demo, token):
    before = sample("delivery_open_sockets", role="rider")

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", None)  # no login
        assert not ok

    async_to_sync(scenario)()
    assert sample("delivery_open_sockets", role="rider") == before


# --- the database's figures -------------------------------------------------------------------------------------


def test_the_figures(demo, assigned_order):
    now = timezone.now()
    order = Order.objects.get(pk=assigned_order["id"])
    user = demo["dispatcher1"]
    Grant.objects.all().delete()
    Grant.objects.create(order=order, principal=user, scope=GrantScope.ADDRESS, tier=Tier.STREET,
                         purpose=GrantPurpose.DELIVERY, expires_at=now + timedelta(hours=1))
    Grant.objects.create(order=order, principal=user, scope=GrantScope.CONTACT, purpose=GrantPurpose.EMERGENCY,
                         expires_at=now - timedelta(seconds=90))  # overdue: the sweep has not revoked it
    Grant.objects.create(order=order, principal=user, scope=GrantScope.ADDRESS, tier=Tier.DOOR,
                         purpose=GrantPurpose.DELIVERY, expires_at=now - timedelta(hours=2), revoked_at=now)
    Event.objects.update(sent_at=now)
    stuck = Event.objects.create(group="rider.1", type="x", payload={})
    Event.objects.filter(pk=stuck.pk).update(created_at=now - timedelta(seconds=40), sent_at=None)
    AuditEvent.objects.create(at=now - timedelta(days=3), action="breakglass.used", prev_hash="0", hash="1")
    AuditEvent.objects.create(at=now - timedelta(hours=1), action="breakglass.used", prev_hash="1", hash="2")
    f = metrics_figures(now=now)
    assert f.grants_by_tier == {"area": 0, "street": 1, "door": 0, "contact": 0}
    assert f.revocation_lag_s == pytest.approx(90, abs=1)
    assert f.outbox_lag_s == pytest.approx(40, abs=1)
    assert (f.break_glass_total, f.break_glass_day) == (2, 1)
    assert (f.webhook_deliveries_failed, f.webhook_endpoints_failing) == (0, 0)
    assert f.audit_anchor_age_s is None  # no checkpoint taken in this test's database


def test_the_audit_anchors_age(demo):
    from dispatch.services.audit import audit_checkpoint, audit_record

    audit_record(action="test.event")
    assert audit_checkpoint().ok
    f = metrics_figures(now=timezone.now() + timedelta(minutes=5))
    assert f.audit_anchor_age_s == pytest.approx(300, abs=5)


def test_the_scrape_costs_six_queries(demo, assigned_order, django_assert_num_queries):
    exposition()  # warm: nothing cached makes a later scrape cheaper, but be fair to lazy imports
    with django_assert_num_queries(6):
        exposition()


# --- labels -------------------------------------------------------------------------------------------------------


def test_no_label_is_an_id_a_token_or_the_customers(demo, rider1, assigned_order, token):
    tracking = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[-1]
    rider1.post("/api/rider/location/", {"lat": 51.503, "lng": -0.115, "accuracy": 10,
                                         "timestamp": time.time() * 1000, "seq": 1}, format="json")
    text = scrape()
    assert tracking not in text
    values = [v for f in text_string_to_metric_families(text) for s in f.samples for k, v in s.labels.items()
              if k != "le"]
    assert values
    for value in values:
        assert not re.fullmatch(r"\d+", value), value
        assert not re.fullmatch(r"[0-9a-fA-F]{12,}", value), value
        assert len(value) < 40, value
        assert CUSTOMER_NAME.split()[0].lower() not in value.lower()
        assert re.sub(r"\D", "", CUSTOMER_PHONE)[-6:] not in re.sub(r"\D", "", value) or not re.sub(r"\D", "", value)


# --- several processes --------------------------------------------------------------------------------------------

_CHILD = """
from dispatch.instruments import OPEN_SOCKETS, PINGS, ping_observe
import time
ping_observe(kind="socket", outcome="accepted", started=time.perf_counter())
OPEN_SOCKETS.labels(role="rider").inc()
"""


def test_several_processes_instruments_are_summed(tmp_path):
    """prometheus_client's multiprocess mode with our instruments: two server processes' pings add up."""
    import subprocess
    import sys

    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": "."}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True, timeout=60)  # noqa: S603
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("delivery_pings_total", {"kind": "socket", "outcome": "accepted"}) == 2
    assert registry.get_sample_value("delivery_ping_ack_seconds_count", {"kind": "socket"}) == 2
    # Both processes have exited: a live sum counts no socket of theirs.
    assert registry.get_sample_value("delivery_open_sockets", {"role": "rider"}) in (None, 0)


def test_the_dashboard_and_the_alerts_name_only_what_the_scrape_exposes(demo, token):
    """deploy/monitoring/: a renamed metric would leave a panel blank and an alert silent."""
    import json
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parent.parent / "deploy" / "monitoring"
    exprs = [t["expr"] for p in json.loads((root / "grafana-dashboard.json").read_text())["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in yaml.safe_load((root / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    parsed = list(text_string_to_metric_families(scrape()))
    exposed = {f.name for f in parsed} | {s.name for f in parsed for s in f.samples}  # a family may be empty
    named = {n for e in exprs for n in re.findall(r"\b(?:delivery|process)_[a-z0-9_]+", e)}
    assert named and named - exposed == set()
    assert {"delivery_ping_ack_seconds_bucket", "delivery_revocation_lag_seconds",
            "delivery_audit_anchor_age_seconds"} <= named


def test_drops_are_every_servers_sum_by_group_kind(demo, token):
    """The overload endpoint's `all_servers` totals (shared through the cache), as two processes would add them."""
    from dispatch.live.layers import shared_add

    shared_add({"track": 2, "rider": 1})
    shared_add({"track": 3})
    got = families(scrape())
    assert {s.labels["kind"]: s.value for s in got["delivery_frames_dropped"].samples} == {"track": 5, "rider": 1}
    assert got["delivery_frames_dropped_all"].samples[0].value == 6


def test_the_celery_queue_depth_on_the_filesystem_transport(settings, tmp_path):
    """kombu's filesystem transport keeps one `<ms>_<uuid>.<queue>.msg` file a waiting message."""
    from dispatch.metrics import celery_queue_depth

    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert celery_queue_depth() == 0
    for name in ("1_a.celery.msg", "2_b.celery.msg", "3_c.other.msg", "4_d.celery.tmp"):
        (tmp_path / name).write_text("{}")
    assert celery_queue_depth() == 2
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "gone")}
    assert celery_queue_depth() is None  # unreadable: reported as -1, the scrape still answers

# ruff: noqa: S311 - a seeded simulation, nothing secret
"""A month of history for the accountability report: `manage.py seed_month --days 30`.

Deterministic for a seed (random.Random). Every order is made through `order_create` (so each has its vault
record, masked columns and items), then dated into the past and walked to an end state: delivered (some late),
cancelled, or failed and returned. Around them: the audit reads a delivery makes (the rider's address at each
tier, the geofence's reads, contact reads when number protection is off, sensitive items), masked calls and
chats, break-glass uses with reasons, withdrawn marketing consent, and orders older than the retention window:
most shredded by the sweep, some still overdue. Everything ends before `now`; no order is left open, so the
live demo's board and riders are untouched.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

BREAK_GLASS_REASONS = [
    "Rider fell off the bike at the door, customer not answering, need to call",
    "Customer reported a medical emergency in chat; call back on 13800138000",
    "Wrong building, rider waited 10 min, door code 4471 does not work",
    "顾客电话无人接听，骑手在门口等待超过十分钟",
    "Police asked for contact about an accident near the delivery address",
]
NAMES = ["Zhang Wei", "Li Na", "Wang Fang", "Liu Yang", "Chen Jie", "Amy Clark", "Tom Reed", "Sara Khan"]


def _customer(rng: random.Random, i: int) -> dict[str, Any]:
    return {"name": rng.choice(NAMES), "phone": f"+86 139{rng.randrange(10**7, 10**8)}",
            "address": {"area": rng.choice(["Waterloo", "Lambeth", "Southwark", "Vauxhall"]),
                        "street": f"{rng.randrange(1, 200)} Example Road", "building": f"Block {i % 7 + 1}",
                        "unit": f"{rng.randrange(1, 30)}", "notes": ""},
            "lat": 51.50 + rng.uniform(-0.01, 0.01), "lng": -0.12 + rng.uniform(-0.01, 0.01)}


def seed_month(*, days: int = 30, per_day: int = 30, old: int = 24, seed: int = 7,
               now: datetime | None = None) -> dict[str, int]:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from dispatch.models import Dispatcher, Interaction, Merchant, Order, Rider, SealedRecord, Staff, Store
    from dispatch.services.audit import audit_record_many
    from dispatch.services.orders import order_create
    from dispatch.services.privacy import order_shred, party_hash

    rng = random.Random(seed)
    now = now or timezone.now()
    tz = timezone.get_default_timezone()
    stores = list(Store.objects.order_by("pk"))
    if not stores:
        raise ValueError("No stores: run demo_data first.")
    merchants = {s.pk: Merchant.objects.filter(stores=s).order_by("pk").first() for s in stores}
    platform = list(Rider.objects.filter(fleet__isnull=True).select_related("user").order_by("pk"))
    own = {m.pk: list(Rider.objects.filter(fleet=m).select_related("user").order_by("pk"))
           for m in Merchant.objects.all()}
    dispatchers = [d.user for d in Dispatcher.objects.filter(fleet_scope="").select_related("user").order_by("pk")]
    clerks = {s.pk: next(iter(Staff.objects.filter(store=s).select_related("user").order_by("pk")), None)
              for s in stores}
    if not platform or not dispatchers:
        raise ValueError("Needs platform riders and a dispatcher: run demo_data first.")

    audit: list[dict[str, Any]] = []
    interactions: list[tuple[Interaction, datetime]] = []
    made = {"orders": 0, "delivered": 0, "cancelled": 0, "returned": 0, "old": 0, "shredded": 0, "overdue": 0,
            "break_glass": 0, "audit_events": 0, "interactions": 0}

    def read(at, actor, action, order, **data):
        audit.append({"at": at, "actor": actor, "action": action, "order": order, "data": data})

    def talk(order, kind, caller, callee, at, outcome):
        row = Interaction(order=order, kind=kind, caller_role=caller, caller_hash=party_hash(caller, order.pk),
                          callee_role=callee, callee_hash=party_hash(callee, order.pk), state="ended",
                          outcome=outcome, ended_by=caller, answered_at=at if outcome == "completed" else None,
                          ended_at=at + timedelta(seconds=rng.randrange(20, 180)))
        interactions.append((row, at))

    def one_order(i: int, created: datetime, *, final: bool) -> Order:
        store = rng.choice(stores)
        merchant = merchants[store.pk]
        consent = {"number_protection": rng.random() < 0.9, "marketing": rng.random() < 0.3}
        items = [{"name": "Noodles", "qty": 1}] + ([{"name": "Ibuprofen", "qty": 1, "sensitive": True}]
                                                  if rng.random() < 0.1 else [])
        order = order_create(merchant=merchant, store=store, external_ref=f"seed-{seed}-{i}",
                             customer=_customer(rng, i), items=items, consent=consent)
        fleet = own.get(merchant.pk) if merchant else None
        rider = rng.choice(fleet) if fleet and rng.random() < 0.3 else rng.choice(platform)
        roll = rng.random()
        outcome = "delivered" if roll < 0.84 else "cancelled" if roll < 0.92 else "returned"
        f: dict[str, Any] = {"created_at": created, "business_date": created.astimezone(tz).date(),
                             "promised_at": created + timedelta(minutes=45),
                             "retention_due_at": created + timedelta(days=settings.RETENTION_DAYS),
                             "tracking_expires_at": created + timedelta(days=1)}
        assigned = created + timedelta(seconds=rng.randrange(60, 420))
        ready = created + timedelta(seconds=rng.randrange(480, 1500))
        if outcome == "cancelled" and rng.random() < 0.5:  # before anyone rode out
            f.update(status="cancelled", cancelled_at=assigned, cancelled_by="merchant", cancel_reason="customer")
        else:
            f.update(rider=rider, assigned_at=assigned, ready_at=ready)
            picked = ready + timedelta(seconds=int(rng.lognormvariate(5.3, 0.7)))  # median ~3.3 min at the counter
            who = rider.user
            read(assigned + timedelta(seconds=5), who, "address.read", order, purpose="delivery", tier="area")
            read(assigned + timedelta(seconds=6), None, "destination.read", order, purpose="geofence")
            if outcome == "cancelled":
                f.update(status="cancelled", cancelled_at=ready, cancelled_by="dispatch", cancel_reason="store_closed")
            else:
                f["picked_up_at"] = picked
                ride = timedelta(seconds=rng.randrange(420, 1560))
                near = picked + ride * 0.8
                read(near, who, "address.read", order, purpose="delivery", tier="street")
                read(picked + ride * 0.95, who, "address.read", order, purpose="delivery", tier="door")
                if items[-1].get("sensitive"):
                    read(picked + timedelta(seconds=30), who, "items.read", order, purpose="delivery")
                if not consent["number_protection"]:
                    read(near, who, "contact.read", order, purpose="delivery")
                if rng.random() < 0.3:
                    talk(order, "call", "rider", "customer", near, "completed" if rng.random() < 0.8 else "missed")
                if rng.random() < 0.05:
                    read(near, None, "call.customer_digest", order, purpose="call_routing")
                    talk(order, "phone", "rider", "customer", near, "completed")
                for k in range(rng.choice([0, 0, 1, 2, 3])):
                    talk(order, "chat", rng.choice(["rider", "customer"]), "customer" if k % 2 else "rider",
                         picked + timedelta(seconds=60 * (k + 1)), "sent")
                if outcome == "delivered":
                    f.update(status="delivered", delivered_at=picked + ride)
                    if rng.random() < 0.04:
                        read(picked + ride + timedelta(hours=2), who, "contact.read", order, purpose="after_sales")
                else:
                    f.update(status="returned", failed_at=picked + ride, fail_reason="unreachable",
                             returning_at=picked + ride, returned_at=picked + ride + ride)
                if rng.random() < 0.04:
                    desk = rng.choice(dispatchers)
                    at = picked + ride * 0.9
                    reason = rng.choice(BREAK_GLASS_REASONS)
                    read(at, desk, "breakglass.used", order, reason=reason[:300])
                    read(at, desk, "contact.read", order, purpose="emergency", reason=reason)
                    made["break_glass"] += 1
                if clerks.get(store.pk) and items[-1].get("sensitive") and rng.random() < 0.5:
                    read(ready, clerks[store.pk].user, "items.read", order, purpose="delivery")
        if consent["marketing"] and rng.random() < 0.1:
            f["consent_marketing"] = False
            read(created + timedelta(hours=1), None, "consent.withdrawn", order, marketing=False)
        Order.objects.filter(pk=order.pk).update(**f)
        made[f["status"]] += final
        return order

    with transaction.atomic():
        start = datetime.combine((now - timedelta(days=days - 1)).astimezone(tz).date(), time(10), tzinfo=tz)
        i = 0
        for d in range(days):
            for _ in range(max(1, per_day + rng.randrange(-per_day // 4, per_day // 4 + 1))):
                created = start + timedelta(days=d, seconds=rng.randrange(0, 11 * 3600))
                if created + timedelta(hours=4) > now:
                    continue  # nothing in the future, nothing left open
                one_order(i, created, final=True)
                i += 1
                made["orders"] += 1
        # Older than the window: due for shredding inside the month. The sweep shredded most; some are overdue.
        for k in range(old):
            back = rng.randrange(1, max(2, days - 1))  # due inside the period, whatever the hour now
            created = now - timedelta(days=settings.RETENTION_DAYS + back, hours=rng.randrange(0, 12))
            order = one_order(i, created, final=False)
            i += 1
            made["old"] += 1
            due = created + timedelta(days=settings.RETENTION_DAYS)
            if k % 4 != 3:  # three in four shredded on time, the fourth overdue
                order_shred(order=order)
                SealedRecord.objects.filter(order=order).update(shredded_at=due + timedelta(minutes=rng.randrange(1, 60)))
                made["shredded"] += 1
            else:
                made["overdue"] += 1
        audit.sort(key=lambda e: e["at"])
        for k in range(0, len(audit), 500):
            audit_record_many(audit[k:k + 500])
        made["audit_events"] = len(audit)
        rows = Interaction.objects.bulk_create([row for row, _ in interactions])
        for row, (_, at) in zip(rows, interactions, strict=True):
            Interaction.objects.filter(pk=row.pk).update(started_at=at)
        made["interactions"] = len(rows)
    return made

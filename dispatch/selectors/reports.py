"""The accountability report: who read which personal data and why, break-glass, consent, retention, calls and
chats, the audit chain's verdict, and the operations figures (counts and timings per store, fleet and day).

Read-only, and it opens no vault: every figure comes from the audit log's labels (party, purpose, tier) and the
orders' masked columns. A report is scoped: `store_ids=None` is the platform's (a dispatch admin's); a merchant's
names its stores, and then every figure counts only orders of those stores, and break-glass reasons are left out.
What each figure means: docs/privacy-report.md.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from ..models import AuditEvent, Dispatcher, Interaction, Merchant, Order, OrderStatus, ProxySession, Rider, Staff
from ..services.audit import audit_verify
from ..services.fleets import PLATFORM, merchant_fleet

# The audit actions that mark plain data leaving the vault (services/privacy.py: each is a `vault_open`).
PII_READS = frozenset({
    "address.read", "contact.read", "destination.read", "items.read", "chat.read", "vault.opened",
    "call.customer_digest", "call.customer_number_used", "block.customer_digest",
})
PARTIES = ("rider", "staff", "dispatcher", "merchant", "system", "other")
REASON_MAX = 60  # characters of a break-glass reason a dispatch admin sees
OPS_METRICS = ("orders", "completed", "failed", "cancelled", "returned", "late",
               "pickup_wait_p50_s", "pickup_wait_p90_s", "delivery_p50_s", "delivery_p90_s")


def mask_reason(reason: str) -> str:
    """A break-glass reason as a dispatch admin sees it: one line, every run of 3+ digits (a phone number, a
    door code, a flat) as •••, cut at REASON_MAX characters. Free text may still name someone: merchants never
    see it at all."""
    text = re.sub(r"\s+", " ", reason or "").strip()
    text = re.sub(r"\d[\d\s\-]{1,}\d", lambda m: "•••" if sum(c.isdigit() for c in m.group()) >= 3 else m.group(),
                  text)
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (a value that occurred), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the site's time zone: both days included."""
    tz = timezone.get_default_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def merchant_store_ids(merchant: Merchant) -> list[int]:
    return sorted(merchant.stores.values_list("pk", flat=True))


def report_admin(user) -> bool:
    """Dispatchers with the reports_admin flag (and superusers) read the platform's report."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return Dispatcher.objects.filter(user=user, reports_admin=True).exists()


def _parties(user_ids: set[int]) -> dict[int, str]:
    roles: dict[int, str] = {}
    for role, model in (("merchant", Merchant), ("dispatcher", Dispatcher), ("staff", Staff), ("rider", Rider)):
        for uid in model.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True):
            roles[uid] = role  # the last wins, in the order role_of() checks them (rider first)
    return roles


def _pii_reads(events) -> dict[str, Any]:
    """Counted in the database per (actor, purpose, tier): a month's reads never come into memory one by one."""
    groups = list(events.filter(action__in=PII_READS)
                  .values("actor_id", purpose=KT("data__purpose"), tier=KT("data__tier"))
                  .annotate(n=Count("id")).order_by())
    roles = _parties({g["actor_id"] for g in groups if g["actor_id"]})
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for g in groups:
        party = "system" if g["actor_id"] is None else roles.get(g["actor_id"], "other")
        counts[(party, str(g["purpose"] or "-"), str(g["tier"] or "-"))] += g["n"]
    table = [{"party": p, "purpose": u, "tier": t, "count": n} for (p, u, t), n in sorted(counts.items())]
    return {"total": sum(counts.values()), "rows": table}


def _break_glass(events, *, reasons: bool) -> dict[str, Any]:
    uses = events.filter(action="breakglass.used").order_by("at", "id")
    out: dict[str, Any] = {"count": uses.count()}
    if reasons:
        out["uses"] = [{"at": e.at.isoformat(), "actor": e.actor_label, "order": e.order_id,
                        "reason": mask_reason(str((e.data or {}).get("reason", "")))} for e in uses]
    return out


def _consent(orders, events) -> dict[str, Any]:
    n = orders.count()
    protected = orders.filter(consent_number_protection=True).count()
    marketing = orders.filter(consent_marketing=True).count()
    withdrawn = events.filter(action="consent.withdrawn").count()

    def pct(k: int) -> float | None:
        return round(100 * k / n, 1) if n else None

    return {"orders": n, "number_protection": protected, "number_protection_pct": pct(protected),
            "marketing": marketing, "marketing_pct": pct(marketing), "marketing_withdrawn": withdrawn}


def _retention(scoped, *, start: datetime, end: datetime, as_of: datetime) -> dict[str, Any]:
    held_at = Q(sealed__shredded_at__isnull=True) | Q(sealed__shredded_at__gt=as_of)  # still plaintext at as_of
    overdue = scoped.filter(held_at, retention_due_at__lte=as_of)
    oldest_due = overdue.aggregate(m=Min("retention_due_at"))["m"]
    worst = overdue.order_by("retention_due_at", "pk").values_list("pk", flat=True).first()
    oldest_held = scoped.filter(held_at, created_at__lte=as_of).aggregate(m=Min("created_at"))["m"]
    return {
        "retention_days": settings.RETENTION_DAYS,
        "due": scoped.filter(retention_due_at__gte=start, retention_due_at__lt=end).count(),
        "shredded": scoped.filter(sealed__shredded_at__gte=start, sealed__shredded_at__lt=end).count(),
        "overdue": overdue.count(),
        "oldest_overdue_s": int((as_of - oldest_due).total_seconds()) if oldest_due else None,
        "oldest_overdue_order": worst,
        "oldest_plaintext_age_s": int((as_of - oldest_held).total_seconds()) if oldest_held else None,
    }


def _calls(*, store_ids, start: datetime, end: datetime) -> dict[str, Any]:
    inter = Interaction.objects.filter(started_at__gte=start, started_at__lt=end)
    sessions = ProxySession.objects.filter(created_at__gte=start, created_at__lt=end)
    if store_ids is not None:
        inter = inter.filter(order__store_id__in=store_ids)
        sessions = sessions.filter(order__store_id__in=store_ids)
    by_kind: dict[str, int] = defaultdict(int)
    completed: dict[str, int] = defaultdict(int)
    for row in inter.values("kind").annotate(n=Count("id"), done=Count("id", filter=Q(outcome="completed"))).order_by():
        by_kind[row["kind"]], completed[row["kind"]] = row["n"], row["done"]
    return {"in_app_calls": by_kind["call"], "in_app_calls_completed": completed["call"],
            "phone_calls": by_kind["phone"], "chat_messages": by_kind["chat"], "proxy_sessions": sessions.count()}


def _ops_row(key: str, orders: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [(o["picked_up_at"] - o["ready_at"]).total_seconds() for o in orders
             if o["ready_at"] and o["picked_up_at"] and o["picked_up_at"] >= o["ready_at"]]
    rides = [(o["delivered_at"] - o["picked_up_at"]).total_seconds() for o in orders
             if o["picked_up_at"] and o["delivered_at"] and o["delivered_at"] >= o["picked_up_at"]]

    def p(values, q):
        v = percentile(values, q)
        return None if v is None else int(round(v))

    return {
        "key": key,
        "orders": len(orders),
        "completed": sum(o["status"] == OrderStatus.DELIVERED for o in orders),
        "failed": sum(o["failed_at"] is not None for o in orders),
        "cancelled": sum(o["status"] == OrderStatus.CANCELLED for o in orders),
        "returned": sum(o["status"] == OrderStatus.RETURNED for o in orders),
        "late": sum(bool(o["delivered_at"] and o["promised_at"] and o["delivered_at"] > o["promised_at"])
                    for o in orders),
        "pickup_wait_p50_s": p(waits, 50), "pickup_wait_p90_s": p(waits, 90),
        "delivery_p50_s": p(rides, 50), "delivery_p90_s": p(rides, 90),
    }


def _operations(orders) -> dict[str, Any]:
    rows = list(orders.values("pk", "status", "store_id", "store__name", "rider_id", "rider__fleet_id", "business_date",
                              "promised_at", "ready_at", "picked_up_at", "delivered_at", "failed_at"))
    groups: dict[str, dict[str, list]] = {"store": defaultdict(list), "fleet": defaultdict(list),
                                          "day": defaultdict(list)}
    for o in rows:
        groups["store"][f"{o['store_id']} {o['store__name']}"].append(o)
        fleet = ("unassigned" if o["rider_id"] is None
                 else merchant_fleet(o["rider__fleet_id"]) if o["rider__fleet_id"] else PLATFORM)
        groups["fleet"][fleet].append(o)
        groups["day"][o["business_date"].isoformat()].append(o)
    return {"total": _ops_row("total", rows),
            **{f"by_{name}": [_ops_row(k, v) for k, v in sorted(g.items())] for name, g in groups.items()}}


def privacy_report(*, start: date, end: date, store_ids: list[int] | None = None, reasons: bool = False,
                   now: datetime | None = None, verify: bool = True) -> dict[str, Any]:
    """The report for the days start..end (both included). `store_ids` None: every store. `reasons`: include
    the break-glass reasons (masked; dispatch admins only)."""
    now = now or timezone.now()
    lo, hi = period_bounds(start, end)
    as_of = min(now, hi)
    scoped = Order.objects.all() if store_ids is None else Order.objects.filter(store_id__in=store_ids)
    events = AuditEvent.objects.filter(at__gte=lo, at__lt=hi)
    if store_ids is not None:
        events = events.filter(order__store_id__in=store_ids)
    orders = scoped.filter(created_at__gte=lo, created_at__lt=hi)
    verdict = audit_verify() if verify else None
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat(), "as_of": as_of.isoformat()},
        "scope": {"stores": "all" if store_ids is None else list(store_ids)},
        "pii_reads": _pii_reads(events),
        "break_glass": _break_glass(events, reasons=reasons),
        "consent": _consent(orders, events),
        "retention": _retention(scoped, start=lo, end=hi, as_of=as_of),
        "calls": _calls(store_ids=store_ids, start=lo, end=hi),
        "audit_chain": None if verdict is None else {"ok": verdict.ok, "events": verdict.count,
                                                     "broken_at": verdict.broken, "problem": verdict.problem},
        "operations": _operations(orders.order_by("pk")),
    }


# --- Flat forms: CSV rows -------------------------------------------------------------------------------


def report_rows(report: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """The report as (section, key, metric, value) rows: what the CSV holds, line for line."""
    out: list[tuple[str, str, str, Any]] = []
    for r in report["pii_reads"]["rows"]:
        out.append(("pii_reads", f"{r['party']}/{r['purpose']}/{r['tier']}", "count", r["count"]))
    out.append(("pii_reads", "total", "count", report["pii_reads"]["total"]))
    out.append(("break_glass", "total", "count", report["break_glass"]["count"]))
    for use in report["break_glass"].get("uses", []):
        out.append(("break_glass", f"order {use['order']} {use['at']} {use['actor']}", "reason", use["reason"]))
    for section in ("consent", "retention", "calls"):
        out.extend((section, "total", metric, value) for metric, value in report[section].items())
    if report["audit_chain"] is not None:
        out.extend(("audit_chain", "total", m, v) for m, v in report["audit_chain"].items())
    out.extend(operations_rows(report))
    return out


def operations_rows(report: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    ops = report["operations"]
    out = []
    for group, rows in (("total", [ops["total"]]), ("store", ops["by_store"]), ("fleet", ops["by_fleet"]),
                        ("day", ops["by_day"])):
        for row in rows:
            out.extend((f"operations_{group}", row["key"], m, row[m]) for m in OPS_METRICS)
    return out

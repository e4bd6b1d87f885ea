"""The accountability pages: the platform's report for dispatch admins, a merchant's report of its own stores,
their CSV downloads, and the privacy notice. Reads only (dispatch/selectors/reports.py)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from ..permissions import merchant_of
from ..selectors.reports import (
    OPS_METRICS,
    merchant_store_ids,
    operations_rows,
    privacy_report,
    report_admin,
    report_rows,
)

MAX_DAYS = 366
PARTY_LABELS = {"rider": _("Riders"), "staff": _("Store staff"), "dispatcher": _("Dispatchers"),
                "merchant": _("Merchant systems"), "system": _("The system (geofence, call routing)"),
                "other": _("Other accounts")}
PURPOSE_LABELS = {"delivery": _("Delivery"), "after_sales": _("After-sales call"), "emergency": _("Emergency"),
                  "geofence": _("Address reveal check"), "call_routing": _("Call routing"),
                  "rider_block": _("Rider block"), "-": "-"}
TIER_LABELS = {"area": _("Area"), "street": _("Street"), "door": _("Door"), "-": "-"}


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and not (0 <= (end - start).days < MAX_DAYS):
            raise forms.ValidationError(_("Choose a period of 1 to 366 days, the first day first."))
        return data


def _period(request) -> tuple[PeriodForm, date, date]:
    today = timezone.localdate()
    default = {"start": today - timedelta(days=29), "end": today}
    if "start" in request.GET or "end" in request.GET:
        form = PeriodForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["start"], form.cleaned_data["end"]
        return form, default["start"], default["end"]
    return PeriodForm(initial=default), default["start"], default["end"]


def _minutes(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def _display(report: dict[str, Any]) -> dict[str, Any]:
    """Labels for the page: translated parties, purposes and tiers, durations in minutes."""
    reads = [{**r, "party_label": PARTY_LABELS.get(r["party"], r["party"]),
              "purpose_label": PURPOSE_LABELS.get(r["purpose"], r["purpose"]),
              "tier_label": TIER_LABELS.get(r["tier"], r["tier"])} for r in report["pii_reads"]["rows"]]
    ops = report["operations"]

    def rows(items):
        return [{**r, **{m: _minutes(r[m]) for m in OPS_METRICS if m.endswith("_s")}} for r in items]

    retention = report["retention"]
    return {"reads": reads, "ops_total": rows([ops["total"]])[0], "ops_store": rows(ops["by_store"]),
            "ops_fleet": rows(ops["by_fleet"]), "ops_day": rows(ops["by_day"]),
            "oldest_overdue_days": None if retention["oldest_overdue_s"] is None
            else round(retention["oldest_overdue_s"] / 86400, 1),
            "oldest_plaintext_days": None if retention["oldest_plaintext_age_s"] is None
            else round(retention["oldest_plaintext_age_s"] / 86400, 1)}


def _csv(report: dict[str, Any], part: str, start: date, end: date, prefix: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{prefix}-{part}-{start}-{end}.csv"'
    writer = csv.writer(response)
    if part == "operations":
        writer.writerow(["group", "key", *OPS_METRICS])
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for group, key, metric, value in operations_rows(report):
            table.setdefault((group.removeprefix("operations_"), key), {})[metric] = value
        for (group, key), values in table.items():
            writer.writerow([group, key, *("" if values[m] is None else values[m] for m in OPS_METRICS)])
    else:
        writer.writerow(["section", "key", "metric", "value"])
        writer.writerows(("" if v is None else v for v in row) for row in report_rows(report))
    return response


def _page(request, *, store_ids, reasons: bool, template: str, csv_base: str, extra: dict | None = None):
    form, start, end = _period(request)
    report = privacy_report(start=start, end=end, store_ids=store_ids, reasons=reasons)
    query = f"?start={start.isoformat()}&end={end.isoformat()}"
    view = _display(report)
    tables = [(_("All orders"), [view["ops_total"]]), (_("Per store"), view["ops_store"]),
              (_("Per fleet"), view["ops_fleet"]), (_("Per day"), view["ops_day"])]
    return render(request, template, {"form": form, "report": report, "view": view, "ops_tables": tables,
                                      "csv_privacy": f"{csv_base}privacy.csv{query}",
                                      "csv_operations": f"{csv_base}operations.csv{query}", **(extra or {})})


@never_cache
@login_required
def admin_report(request):
    if not report_admin(request.user):
        return render(request, "wrong_role.html", {"wanted": _("dispatch admin")}, status=403)
    return _page(request, store_ids=None, reasons=True, template="reports/admin.html", csv_base="/dispatch/reports/")


@never_cache
@login_required
def admin_report_csv(request, part: str):
    if part not in ("privacy", "operations"):
        raise Http404
    if not report_admin(request.user):
        return render(request, "wrong_role.html", {"wanted": _("dispatch admin")}, status=403)
    _form, start, end = _period(request)
    return _csv(privacy_report(start=start, end=end, reasons=True), part, start, end, "platform")


@never_cache
@login_required
def merchant_report(request):
    merchant = merchant_of(request.user)
    if merchant is None:
        return render(request, "wrong_role.html", {"wanted": _("merchant")}, status=403)
    return _page(request, store_ids=merchant_store_ids(merchant), reasons=False, template="reports/merchant.html",
                 csv_base="/portal/reports/", extra={"stores": merchant.stores.order_by("pk"), "nav": "reports"})


@never_cache
@login_required
def merchant_report_csv(request, part: str):
    if part not in ("privacy", "operations"):
        raise Http404
    merchant = merchant_of(request.user)
    if merchant is None:
        return render(request, "wrong_role.html", {"wanted": _("merchant")}, status=403)
    _form, start, end = _period(request)
    report = privacy_report(start=start, end=end, store_ids=merchant_store_ids(merchant), reasons=False)
    return _csv(report, part, start, end, f"merchant-{merchant.pk}")


@never_cache
def privacy_notice(request):
    """One screen, for customers: what is kept, who sees what when, for how long (the real setting), how to
    withdraw consent and whom to ask."""
    return render(request, "reports/privacy.html", {
        "retention_days": settings.RETENTION_DAYS, "contact": settings.PRIVACY_CONTACT,
        "history_days": settings.LOCATION_HISTORY_DAYS, "revoke_min": max(1, settings.ACCESS_REVOKE_AFTER_S // 60),
        "call_window_min": max(1, settings.CALL_WINDOW_S // 60), "link_hours": max(1, settings.TRACKING_LINK_TTL_S // 3600),
    })

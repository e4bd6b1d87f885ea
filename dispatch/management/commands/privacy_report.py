"""`manage.py privacy_report --from 2026-11-01 --to 2026-11-30 [--format text|json|csv] [--merchant ID]`: the
accountability report (dispatch/selectors/reports.py; figures explained in docs/privacy-report.md)."""

from __future__ import annotations

import csv
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from dispatch.models import Merchant
from dispatch.selectors.reports import merchant_store_ids, privacy_report, report_rows


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {text!r}") from exc


class Command(BaseCommand):
    help = "Privacy and operations report for a period: PII reads, break-glass, consent, retention, calls, audit."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True)
        parser.add_argument("--to", dest="end", required=True)
        parser.add_argument("--format", choices=["text", "json", "csv"], default="text")
        parser.add_argument("--merchant", type=int, help="only this merchant's stores (no break-glass reasons)")

    def handle(self, *args, start: str, end: str, format: str, merchant: int | None, **options):
        lo, hi = _day(start), _day(end)
        if hi < lo:
            raise CommandError("--to is before --from.")
        stores = None
        if merchant is not None:
            found = Merchant.objects.filter(pk=merchant).first()
            if found is None:
                raise CommandError(f"No merchant {merchant}.")
            stores = merchant_store_ids(found)
        report = privacy_report(start=lo, end=hi, store_ids=stores, reasons=merchant is None)
        if format == "json":
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        elif format == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(["section", "key", "metric", "value"])
            writer.writerows(("" if v is None else v for v in row) for row in report_rows(report))
        else:
            self._text(report)

    def _text(self, report) -> None:
        w = self.stdout.write
        p = report["period"]
        w(f"Privacy report {p['from']} .. {p['to']} (as of {p['as_of']}), stores: {report['scope']['stores']}")
        w(f"\nPII reads: {report['pii_reads']['total']}")
        for r in report["pii_reads"]["rows"]:
            w(f"  {r['party']:<11} {r['purpose']:<13} {r['tier']:<7} {r['count']:>7}")
        bg = report["break_glass"]
        w(f"\nBreak-glass uses: {bg['count']}")
        for use in bg.get("uses", []):
            w(f"  {use['at'][:16]} {use['actor']:<12} order {use['order']}: {use['reason']}")
        for section in ("consent", "retention", "calls", "audit_chain"):
            w(f"\n{section.replace('_', ' ').capitalize()}:")
            for k, v in (report[section] or {}).items():
                w(f"  {k}: {v}")
        ops = report["operations"]
        w("\nOperations (key, orders, completed, failed, cancelled, returned, late, wait p50/p90 s, ride p50/p90 s):")
        for group in ("total", "by_store", "by_fleet"):
            for r in ops[group] if group != "total" else [ops["total"]]:
                w(f"  {r['key']:<22} {r['orders']:>6} {r['completed']:>6} {r['failed']:>5} {r['cancelled']:>5} "
                  f"{r['returned']:>5} {r['late']:>5} {r['pickup_wait_p50_s']}/{r['pickup_wait_p90_s']} "
                  f"{r['delivery_p50_s']}/{r['delivery_p90_s']}")
        w(f"  ({len(ops['by_day'])} days: --format csv or json for each day)")

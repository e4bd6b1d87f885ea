"""`make bench-live --lunch-peak`, tiny (embedded, 10 pinging riders, 4 lunch riders, an order every 1.5 s for
about 8 s): orders are posted through the merchant API, auto-dispatch offers them, jobs are accepted, picked up
at the counter, delivered and failed, the tracking sockets stay open, and the bench's lunch lines print sane
numbers. It checks the instrument and the flow, not the server's speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.harness import ROOT


def test_bench_live_runs_the_lunch_peak_beside_the_pings():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-m", "tests.bench_live", "--riders", "10", "--steps", "10",
                          "--step-seconds", "2", "--warmup-seconds", "1", "--idle-seconds", "0", "--no-echo",
                          "--profile", "embedded", "--lunch-peak", "2400", "--lunch-riders", "4",
                          "--lunch-min-seconds", "8", "--lunch-ride-seconds", "0.2", "--lunch-decline-every", "3",
                          "--lunch-fail-every", "2"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout

    def num(pattern: str) -> int:
        m = re.search(pattern, text)
        assert m, (pattern, text[-2500:])
        return int(m.group(1))

    posted, assigned = num(r"orders posted (\d+), "), num(r", assigned (\d+), ")
    delivered, failed = num(r", delivered (\d+), "), num(r", failed (\d+) \(")
    assert posted >= 2 and assigned >= 2, text[-2500:]
    assert delivered >= 1 and failed >= 1, text[-2500:]
    assert delivered + failed <= assigned <= posted
    assert num(r"refused posts (\d+)") == 0 and num(r"job errors (\d+)") == 0
    assert num(r"offers (\d+): ") >= assigned + num(r", declined (\d+), ")  # a decline needs a third offer: not asked
    m = re.search(r"offer-to-phone ms \(created_at to offer.new on the rider socket\): p50 (\d+) p99 (\d+)", text)
    assert m and 0 <= int(m.group(1)) <= int(m.group(2)), text[-2500:]
    assert num(r"tracking sockets opened (\d+), ") == posted  # a page per posted order
    assert num(r", closed early (\d+), ") == 0  # none of them closed under a live order
    assert num(r"frames dropped \(overflow, all servers, during the lunch peak\) (\d+)") >= 0
    assert re.search(r"; alerts dropped \d+ ", text)

"""The geofence benchmark command keeps working against the live path where it now lives (the engine, the ping
with its batched history, the naive path, spaced pings and the rider socket). It asserts no speed: the figures
are for `make bench-geofence`."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db(transaction=True)
def test_bench_geofence_runs_every_path():
    out = StringIO()
    call_command("bench_geofence", decisions=200, pings=40, stdout=out)
    text = out.getvalue()
    assert re.search(r"^engine: 200 decisions, [\d.]+ us per decision$", text, re.M), text
    for label in ("service (cached context, batched history)", "service (naive: reload context, write each fix)",
                  "service (pings 4 s apart per rider)"):
        line = re.search(rf"^{re.escape(label)}: 40 pings, \d+ pings/s, .* (\d+) accepted", text, re.M)
        assert line, (label, text)
    # Fresh fixes 20 ms apart, outside every radius: the first two paths accept every one.
    assert re.search(r"batched history\): 40 pings, .* 40 accepted", text), text
    assert re.search(r"write each fix\): 40 pings, .* 40 accepted", text), text
    assert re.search(r"^  per ping: [\d.]+ cache calls, [\d.]+ database queries$", text, re.M), text
    assert re.search(r"^consumer: 40 pings over the rider socket \(send, decide, ack\), \d+ pings/s", text, re.M), text

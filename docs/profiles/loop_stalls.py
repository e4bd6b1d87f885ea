"""Sum up config/loop_probe.py's stall files: `python docs/profiles/loop_stalls.py [--from T] [--to T] FILE...`
(T: Unix time, as the files' `t`). For each cause, the stalls' number, total and longest time. A stall's cause is
a collection when collections took half of it or more, "no core" when its thread waited for a core for half of it
or more, and otherwise what the loop's thread was seen running most."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict


def cause(stall: dict) -> str:
    ms = stall["ms"]
    gc_ms = sum(s for _, s in stall["gc_ms"])
    if gc_ms >= ms / 2:
        return "collection, generation " + "/".join(sorted({str(g) for g, _ in stall["gc_ms"]}))
    if stall["wait_ms"] >= ms / 2:
        return "no core (waiting to run)"
    if stall["stacks"]:
        where = stall["stacks"][0][0]
        if where.split(" < ")[0] in ("asyncioreactor.py:run", "base_events.py:run_forever"):  # in the loop's C code
            return "in the loop's own code; other threads: " + (stall["busy"][0][0] if stall["busy"] else "none")
        return where
    return "unsampled"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--from", dest="start", type=float, default=0)
    parser.add_argument("--to", dest="end", type=float, default=float("inf"))
    args = parser.parse_args()
    stalls = []
    for name in args.files:
        with open(name) as f:
            stalls += [s for s in map(json.loads, f) if args.start <= s["t"] <= args.end]
    if not stalls:
        print("no stalls")
        return
    span = max(s["t"] for s in stalls) - min(s["t"] for s in stalls) or 1
    by: dict[str, list[float]] = defaultdict(list)
    for s in stalls:
        by[cause(s)].append(s["ms"])
    total = sum(s["ms"] for s in stalls)
    run = sum(s["run_ms"] for s in stalls)
    wait = sum(s["wait_ms"] for s in stalls)
    print(f"{len(stalls)} stalls over {span:.0f} s in {len(args.files)} file(s): {total:.0f} ms stalled "
          f"({run:.0f} on a core, {wait:.0f} waiting for one); >=20 ms: {sum(s['ms'] >= 20 for s in stalls)}, "
          f">=50 ms: {sum(s['ms'] >= 50 for s in stalls)}")
    print(f"{'stalls':>6} {'total ms':>9} {'max ms':>7}  cause")
    for key, times in sorted(by.items(), key=lambda kv: -sum(kv[1]))[:20]:
        print(f"{len(times):>6} {sum(times):>9.0f} {max(times):>7.1f}  {key}")


if __name__ == "__main__":
    main()

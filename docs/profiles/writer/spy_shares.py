# ruff: noqa - a measurement script kept as it was run for docs/profiles/README.md (the batch writer pass)
"""Shares of py-spy raw samples (`py-spy record -f raw`) for the batch writer: python spy_shares.py TAG files..."""
import sys

tag, paths = sys.argv[1], sys.argv[2:]
total = 0
shares = dict.fromkeys(["flush", "flush: waiting on the database", "flush: python", "history insert", "positions save",
                        "loop: fixes_durable", "writer: call_soon_threadsafe"], 0)
for path in paths:
    for line in open(path):
        stack, _, n = line.rstrip().rpartition(" ")
        n = int(n)
        total += n
        frames = [f.split(" (")[0] for f in stack.split(";")]
        if "FixBuffer.flush" in frames:
            shares["flush"] += n
            waiting = any(f in ("Connection.wait", "wait_c") for f in frames)
            shares["flush: waiting on the database" if waiting else "flush: python"] += n
            if "QuerySet.bulk_create" in frames or "_history_insert" in frames:
                shares["history insert"] += n
            if "_positions_save" in frames:
                shares["positions save"] += n
            if "BaseEventLoop.call_soon_threadsafe" in frames:
                shares["writer: call_soon_threadsafe"] += n
        if "fixes_durable" in frames:
            shares["loop: fixes_durable"] += n
print(f"{tag}: {total} samples; " + "; ".join(f"{k} {100 * v / total:.1f} %" for k, v in shares.items()))

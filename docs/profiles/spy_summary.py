"""Inclusive share of all samples per function, from py-spy's raw (collapsed-stack) output.

    python docs/profiles/spy_summary.py 60 out-*.txt
"""

from __future__ import annotations

import collections
import sys


def main(top: int, paths: list[str]) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for path in paths:
        with open(path) as lines:
            for line in lines:
                stack, _, count = line.rstrip().rpartition(" ")
                try:
                    n = int(count)
                except ValueError:
                    continue
                total += n
                seen = set()
                for frame in stack.split(";"):
                    name = frame.split(" (")[0]
                    where = frame.split("(")[-1].split(":")[0].split("/")[-1] if "(" in frame else ""
                    key = f"{name} {where}"
                    if key not in seen:
                        inclusive[key] += n
                        seen.add(key)
    print("total samples", total)
    for key, n in inclusive.most_common(top):
        print(f"{100 * n / max(total, 1):5.1f}%  {key}")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])

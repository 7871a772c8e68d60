"""Flake rate: correct programs graded again and again while the CPU is busy.

    python3 bench/flake.py [--runs N] [--load P]

Every correct fixture and the reference of each assignment, N runs per assignment in all
(default 200), with P busy processes (default: two per core) competing for the CPU. Any failed
check is a false failure: a race in the harness to find and fix.
"""
from __future__ import annotations

import argparse
import os
import sys

from common import assignment_ids
from support import cpu_load, false_failures


def flake_run(runs: int, load: int, out=sys.stdout) -> int:
    false_failures_total = 0
    with cpu_load(load):
        for aid in assignment_ids():
            found = false_failures(aid, runs)
            for line in found:
                print(f"  FALSE FAILURE {line}", file=out)
            false_failures_total += len(found)
            print(f"{aid:<16} {runs} runs, {len(found)} false failures", file=out, flush=True)
    print(f"{false_failures_total} false failures in {runs * len(assignment_ids())} runs "
          f"under {load} busy processes", file=out)
    return false_failures_total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200, help="runs per assignment")
    p.add_argument("--load", type=int, default=2 * (os.cpu_count() or 1),
                   help="busy processes competing for the CPU")
    args = p.parse_args()
    sys.exit(1 if flake_run(args.runs, args.load) else 0)


if __name__ == "__main__":
    main()

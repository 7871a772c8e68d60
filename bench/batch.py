"""Batch speed: a class of identical correct handins graded in one batch, builds included.

    python3 bench/batch.py [-n 50] [-j JOBS]

Copies examples/asgn5/good N times (default 50) into a scratch handin directory, runs
`grade asgn5 HANDIN --out OUT` as a TA would (default -j: the number of cores), and prints the
wall time. Every copy must score full marks; anything else is reported and exits 1.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "examples" / "asgn5" / "good"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="handins in the batch (default 50)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="students graded at once (default: number of cores)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        handin, out = scratch / "handin", scratch / "grade-results"
        for i in range(1, args.n + 1):
            shutil.copytree(GOOD, handin / f"student-{i:03d}", ignore=shutil.ignore_patterns(
                "*.o", "mytalk"))
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "grader", "asgn5", str(handin),
                               "--out", str(out), "-j", str(args.jobs)],
                              cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        wall = time.monotonic() - started
        with open(out / "summary.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        full = [r for r in rows if r["status"] == "graded" and r["score"] == r["max_score"]]
        print(f"{args.n} handins, -j {args.jobs}, {os.cpu_count()} cores: {wall:.1f}s wall "
              f"({wall / args.n:.2f}s per handin); {len(full)} with full marks")
        if done.returncode != 0 or len(full) != args.n:
            sys.stderr.write(done.stderr[-3000:])
            for r in rows:
                if r not in full:
                    print(f"  {r['student']}: {r['status']} {r['score']}/{r['max_score']} "
                          f"{r['reason']}")
            return 1
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

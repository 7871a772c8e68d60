"""Batch speed: a class of identical correct handins graded in one batch, builds included.

    python3 bench/batch.py [-n 50] [-j JOBS]

Copies examples/asgn5/good N times (default 50) into a scratch handin directory, runs
`grade asgn5 HANDIN --out OUT` as a TA would (default -j: the number of cores), and prints the
wall time and the grader's peak memory: the resident memory of the batch process and of its
workers (not of the students' programs or the compiler), sampled while it runs. Every copy must
score full marks; anything else is reported and exits 1.
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

import psutil

ROOT = Path(__file__).resolve().parent.parent
GOOD = ROOT / "examples" / "asgn5" / "good"


def watch_memory(proc: subprocess.Popen, interval: float = 0.05) -> tuple[int, int]:
    """Sample the grader's resident memory until it exits: (peak of the batch process,
    peak of the batch process plus its Python workers)."""
    root = psutil.Process(proc.pid)
    peak_parent = peak_total = 0
    while proc.poll() is None:
        try:
            rss = root.memory_info().rss
            workers = [c for c in root.children() if c.name().startswith("python")]
            total = rss + sum(w.memory_info().rss for w in workers)
        except psutil.Error:
            continue
        peak_parent, peak_total = max(peak_parent, rss), max(peak_total, total)
        time.sleep(interval)     # a sampling rate, not a wait for an event
    return peak_parent, peak_total


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
        proc = subprocess.Popen([sys.executable, "-m", "grader", "asgn5", str(handin),
                                 "--out", str(out), "-j", str(args.jobs)],
                                cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak_parent, peak_total = watch_memory(proc)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        wall = time.monotonic() - started
        with open(out / "summary.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        full = [r for r in rows if r["status"] == "graded" and r["score"] == r["max_score"]]
        print(f"{args.n} handins, -j {args.jobs}, {os.cpu_count()} cores: {wall:.1f}s wall "
              f"({wall / args.n:.2f}s per handin); {len(full)} with full marks")
        print(f"grader peak memory: {peak_total / 2**20:.0f} MiB (batch process "
              f"{peak_parent / 2**20:.0f} MiB + its workers at their largest moment)")
        if proc.returncode != 0 or len(full) != args.n:
            sys.stderr.write(stderr[-3000:])
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

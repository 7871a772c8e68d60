"""Batch speed: a class of handins graded in one batch, builds included.

    python3 bench/batch.py [-n 50] [-j JOBS] [--mix]

Copies examples/asgn5/good N times (default 50) into a scratch handin directory, runs
`grade asgn5 HANDIN --out OUT` as a TA would (default -j: the number of cores), and prints the
wall time and the grader's peak memory: the resident memory of the batch process and of its
workers (not of the students' programs or the compiler), sampled while it runs. Every copy must
score full marks; anything else is reported and exits 1.

--mix grades the mix a real class hands in instead: of every 40 handins, one whose program
hangs in pause() at start, one that aborts at start, four buggy ones (examples/asgn5/buggy)
and 34 correct (use -n 40 or a multiple for the whole mix). The correct ones must score full
marks, the others must be graded and lose points.
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
BUGGY = ROOT / "examples" / "asgn5" / "buggy"
STUDENTS = ROOT / "tests" / "fixtures" / "students"
# One C file and a Makefile written the way a student's is: what a hanging or crashing
# handin looks like.
ONE_FILE_MAKEFILE = ("all: mytalk\n\nmytalk: mytalk.c\n\tgcc -Wall -g"
                     " -I ~pn-cs357/Given/Talk/include -o mytalk mytalk.c"
                     " -L ~pn-cs357/Given/Talk/lib64 -ltalk -lncurses\n")
MIX = ["good"] * 8 + ["pause"] + ["good"] * 10 + ["buggy"] * 2 + ["good"] * 8 + ["abort"] \
    + ["good"] * 8 + ["buggy"] * 2                   # of every 40 handins: 5% hang or crash


def make_handin(kind: str, where: Path) -> None:
    """A handin directory of this kind: good, buggy, pause (hangs at start), abort."""
    if kind in ("good", "buggy"):
        shutil.copytree(GOOD if kind == "good" else BUGGY, where,
                        ignore=shutil.ignore_patterns("*.o", "mytalk"))
        return
    where.mkdir(parents=True)
    shutil.copy(STUDENTS / f"mytalk_{kind}.c", where / "mytalk.c")
    (where / "Makefile").write_text(ONE_FILE_MAKEFILE)


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
    parser.add_argument("--mix", action="store_true",
                        help="a class's mix: of 40, 1 hangs, 1 aborts, 4 buggy")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        handin, out = scratch / "handin", scratch / "grade-results"
        kinds = {}
        for i in range(1, args.n + 1):
            kind = MIX[(i - 1) % len(MIX)] if args.mix else "good"
            kinds[f"student-{i:03d}"] = kind
            make_handin(kind, handin / f"student-{i:03d}")
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
        good = [r for r in rows if kinds.get(r["student"]) == "good"]
        wrong = [r for r in rows if (r in full) != (kinds.get(r["student"]) == "good")
                 or r["status"] != "graded"]
        print(f"{args.n} handins{' (a class mix)' if args.mix else ''}, -j {args.jobs}, "
              f"{os.cpu_count()} cores: {wall:.1f}s wall ({wall / args.n:.2f}s per handin); "
              f"{len(full)} with full marks of {len(good)} correct")
        print(f"grader peak memory: {peak_total / 2**20:.0f} MiB (batch process "
              f"{peak_parent / 2**20:.0f} MiB + its workers at their largest moment)")
        if proc.returncode != 0 or wrong or len(rows) != args.n:
            sys.stderr.write(stderr[-3000:])
            for r in wrong:
                print(f"  {r['student']} ({kinds.get(r['student'])}): {r['status']} "
                      f"{r['score']}/{r['max_score']} {r['reason']}")
            return 1
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""How long grading a broken mytalk takes: one that aborts at start, one that hangs in pause().

    python3 bench/broken.py [--runs N]

Wall time of `grade asgn5 FIXTURE` (interpreter start-up included), median and worst of N
runs, for the student fixtures that abort at start and that block in pause() at start, and
for a correct program as the yardstick. A broken program must not cost every check its full
deadline (issue 10). Targets: abort <= 3 s, pause <= 30 s, correct <= 1.6 s. Each run also
checks the verdict: the broken ones must fail every check and never exit 3 (an internal
error), the correct one must pass.
"""
from __future__ import annotations

import argparse
import statistics
from typing import Optional

from common import build, grade

from verdict_table import load

# (label, fixture name in tests/verdicts/, target seconds)
PROGRAMS = [
    ("abort at start", "students/mytalk-abort", 3.0),
    ("pause() at start", "students/mytalk-pause", 30.0),
    ("correct", "asgn5/correct", 1.6),
]


def verdict_problem(code: int, failed: list[str], checks: int,
                    must_fail: bool) -> Optional[str]:
    if code == 3:
        return "internal error (exit 3)"
    if must_fail and (code != 1 or len(failed) != checks):
        return f"exit {code}, {len(failed)} of {checks} checks failed (expected all)"
    if not must_fail and code != 0:
        return f"exit {code}, failed: {', '.join(failed)}"
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    table = {e.name: e for e in load()}
    print(f"{'program':<18} {'median':>7} {'worst':>7} {'target':>7}   (s, {args.runs} runs)")
    for label, name, target in PROGRAMS:
        entry = table[name]
        program = build(entry)
        results = [grade("asgn5", [str(program)]) for _ in range(args.runs)]
        walls = [r.wall_s for r in results]
        med = statistics.median(walls)
        problems = {verdict_problem(r.code, r.failed,
                                    len(r.result["checks"]) if r.result else 0,
                                    bool(entry.fails)) for r in results} - {None}
        print(f"{label:<18} {med:7.2f} {max(walls):7.2f} {target:7.1f}"
              + ("   met" if med <= target else "   NOT MET")
              + (f"   {'; '.join(sorted(problems))}" if problems else ""))


if __name__ == "__main__":
    main()

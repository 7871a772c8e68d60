"""The mutation score: how many verdicts of the fixture table the grader gets right.

    python3 bench/mutation.py [-j JOBS]

Every fixture program (correct, allowed variants, planted bugs) is graded; each of its checks'
verdicts is compared with tests/verdicts/*.toml. Prints the wrong ones and "N/N verdicts right".
Fixtures are graded JOBS at a time (default 4): most of a planted bug's grading is a failing
check waiting out its deadline.
"""
from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor

from common import build, grade

from verdict_table import Entry, load, wrong_verdicts


def judge(entry: Entry) -> tuple[int, dict]:
    """(number of verdicts, the wrong ones) for one fixture."""
    g = grade(entry.assignment, [str(build(entry))])
    verdicts = {c["id"]: c["status"] for c in g.result["checks"]} if g.result else {}
    return len(verdicts), wrong_verdicts(entry, verdicts)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-j", "--jobs", type=int, default=4)
    args = p.parse_args()
    entries = load()
    for e in entries:                      # compile first, once each, before grading in parallel
        build(e)
    right = total = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for entry, (count, wrong) in zip(entries, pool.map(judge, entries)):
            total += count
            right += count - len(wrong)
            for cid, (want, got) in wrong.items():
                print(f"{entry.name}: {cid} expected {want}, got {got}")
    print(f"{right}/{total} verdicts right ({len(entries)} fixture programs)")


if __name__ == "__main__":
    main()

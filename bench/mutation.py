"""The mutation score: how many verdicts of the fixture table the grader gets right.

    python3 bench/mutation.py

Every fixture program (correct, allowed variants, planted bugs) is graded; each of its checks'
verdicts is compared with tests/verdicts/*.toml. Prints the wrong ones and "N/N verdicts right".
"""
from __future__ import annotations

from common import build, grade

from verdict_table import load, wrong_verdicts


def main() -> None:
    right = total = 0
    for entry in load():
        g = grade(entry.assignment, [str(build(entry))])
        verdicts = {c["id"]: c["status"] for c in g.result["checks"]} if g.result else {}
        wrong = wrong_verdicts(entry, verdicts)
        total += len(verdicts)
        right += len(verdicts) - len(wrong)
        for cid, (want, got) in wrong.items():
            print(f"{entry.name}: {cid} expected {want}, got {got}")
    print(f"{right}/{total} verdicts right")


if __name__ == "__main__":
    main()

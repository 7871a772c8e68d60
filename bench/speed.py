"""How long grading a correct program takes, and what that time is made of.

    python3 bench/speed.py [--runs N] [--only ASSIGNMENT]

Per assignment: median and worst wall time of `grade` (interpreter start-up included), the
part spent in waits that must elapse (idle-CPU windows, quiet periods), the rest (pytest
start-up, process starts, harness), and the floor measured in the same run: an interpreter
that imports what a grading imports, plus the waits that must elapse. Then the broadcast
check at 10, 50 and 100 clients.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import ROOT, assignment_ids, grade
from support import correct_targets

from grader.harness import assignments, targets
from grader import settings
from grader.harness.case import Case
from grader.vocabulary.chatroom import ChatRoom
from grader.harness.peers import TcpPeer
from grader.harness.session import Grading
from grader.vocabulary.student import Student


# What a grading imports before its first check (the grader's modules, pytest, rich, pyte).
IMPORTS = ("import grader.frontend.cli, grader.harness.runner, grader.harness.plugin, "
           "grader.vocabulary.fixtures, grader.vocabulary.screen, "
           "grader.frontend.report.terminal, grader.frontend.report.json_report")


def imports_time() -> float:
    """Wall time of an interpreter that only imports what a grading imports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", IMPORTS], env=env, cwd=ROOT, check=True)
    return time.monotonic() - start


def per_assignment(runs: int, only: list[str]) -> None:
    print(f"{'assignment':<16} {'median':>7} {'worst':>7} {'waits':>7} {'other':>7} "
          f"{'floor':>7} {'x floor':>7}   (s, {runs} runs)")
    for aid in only or assignment_ids():
        label, args = correct_targets(aid)[0]
        results, imports = [], []
        for _ in range(runs):         # in turn, so that both see the same load
            results.append(grade(aid, args))
            imports.append(imports_time())
        bad = [r for r in results if r.code != 0]
        walls = [r.wall_s for r in results]
        waits = statistics.median(r.waited_s for r in results)
        med = statistics.median(walls)
        floor = statistics.median(imports) + waits
        print(f"{aid:<16} {med:7.2f} {max(walls):7.2f} {waits:7.2f} {med - waits:7.2f} "
              f"{floor:7.2f} {med / floor:7.2f}"
              + (f"   {len(bad)} runs did not pass!" if bad else ""))


def broadcast_time(grading: Grading, clients: int) -> float:
    """One broadcast check at this many clients: start the server, join, one message to all."""
    case = Case(grading.settings)
    grading.enter_case(case)
    try:
        start = time.monotonic()
        student = Student(grading, case)
        server = student.start(name="server")
        server.expect_listening(student.port)
        room = ChatRoom(case, server, student.port,
                        lambda port, name: TcpPeer.connect(case, name, port))
        peers = room.join(*[f"c{i}" for i in range(clients)])
        peers[0].say("to everyone")
        for p in peers[1:]:
            p.expect_bytes(b"to everyone\n")
        return time.monotonic() - start
    finally:
        case.close()


def scaling(runs: int) -> None:
    aid = "minichat-server"
    label, args = correct_targets(aid)[0]
    a = assignments.find(aid)
    grading = Grading(a, targets.resolve(args[0], a), settings.load()).start()
    try:
        print(f"\nbroadcast check, {label} ({runs} runs each):")
        base = None
        for n in (10, 50, 100):
            t = statistics.median(broadcast_time(grading, n) for _ in range(runs))
            base = base or t / n
            print(f"  {n:>3} clients  {t * 1000:7.1f} ms   {t / n * 1000:5.2f} ms/client"
                  f"   ({t / (base * n):.2f}x linear)")
    finally:
        grading.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--only", action="append", default=[], metavar="ASSIGNMENT",
                   help="only this assignment (repeatable); no broadcast scaling then")
    args = p.parse_args()
    per_assignment(args.runs, args.only)
    if not args.only:
        scaling(args.runs)


if __name__ == "__main__":
    main()

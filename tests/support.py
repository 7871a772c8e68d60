"""What the grader's tests (and bench/) share: run `grade` as a user would, read its results,
grade the correct programs under load. Imported as a module, not through conftest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from verdict_table import FIXTURES, compile_fixture, load

ROOT = Path(__file__).resolve().parent.parent
GRADE_TIMEOUT = 300          # a whole grading run; far above any correct run

__all__ = ["FIXTURES", "GRADE_TIMEOUT", "ROOT", "Graded", "correct_targets", "cpu_load",
           "false_failures", "read_grade", "run_grade"]


@dataclass
class Graded:
    code: int
    result: Optional[dict]
    stdout: str
    stderr: str

    @property
    def verdicts(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.result["checks"]} if self.result else {}

    @property
    def failed(self) -> set[str]:
        return {k for k, v in self.verdicts.items() if v != "passed"}


def run_grade(*args: str, cwd: Path = ROOT, timeout: float = GRADE_TIMEOUT,
              env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess:
    """`grade ARGS` in a child process, as a user would run it."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, env=full_env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def read_grade(out: Path, assignment: str, target: str, *options: str) -> Graded:
    """`grade ASSIGNMENT TARGET --json OUT OPTIONS`, with the JSON results read back."""
    done = run_grade(assignment, target, "--json", str(out), *options)
    result = json.loads(out.read_text()) if out.exists() else None
    return Graded(done.returncode, result, done.stdout, done.stderr)


def correct_targets(assignment: str) -> list[tuple[str, list[str]]]:
    """(label, grade arguments) of every program that must pass every check: C and reference."""
    targets = [(e.name, [str(compile_fixture(list(e.sources), e.defines, e.talk))])
               for e in load() if e.assignment == assignment and not e.fails]
    return targets + [(f"{assignment}/reference", ["", "--reference"])]


def false_failures(assignment: str, runs: int) -> list[str]:
    """Grade the assignment's correct programs `runs` times in turn; describe every failure."""
    targets = correct_targets(assignment)
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            label, args = targets[i % len(targets)]
            g = read_grade(Path(tmp) / f"r{i}.json", assignment, *args)
            if g.code != 0:
                failed = ", ".join(sorted(g.failed)) if g.result else "(no result)"
                found.append(f"{label}: exit {g.code}, {failed or 'no failed check'}")
    return found


@contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """Keep the machine's cores busy while the body runs; the hogs end with it."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for h in hogs:
            h.kill()
            h.wait()

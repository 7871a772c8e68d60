"""What the grader's tests (and bench/) share: run `grade` as a user would, read its results,
grade the correct programs under load. Imported as a module, not through conftest.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

import psutil

from grader import settings
from verdict_table import FIXTURES, compile_fixture, load

ROOT = Path(__file__).resolve().parent.parent
GRADE_TIMEOUT = 300          # a whole grading run; far above any correct run

__all__ = ["FIXTURES", "GRADE_TIMEOUT", "ROOT", "Catalog", "Graded", "catalog",
           "correct_targets", "cpu_load",
           "descendants_named", "false_failures", "read_grade", "run_grade", "running_among",
           "scaled", "shown"]


def copy_of_the_grader(where: Path) -> Path:
    """A copy of the grader's source (grader, cases, reference) at where/tree, to change or to
    run as another user without touching this checkout."""
    tree = where / "tree"
    for part in ("grader", "cases", "reference"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def scaled(seconds: float) -> float:
    """A test's deadline for an event, stretched like the grader's own (GRADER_TIMEOUT_SCALE):
    on a machine slow enough to need the factor, the tests wait as long as the grader does."""
    return seconds * settings.scale()


# -- processes that may end while they are looked at ------------------------------------------

def running_among(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those still running: one that ends (or is a zombie) while it is looked at has ended."""
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:          # ZombieProcess included
            pass
    return alive


def descendants_named(pid: int, name: str) -> list[psutil.Process]:
    """pid's running descendants whose program is `name` (none once pid has ended)."""
    try:
        family = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for p in family:
        try:
            if p.name() == name:
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return running_among(found)


def shown(p: psutil.Process) -> str:
    """pid and command line, for a message; a process that has just ended is its pid."""
    try:
        return f"{p.pid} {' '.join(p.cmdline()[:4])}"
    except psutil.Error:
        return str(p.pid)


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


@dataclass(frozen=True)
class Catalog:
    """An assignment's checks as `grade list` collects them: ids in run order, and points."""
    ids: tuple[str, ...]
    points: float

    def __len__(self) -> int:
        return len(self.ids)


_COLLECT = """
import json
from grader.harness import assignments, runner
checks = runner.collect(assignments.all_assignments())
print(json.dumps({a: [[c.id, c.max_points] for c in cs] for a, cs in checks.items()}))
"""


@functools.lru_cache(maxsize=None)
def _catalogs() -> dict[str, list[list]]:
    done = subprocess.run([sys.executable, "-c", _COLLECT], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True, timeout=GRADE_TIMEOUT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def catalog(assignment: str) -> Catalog:
    """What a grading of this assignment scores, derived from its cases and manifest, so
    that a test does not break when a check is added. Collected once, in a child process,
    as `grade list` does (a collection inside this test session would share its modules)."""
    checks = _catalogs()[assignment]
    return Catalog(tuple(cid for cid, _ in checks), sum(points for _, points in checks))


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

"""Shared machinery for the grader's own tests: build C fixtures, run `grade`, leave nothing.

This test process is a child subreaper, so any process a test starts, even one that escapes
into a new session, stays our descendant; after every test none may be left.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import psutil
import pytest

from grader import sandbox
from verdict_table import FIXTURES, compile_fixture  # noqa: F401 (FIXTURES: for tests)

ROOT = Path(__file__).resolve().parent.parent
GRADE_TIMEOUT = 300          # a whole grading run; far above any correct run


def pytest_configure(config: pytest.Config) -> None:
    sandbox.become_subreaper()


@pytest.fixture(autouse=True)
def nothing_left_running():
    """Every process a test started must be gone when it ends."""
    yield
    me = psutil.Process()
    left = [p for p in me.children(recursive=True)]
    gone, alive = psutil.wait_procs(left, timeout=5)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=5)
    assert not alive, "left running: " + ", ".join(
        f"{p.pid} {' '.join(p.cmdline()[:4]) if p.is_running() else ''}" for p in alive)


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


@pytest.fixture
def grade(tmp_path):
    """grade(assignment, target, *options) -> Graded, with the JSON results read back."""
    def run(assignment: str, target: str, *options: str) -> Graded:
        out = tmp_path / f"result-{len(list(tmp_path.glob('result-*')))}.json"
        done = run_grade(assignment, target, "--json", str(out), *options)
        result = json.loads(out.read_text()) if out.exists() else None
        return Graded(done.returncode, result, done.stdout, done.stderr)
    return run


@pytest.fixture(scope="session")
def fixture_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fixture-builds")


@pytest.fixture(scope="session")
def build_c(fixture_cache):
    """build_c(sources, defines=(), talk=False) -> path of the compiled program (cached)."""
    def build(sources: list[str], defines: tuple[str, ...] = (), talk: bool = False) -> Path:
        return compile_fixture(sources, tuple(defines), talk, fixture_cache)
    return build

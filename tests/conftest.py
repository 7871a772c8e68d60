"""Shared machinery for the grader's own tests: build C fixtures, run `grade`, leave nothing.

This test process is a child subreaper, so any process a test starts, even one that escapes
into a new session, stays our descendant; after every test none may be left.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psutil
import pytest

from grader.containment import contain, sandbox
from hostile_reports import (GONE_WITHIN, HOSTILE_NAMES, Report, report_base, runners_of,
                             still_running)
from support import Graded, read_grade, scaled, shown
from verdict_table import compile_fixture


def pytest_configure(config: pytest.Config) -> None:
    sandbox.become_subreaper()
    # Programs see only the system, their run and their tmpfs: the hostile fixtures' report
    # directories are shown to them too (gradings in child processes inherit this).
    os.environ[contain.VIEW_SHARE] = str(report_base())


@pytest.fixture(autouse=True)
def nothing_left_running():
    """Every process a test started must be gone when it ends."""
    yield
    left = psutil.Process().children(recursive=True)
    gone, alive = psutil.wait_procs(left, timeout=scaled(5))
    described = [shown(p) for p in alive]
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:        # ended while being looked at
            pass
    psutil.wait_procs(alive, timeout=scaled(5))
    assert not alive, "left running: " + ", ".join(described)


@pytest.fixture
def grade(tmp_path):
    """grade(assignment, target, *options) -> Graded, with the JSON results read back."""
    def run(assignment: str, target: str, *options: str) -> Graded:
        out = tmp_path / f"result-{len(list(tmp_path.glob('result-*')))}.json"
        return read_grade(out, assignment, target, *options)
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


# ---- hostile fixtures (tests/fixtures/hostile/) -------------------------------------------

@pytest.fixture
def report_dir():
    """A directory every user may write to: student programs run as another user when we are
    root, and see a private /tmp."""
    d = Path(tempfile.mkdtemp(prefix="hostile-", dir=report_base()))
    d.chmod(0o777)
    (d / "report.txt").touch()
    (d / "report.txt").chmod(0o666)      # parallel gradings run as different uids
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def report(report_dir) -> Report:
    return Report(report_dir)


@pytest.fixture
def hostile(build_c, report_dir):
    """hostile(name) -> the compiled fixture; afterwards no copy of it may run anywhere."""
    built: list[Path] = []

    def build(name: str) -> Path:
        program = build_c([f"hostile/{name}.c", "hostile/common.c"],
                          defines=(f'REPORT_DIR="{report_dir}"',))
        built.append(program)
        HOSTILE_NAMES.add(program.name)
        return program
    yield build
    for program in built:
        survivors = still_running(runners_of(program), GONE_WITHIN, reported=False)
        assert not survivors, f"{program.name} still runs as pid(s) {survivors}"

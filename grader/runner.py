"""One grading run: prepare the program, run the assignment's cases under pytest, collect a Run."""
from __future__ import annotations

import os
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator, Optional

import pytest

from .assignments import CASES_DIR, Assignment
from .fixtures import GRADING
from .plugin import check_from_report
from .results import Run
from .session import Grading
from .settings import Settings
from .targets import Target


class _Collector:
    """Receives pytest's reports in-process and keeps the grader's Check of each case."""

    def __init__(self, grading: Grading):
        self.grading = grading
        self.run = Run(grading.assignment.id, grading.target.spec)
        self.problems: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[GRADING] = self.grading

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        check = check_from_report(report)
        if check is not None:
            self.run.checks.append(check)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.problems.append(f"collecting {report.nodeid}: {report.longrepr}")

    def pytest_internalerror(self, excrepr) -> None:
        self.problems.append(str(excrepr))


@contextmanager
def own_plugins_only() -> Iterator[None]:
    """Run pytest with our plugin alone: no third-party plugin may change a grading."""
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved


def pytest_args(assignment: Assignment, *, keyword: Optional[str], transcripts: bool) -> list[str]:
    # Plugins a grading does not use cost start-up time (unraisableexception alone runs five
    # garbage collections at exit); the terminal is ours, not pytest's.
    unused = ("cacheprovider", "terminal", "stepwise", "unraisableexception", "threadexception",
              "pastebin", "nose", "doctest", "junitxml", "setuponly", "setupplan", "legacypath")
    args = [str(assignment.path), "-p", "grader.plugin", "-c", str(CASES_DIR / "pytest.ini"),
            "--rootdir", str(CASES_DIR), "--import-mode=importlib"]
    for name in unused:
        args += ["-p", f"no:{name}"]
    if keyword:
        args += ["-k", keyword]
    if transcripts:
        args.append("--all-transcripts")
    return args


def grade(assignment: Assignment, target: Target, settings: Settings, *, strict: bool = False,
          keyword: Optional[str] = None, transcripts: bool = False,
          talk_lib: Optional[Path] = None) -> Run:
    """Grade one program. Raises build.BuildFailed when a source directory does not build."""
    started = time.monotonic()
    grading = Grading(assignment, target, settings, strict=strict, talk_lib=talk_lib)
    try:
        grading.start()
        collector = _Collector(grading)
        with own_plugins_only():
            code = pytest.main(pytest_args(assignment, keyword=keyword, transcripts=transcripts),
                               plugins=[collector])
        run = collector.run
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if collector.problems or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            run.error = "\n".join(collector.problems) or f"pytest ended with {code!r}"
    finally:
        grading.close()
    run.build = grading.build
    run.notes = grading.notes
    run.duration_s = round(time.monotonic() - started, 3)
    return run

"""The results model: what a grading run found, independent of how it is shown.

Running checks fills these dataclasses; every report format is a function from them to bytes.
`to_dict`/`from_dict` give the JSON shape that `--json` writes and a batch reads back.
"""
from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from typing import Any, Optional

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
# A check that had not finished when ^C or SIGTERM stopped the grading.
NOT_RUN_INTERRUPTED = "not run: the grading was interrupted (^C or SIGTERM) before it finished"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def version() -> str:
    """This grader's version: the installed distribution's, else pyproject.toml's."""
    global _VERSION
    if _VERSION is None:
        from pathlib import Path
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            import re
            m = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.MULTILINE)
            _VERSION = m.group(1) if m else ""
        except OSError:
            _VERSION = ""
        if not _VERSION:
            try:
                from importlib.metadata import version as dist_version
                _VERSION = dist_version("socket-grader")
            except Exception:   # noqa: BLE001 - not installed: no version to tell
                _VERSION = "unknown"
    return _VERSION


_VERSION: Optional[str] = None


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Build:
    status: str = "skipped"          # ok | failed | skipped
    log: str = ""
    # leniencies the course machine would not have shown (a library copied beside the
    # Makefile, a program under another name): the build worked here, it might not there
    warnings: list[str] = field(default_factory=list)


@dataclass
class Check:
    id: str
    title: str
    status: str
    points: float
    max_points: float
    message: str = ""                # what was expected and what was seen
    hint: str = ""                   # the usual cause, for a failure
    transcript: str = ""             # every participant's side of the conversation
    duration_s: float = 0.0
    waited_s: float = 0.0            # part of duration spent in waits that must elapse
    warnings: list[str] = field(default_factory=list)   # deviations from the handout's text
    reproduce: str = ""              # how to watch the failure by hand (failed checks)
    visibility: str = "visible"      # visible | hidden | after_due_date | after_published


@dataclass
class Run:
    assignment: str
    target: str
    checks: list[Check] = field(default_factory=list)
    build: Build = field(default_factory=Build)
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)       # how the run was done (isolation, ...)
    student: Optional[str] = None
    error: str = ""                  # an internal error of the grader, if any
    cut: list[str] = field(default_factory=list)         # checks not run: the budget ran out
    # ^C or SIGTERM stopped it: the checks that finished, every other one not run.
    interrupted: bool = False
    grader_version: str = field(default_factory=lambda: version())
    graded_at: str = field(default_factory=lambda: now())   # UTC, ISO 8601

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 2)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks), 2)

    @property
    def exit_code(self) -> int:
        """0 all passed, 1 a check failed, 3 the grader itself went wrong, 130 interrupted."""
        if self.interrupted:
            return 130
        if self.error or any(c.status == ERROR for c in self.checks):
            return 3
        if self.cut:
            return 1
        if self.build.status == "failed" or any(c.status == FAILED for c in self.checks):
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["score"], d["max_score"] = self.score, self.max_score
        order = ["assignment", "target", "student", "score", "max_score", "duration_s",
                 "grader_version", "graded_at", "interrupted", "build", "checks", "cut", "notes",
                 "error"]
        return {k: d[k] for k in order}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Run":
        names = {f.name for f in dataclasses.fields(Check)}
        return cls(
            assignment=d["assignment"], target=d["target"], student=d.get("student"),
            duration_s=d.get("duration_s", 0.0), notes=list(d.get("notes", [])),
            error=d.get("error", ""), build=Build(**d.get("build", {})),
            cut=list(d.get("cut", [])), interrupted=bool(d.get("interrupted", False)),
            grader_version=d.get("grader_version", ""),
            graded_at=d.get("graded_at", ""),
            checks=[Check(**{k: v for k, v in c.items() if k in names}) for c in d["checks"]],
        )


GRADED, BUILD_FAILED, STUDENT_ERROR = "graded", "build-failed", "error"


@dataclass
class StudentResult:
    """One row of a batch: a student's run, or why there is none."""
    student: str
    status: str                      # graded | build-failed | error
    reason: str = ""
    run: Optional[Run] = None

    @property
    def score(self) -> float:
        return self.run.score if self.run else 0.0


@dataclass
class Batch:
    """A whole batch: the students graded so far and, with --interop, who talks to whom."""
    assignment: str
    students: list[StudentResult] = field(default_factory=list)
    max_score: float = 0.0
    check_ids: list[str] = field(default_factory=list)      # column order of the summaries
    # interop[(client_student, server_student)] = "ok" or a short reason it failed
    interop: dict[tuple[str, str], str] = field(default_factory=dict)
    # What the summaries say first about the whole batch (results not tamper-proof...).
    warnings: list[str] = field(default_factory=list)

"""What the bench scripts share: the correct programs of each assignment, and grading one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grader.harness import assignments  # noqa: E402

from verdict_table import Entry, compile_fixture  # noqa: E402

GRADE_TIMEOUT = 300      # far above any correct run: a grader that hangs is reported, not waited on


@dataclass
class Graded:
    wall_s: float
    result: Optional[dict]
    code: int

    @property
    def waited_s(self) -> float:
        return sum(c["waited_s"] for c in self.result["checks"]) if self.result else 0.0

    @property
    def failed(self) -> list[str]:
        return [c["id"] for c in self.result["checks"] if c["status"] != "passed"] \
            if self.result else ["(no result)"]


def grade(assignment: str, args: list[str], *extra: str) -> Graded:
    """Run `grade` as a user would; wall time includes the interpreter's start-up."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "grader", assignment, *args, "--json",
                               str(out), *extra], env=env, cwd=ROOT, capture_output=True,
                              timeout=GRADE_TIMEOUT)
        wall = time.monotonic() - start
        result = json.loads(out.read_text()) if out.exists() else None
    return Graded(wall, result, done.returncode)


def assignment_ids() -> list[str]:
    return [a.id for a in assignments.all_assignments()]


def build(entry: Entry) -> Path:
    """The fixture's program, from the grader's private build cache."""
    return compile_fixture(list(entry.sources), entry.defines, entry.talk)

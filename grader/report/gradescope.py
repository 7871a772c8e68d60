"""Gradescope's autograder results.json, written by the autograder's run_autograder script.

Gradescope shows `output` strings to the student; they are plain text (`output_format` "text")
with control characters made visible, so a program's output cannot format or hide anything.
Each test carries its check's visibility from the manifest (visible, hidden, after_due_date,
after_published); the top-level output, which every student sees, names no hidden check and
holds no operator notes (sandbox user, cgroups: they stay in result.json).
"""
from __future__ import annotations

from typing import Any

from ..results import FAILED, PASSED, Run
from . import details, interruption, log_tail, not_run_line, num, visible
from .json_report import dumps


def render(run: Run) -> bytes:
    """The run as Gradescope results.json; a failed build is one test, scoring 0, with the
    log's tail."""
    build_failed = run.build.status == "failed"
    tests: list[dict[str, Any]] = []
    if build_failed:         # no check ran: one test says so, the checks' points its maximum
        tests.append(_test("Build", 0, run.max_score, "failed",
                           not_run_line(run) + "\n" + log_tail(run.build.log)))
    for check in run.checks if not build_failed else []:
        passed = check.status == PASSED
        text = details(check) if not passed or check.warnings else ""
        if not passed and check.status != FAILED:
            text = f"({check.status}) {text}".rstrip()
        tests.append(_test(check.title, check.points, check.max_points,
                           "passed" if passed else "failed", text,
                           getattr(check, "visibility", "visible") or "visible"))
    score = 0 if build_failed else run.score
    return dumps({
        "score": score,
        "execution_time": round(run.duration_s, 2),
        "output": visible(_summary(run, score)),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "tests": tests,
    })


def _test(name: str, score: float, max_score: float, status: str, output: str,
          visibility: str = "visible") -> dict[str, Any]:
    return {"name": visible(name), "score": score, "max_score": max_score, "status": status,
            "output": visible(output), "visibility": visibility}


def _summary(run: Run, score: float) -> str:
    passed = sum(c.status == PASSED for c in run.checks)
    lines = [f"{run.assignment}: {num(score)}/{num(run.max_score)} points, "
             f"{passed} of {len(run.checks)} checks passed"]
    if run.build.status == "failed":
        lines.append("The build failed, so no check could earn points.")
    lines += [f"Build warning: {w}" for w in run.build.warnings]
    if run.error:
        lines.append("The grader itself failed, so this is not your score: tell your "
                     "instructor. " + (run.error.strip().splitlines() or [""])[0])
    if run.cut:
        lines.append(f"{len(run.cut)} checks were not run: the time budget ran out.")
    if run.interrupted:
        lines.append(interruption(run))
    return "\n".join(lines)

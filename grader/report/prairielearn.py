"""PrairieLearn's external-grader results.json (/grade/results/results.json in the container).

PrairieLearn wants the score as a fraction of 1 and shows `message`/`output` to the student as
text; control characters are made visible for the same reason as in every other report.
"""
from __future__ import annotations

from typing import Any

from ..results import FAILED, PASSED, Check, Run
from . import details, log_tail, num, visible
from .json_report import dumps


def render(run: Run) -> bytes:
    """The run as PrairieLearn results.json; a failed build scores 0 and shows the log's tail."""
    build_failed = run.build.status == "failed"
    points = 0 if build_failed else run.score
    fraction = min(max(points / run.max_score, 0.0), 1.0) if run.max_score > 0 else 0.0
    tests: list[dict[str, Any]] = []
    for check in run.checks:
        passed = check.status == PASSED and not build_failed
        tests.append({
            "name": visible(check.title),
            "description": visible(check.id),
            "points": 0 if build_failed else check.points,
            "max_points": check.max_points,
            "message": visible(_message(check, build_failed)),
            "output": visible(details(check) if not passed or check.warnings else ""),
        })
    output = []
    if build_failed:
        output.append("The build failed:\n" + log_tail(run.build.log))
    if run.error:
        output.append(f"The grader itself failed: {run.error}")
    output += [f"note: {n}" for n in run.notes]
    passed_count = sum(c.status == PASSED for c in run.checks)
    return dumps({
        "gradable": True,
        "score": round(fraction, 4),
        "points": points,
        "max_points": run.max_score,
        "message": visible(f"{run.assignment}: {num(points)}/{num(run.max_score)} points, "
                           f"{passed_count} of {len(run.checks)} checks passed"
                           + (" (the build failed)" if build_failed else "")),
        "output": visible("\n".join(output)),
        "tests": tests,
    })


def _message(check: Check, build_failed: bool) -> str:
    """One line that says why a check earned less than its points (empty when it passed)."""
    if build_failed:
        return "not run: the build failed"
    if check.status == PASSED:
        return ""
    first = (check.message.strip().splitlines() or [""])[0]
    return first if check.status == FAILED else f"{check.status}: {first}".rstrip(": ")

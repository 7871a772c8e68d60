"""PrairieLearn's external-grader results.json (/grade/results/results.json in the container).

PrairieLearn wants the score as a fraction of 1 and shows `message`/`output` to the student as
text; control characters are made visible for the same reason as in every other report.
A failed build and a grader failure are `gradable: false` (the student's attempt is not used up;
the build's output is shown, as in PrairieLearn's own example); the compiler's first error is
also in `format_errors`, which PrairieLearn shows at the top of the submission. Hidden checks
(manifest visibility other than "visible") keep their points but not their details; no
operator notes.
"""
from __future__ import annotations

from typing import Any

from ...harness.results import FAILED, PASSED, Check, Run
from . import details, interruption, log_tail, not_run_line, num, visible
from .json_report import dumps


def render(run: Run) -> bytes:
    """The run as PrairieLearn results.json; a failed build scores 0 and shows the log's tail."""
    build_failed = run.build.status == "failed"
    points = 0 if build_failed else run.score
    fraction = min(max(points / run.max_score, 0.0), 1.0) if run.max_score > 0 else 0.0
    tests: list[dict[str, Any]] = []
    if build_failed and run.checks:      # no check ran: one test says so
        tests.append({"name": "Build", "description": "build", "points": 0,
                      "max_points": run.max_score, "message": visible(not_run_line(run)),
                      "output": visible(log_tail(run.build.log))})
    for check in run.checks if not build_failed else []:
        passed = check.status == PASSED
        if getattr(check, "visibility", "visible") not in ("visible", ""):
            tests.append({"name": visible(check.title), "description": visible(check.id),
                          "points": check.points,
                          "max_points": check.max_points,
                          "message": "" if passed else "hidden check: no details",
                          "output": ""})
            continue
        tests.append({
            "name": visible(check.title),
            "description": visible(check.id),
            "points": check.points,
            "max_points": check.max_points,
            "message": visible(_message(check)),
            "output": visible(details(check) if not passed or check.warnings else ""),
        })
    output = []
    if build_failed:
        output.append("The build failed:\n" + log_tail(run.build.log))
    if run.error:
        output.append("The grader itself failed, so this submission was not graded: tell your "
                      "instructor. " + (run.error.strip().splitlines() or [""])[0])
    if run.cut:
        output.append(f"{len(run.cut)} checks were not run: the time budget ran out.")
    if run.interrupted:
        output.append(interruption(run))
    passed_count = sum(c.status == PASSED for c in run.checks)
    format_errors = []
    if build_failed:
        from ...harness.build import first_error
        format_errors.append(visible("The build failed: " + first_error(run.build.log)))
    elif run.error:
        format_errors.append("The grader itself failed, so this submission was not graded.")
    return dumps({
        # An interrupted run is no grade: PrairieLearn then does not count it.
        "gradable": not (build_failed or run.error or run.interrupted),
        "score": round(fraction, 4),
        "points": points,
        "max_points": run.max_score,
        "message": visible(f"{run.assignment}: {num(points)}/{num(run.max_score)} points, "
                           f"{passed_count} of {len(run.checks)} checks passed"
                           + (" (the build failed)" if build_failed else "")
                           + (" (interrupted)" if run.interrupted else "")),
        "output": visible("\n".join(output)),
        **({"format_errors": format_errors} if format_errors else {}),
        "tests": tests,
    })


def _message(check: Check) -> str:
    """One line that says why a check earned less than its points (empty when it passed)."""
    if check.status == PASSED:
        return ""
    first = (check.message.strip().splitlines() or [""])[0]
    return first if check.status == FAILED else f"{check.status}: {first}".rstrip(": ")

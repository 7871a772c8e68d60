"""GitHub Classroom's autograding reporter input: one base64 `result` per runner.

The reporter (classroom-resources/autograding-grading-reporter, v1) reads, for each runner id
named in its `runners` input, the environment variable `<ID>_RESULTS`: base64 of
`{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [...]}`. Its
summary table counts passed tests (`passed / len(tests) * max_score`) and the points it sends
to Classroom add up each test's `score`; a runner that mixes checks of different worth, or a
fractional score, would make the two disagree. So each check is a runner of its own: its
max_score the check's points, one test per point (report.point_units) with score 1 or
0, so both sums are the grader's score. Names and messages pass through one_line().
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from ...harness.results import ERROR, PASSED, Run
from . import log_tail, one_line, point_units

BUILD = "build"


def runner_id(check_id: str) -> str:
    """A step id GitHub accepts and an environment variable name the reporter can build."""
    return "check_" + re.sub(r"[^A-Za-z0-9_]", "_", check_id)


def runners(run: Run) -> dict[str, dict[str, Any]]:
    """Every runner's results, the build's first (max_score 0: it shows, it scores nothing)."""
    build_failed = run.build.status == "failed"
    out: dict[str, dict[str, Any]] = {}
    if build_failed or run.error:
        message = ("the build failed:\n" + log_tail(run.build.log, 10) if build_failed
                   else "the grader itself failed: tell your instructor")
        out[BUILD] = {"version": 1, "status": "error" if run.error else "fail", "max_score": 0,
                      "tests": [{"name": "build", "status": "fail", "score": 0,
                                 "message": one_line(message)}]}
    else:
        out[BUILD] = {"version": 1, "status": "pass", "max_score": 0,
                      "tests": [{"name": "build", "status": "pass", "score": 0, "message": ""}]}
    for check in run.checks:
        passed = check.status == PASSED and not build_failed
        units = point_units(check) if not build_failed else [False] * len(point_units(check))
        first = (check.message.strip().splitlines() or [check.status])[0]
        message = "" if passed else one_line(
            "not run: the build failed" if build_failed else
            first + (f" (hint: {check.hint})" if check.hint else ""))
        if check.visibility not in ("visible", "") and not passed:
            message = "hidden check: no details"
        name = one_line(check.title)
        tests = [{"name": name if len(units) == 1 else f"{name} [{i + 1}/{len(units)}]",
                  "status": "pass" if earned else "fail", "score": 1 if earned else 0,
                  "message": "" if earned else message}
                 for i, earned in enumerate(units)]
        status = "pass" if passed else ("error" if check.status == ERROR else "fail")
        out[runner_id(check.id)] = {"version": 1, "status": status,
                                    "max_score": len(units) if check.max_points else 0,
                                    "tests": tests}
    return out


def encoded(run: Run) -> dict[str, str]:
    """runner id -> the base64 text its `result` output carries."""
    return {rid: base64.b64encode(json.dumps(data, ensure_ascii=True).encode()).decode()
            for rid, data in runners(run).items()}


def render(run: Run) -> bytes:
    """Every runner's results as one JSON object (what the workflow's steps read)."""
    return json.dumps(runners(run), indent=2, ensure_ascii=True).encode() + b"\n"

"""What an Autolab autograder prints: the human log, a formatted-feedback line, the autoresult.

Autolab shows everything the autograder writes to stdout and reads the score from the last
line, `{"scores": {PROBLEM: points, ...}, "scoreboard": [...]}`; problem names must be the
lab's problems exactly, so there is one problem per check group (the first word of a check's
id: usage, client, server, ...) and the export lists them with their maximum. The line before
it, `{"_presentation": "semantic", ...}`, makes Autolab draw a table of passed and failed
checks per stage. The scoreboard is the total followed by each problem, in problem order.
Program output reaches stdout only through the terminal report, which makes control
characters visible; the two JSON lines are ASCII (`ensure_ascii`), so no program output can
end them or add a line after them.
"""
from __future__ import annotations

import json
from typing import Any

from ...harness.results import PASSED, Run
from . import group_of, log_tail, num, one_line, terminal


def problems(run: Run) -> dict[str, float]:
    """Each check group and its maximum, in the order the checks ran."""
    out: dict[str, float] = {}
    for check in run.checks:
        group = group_of(check.id)
        out[group] = round(out.get(group, 0) + check.max_points, 2)
    return out


def scores(run: Run) -> dict[str, float]:
    build_failed = run.build.status == "failed"
    out = {group: 0.0 for group in problems(run)}
    for check in run.checks:
        if not build_failed:
            out[group_of(check.id)] = round(out[group_of(check.id)] + check.points, 2)
    return {k: _number(v) for k, v in out.items()}


def feedback(run: Run) -> dict[str, Any]:
    """The semantic-presentation line: a Build stage, then one stage per check group."""
    build_failed = run.build.status == "failed"
    build: dict[str, Any] = {"passed": not build_failed and not run.error}
    if build_failed:
        build["hint"] = one_line(log_tail(run.build.log, 5))
    elif run.error:
        build["hint"] = "the grader itself failed: tell your instructor (this is not your score)"
    stages: dict[str, Any] = {"Build": {"make": build}}
    for check in run.checks:
        passed = check.status == PASSED and not build_failed
        entry: dict[str, Any] = {"passed": passed}
        if not passed and check.visibility in ("visible", ""):
            first = (check.message.strip().splitlines() or [check.status])[0]
            entry["hint"] = one_line(first + (f" (hint: {check.hint})" if check.hint else ""))
        stages.setdefault(group_of(check.id), {})[one_line(check.title)] = entry
    return {"_presentation": "semantic", "stages": list(stages), **stages,
            "_scores_order": list(problems(run))}


def autoresult(run: Run) -> dict[str, Any]:
    points = scores(run)
    total = _number(round(sum(points.values()), 2))
    return {"scores": points, "scoreboard": [total, *points.values()]}


def render(run: Run) -> bytes:
    """The whole stdout of one Autolab job: log, feedback line, autoresult (the last line)."""
    return terminal.render(run, color=False, verbose=False, student=True) + tail(run)


def tail(run: Run) -> bytes:
    """A summary line, the feedback line and the autoresult: how every Autolab log ends."""
    passed = sum(c.status == PASSED for c in run.checks)
    summary = (f"{run.assignment}: {num(0 if run.build.status == 'failed' else run.score)}/"
               f"{num(run.max_score)} points, {passed} of {len(run.checks)} checks passed\n")
    return (summary.encode()
            + json.dumps(feedback(run), ensure_ascii=True).encode() + b"\n"
            + json.dumps(autoresult(run), ensure_ascii=True).encode() + b"\n")


def _number(value: float) -> float:
    return int(value) if value == int(value) else value

"""Gradescope's autograder results.json, written by the autograder's run_autograder script.

Gradescope shows `output` strings to the student as Markdown (`output_format` and
`test_output_format` "md"): a check's transcript and a failed build's log are fenced code
blocks (the fence longer than any run of backticks inside), and every other text is escaped
(each ASCII punctuation mark with a backslash, leading spaces kept), with control characters
made visible, so a program's output cannot format, link, hide or inject anything.
Each test carries its check's visibility from the manifest (visible, hidden, after_due_date,
after_published); the top-level output, which every student sees, names no hidden check and
holds no operator notes (sandbox user, cgroups: they stay in result.json).
"""
from __future__ import annotations

import re
from typing import Any

from ...harness.results import FAILED, PASSED, Check, Run
from . import interruption, log_tail, not_run_line, num, visible
from .json_report import dumps


def render(run: Run) -> bytes:
    """The run as Gradescope results.json; a failed build is one test, scoring 0, with the
    log's tail."""
    build_failed = run.build.status == "failed"
    tests: list[dict[str, Any]] = []
    if build_failed:         # no check ran: one test says so, the checks' points its maximum
        tests.append(_test("Build", 0, run.max_score, "failed", md_text(not_run_line(run))
                           + "\n\n" + md_code(log_tail(run.build.log))))
    for check in run.checks if not build_failed else []:
        passed = check.status == PASSED
        text = md_details(check) if not passed or check.warnings else ""
        if not passed and check.status != FAILED:
            text = f"{md_text(f'({check.status})')} {text}".rstrip()
        tests.append(_test(check.title, check.points, check.max_points,
                           "passed" if passed else "failed", text,
                           getattr(check, "visibility", "visible") or "visible"))
    score = 0 if build_failed else run.score
    return dumps({
        "score": score,
        "execution_time": round(run.duration_s, 2),
        "output": "\n\n".join(md_text(line) for line in _summary(run, score).splitlines()),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "tests": tests,
    })


def _test(name: str, score: float, max_score: float, status: str, output: str,
          visibility: str = "visible") -> dict[str, Any]:
    return {"name": visible(name), "score": score, "max_score": max_score, "status": status,
            "output": output, "visibility": visibility}


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def md_text(text: str) -> str:
    """Text that Markdown shows as it is: every ASCII punctuation mark escaped, lines kept
    (hard breaks), leading spaces kept as no-break spaces (four would start a code block)."""
    lines = []
    for line in visible(text).split("\n"):
        body = line.lstrip(" ")
        lines.append("\u00a0" * (len(line) - len(body)) + _PUNCTUATION.sub(r"\\\1", body))
    return "  \n".join(lines)


def md_code(text: str) -> str:
    """A fenced code block holding text verbatim (control characters made visible)."""
    text = visible(text).rstrip("\n")
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _md_spans(text: str) -> str:
    """Our own prose with `code` spans (the reproduce line): the spans kept, the rest escaped."""
    parts = text.split("`")
    if len(parts) % 2 == 0:                  # an unpaired backtick: all of it is prose
        return md_text(text)
    return "".join(md_text(p) if i % 2 == 0 else f"`{visible(p)}`" if "\n" not in p
                   else md_text(p) for i, p in enumerate(parts))


def md_details(check: Check) -> str:
    """A check's explanation: message, hint, warnings, the transcript fenced, how to reproduce."""
    parts = []
    if check.message:
        parts.append(md_text(check.message.rstrip("\n")))
    if check.hint:
        parts.append("**Hint:** " + md_text(check.hint))
    parts.extend("**Warning:** " + md_text(w) for w in check.warnings)
    if check.transcript:
        parts.append("**Transcript:**\n\n" + md_code(check.transcript))
    if check.reproduce:
        parts.append(_md_spans(check.reproduce))
    return "\n\n".join(parts)


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

"""Report formats: each module renders the results model (`grader.harness.results`) to bytes.

The renderers share the few text rules below so that every format shows points the same way
and none of them lets a student program's output act on the reader (a terminal, a browser, an
XML parser). `FORMATS` names every format, what it takes and the file it is usually written to;
modules are imported on first use so that, say, the JSON writer never pays for `rich`.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

from ...harness.results import NOT_RUN_INTERRUPTED, Check, Run

LOG_TAIL_LINES = 30      # lines of a failed build's log that a report shows

# Characters that would act on a terminal, break XML 1.0, or reorder the text a reader sees:
# C0 controls except tab and newline, DEL and C1, lone surrogates (undecodable bytes kept by
# surrogateescape), the noncharacters U+FFFE/U+FFFF, bidirectional overrides, line separators.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
    "\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:         # surrogateescape: stands for the raw byte code-0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Text with every unsafe character written as a visible escape such as `\\x1b`.

    Program output reaches reports unfiltered; escaping (not dropping) keeps the evidence a
    student needs to see why a line did not match.
    """
    return _UNSAFE.sub(_escape, text)


def interruption(run: Run) -> str:
    """What every report says of a run that ^C or SIGTERM stopped ("" for any other run)."""
    if not run.interrupted:
        return ""
    left = sum(c.message == NOT_RUN_INTERRUPTED for c in run.checks)
    return (f"The grading was interrupted (^C or SIGTERM): {left} of {len(run.checks)} checks "
            "were not run, so this is not a final score.")


def one_line(text: str) -> str:
    """visible(), with newlines and tabs escaped too: for names and cells that must stay one line
    (a handin named "a\\n[3/3] b: graded" must not print a line of its own)."""
    return visible(text).replace("\n", "\\n").replace("\t", "\\t")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_cell(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs: one_line(), then, as OWASP's CSV
    injection advice says, a leading ' when it starts like a formula (=, +, -, @, tab, CR)."""
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return one_line(text)


def without_surrogates(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates become U+FFFD, for data formats (JSON, CSV)."""
    return _SURROGATE.sub("\ufffd", text)


def num(value: float) -> str:
    """Points as people write them: 2, 1.5, 0.33 (never 2.0 or 0.3333333)."""
    value = round(value, 2)
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0")


def log_tail(log: str, lines: int = LOG_TAIL_LINES) -> str:
    """The end of a build log, where the compiler's first fatal error usually is."""
    kept = log.rstrip("\n").splitlines()
    if len(kept) <= lines:
        return "\n".join(kept)
    return "\n".join([f"… {len(kept) - lines} earlier lines"] + kept[-lines:])


BUILD_FAILED = "not run: the build failed"


def not_run_line(run: Run) -> str:
    """The one line a failed build's checks are shown as: none of them could run."""
    n = len(run.checks)
    return (f"{BUILD_FAILED} ({n} check{'s' if n != 1 else ''}, {num(run.max_score)} "
            f"point{'s' if run.max_score != 1 else ''}, score 0)")


def details(check: Check) -> str:
    """A check's explanation as plain text (message, hint, warnings, transcript), unescaped."""
    parts = []
    if check.message:
        parts.append(check.message.rstrip("\n"))
    if check.hint:
        parts.append(f"hint: {check.hint}")
    parts.extend(f"warning: {w}" for w in check.warnings)
    if check.transcript:
        parts.append("transcript:\n" + check.transcript.rstrip("\n"))
    if check.reproduce:
        parts.append(check.reproduce)
    return "\n".join(parts)


def group_of(check_id: str) -> str:
    """The check group a check belongs to: the first word of its id (usage, client, server)."""
    return check_id.split("_", 1)[0]


def point_units(check: Check) -> list[bool]:
    """The check as whole points, each earned or not (a 3-point check that earned 2 is
    [True, True, False]): for platforms that count passed tests instead of adding scores.
    A check worth less than a point, or a fraction, is one unit."""
    whole = int(check.max_points)
    if whole < 1 or whole != check.max_points or check.points != int(check.points):
        return [check.points >= check.max_points > 0]
    earned = max(0, min(int(check.points), whole))
    return [True] * earned + [False] * (whole - earned)


@dataclass(frozen=True)
class Format:
    module: str          # module of this package that renders it
    function: str        # its function name
    takes: str           # "run" (one student's Run) or "batch" (a Batch)
    filename: str        # the file name it is usually written to


FORMATS: dict[str, Format] = {
    "terminal": Format("terminal", "render", "run", "feedback.txt"),
    "json": Format("json_report", "render", "run", "result.json"),
    "junit": Format("junit", "render", "run", "junit.xml"),
    "gradescope": Format("gradescope", "render", "run", "results.json"),
    "prairielearn": Format("prairielearn", "render", "run", "results.json"),
    "autolab": Format("autolab", "render", "run", "autolab.txt"),
    "classroom": Format("classroom", "render", "run", "classroom.json"),
    "codegrade": Format("junit", "render_units", "run", "junit.xml"),
    "csv": Format("csv_report", "render", "batch", "summary.csv"),
    "interop": Format("csv_report", "render_interop", "batch", "interop.csv"),
    "interop-json": Format("json_report", "render_interop", "batch", "interop.json"),
    "html": Format("html", "render", "batch", "report.html"),
}


def renderer(name: str) -> Callable[..., bytes]:
    """The render function of format `name` (a key of FORMATS)."""
    fmt = FORMATS[name]
    return getattr(importlib.import_module(f"{__name__}.{fmt.module}"), fmt.function)

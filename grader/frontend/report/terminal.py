"""The human report: what a student sees after `grade`, and the feedback.txt a TA hands back.

Built from `rich.text.Text` pieces only, never from markup strings, because messages and
transcripts carry program output: "[bold]" in a student's output must print as "[bold]".
Every string from the model goes through `visible()` first, so no escape sequence written by a
student program can reach the reader's terminal; with color=False the result has no escape
codes at all.
"""
from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from ...harness.results import ERROR, FAILED, PASSED, SKIPPED, Check, Run
from . import interruption, log_tail, not_run_line, num, one_line, visible

MARKS = {PASSED: ("✓", "bold green"), FAILED: ("✗", "bold red"),
         ERROR: ("!", "bold magenta"), SKIPPED: ("-", "dim")}
INDENT = 4               # explanations sit under their check's title
TRANSCRIPT_INDENT = 6
MIN_WRAP = 20           # even a narrow console gets this many cells of text per line


def _console(buffer: io.StringIO, color: bool, width: int) -> Console:
    return Console(
        file=buffer, width=width, force_terminal=color,
        color_system="standard" if color else None, no_color=False,
        markup=False, emoji=False, highlight=False, soft_wrap=True, legacy_windows=False,
    )


def _print(lines: list[Text], color: bool, width: int) -> bytes:
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    for line in lines:
        console.print(line)
    return buffer.getvalue().encode("utf-8")


def render(run: Run, *, color: bool, verbose: bool = False, width: int = 100,
           notes: bool = True, student: bool = False) -> bytes:
    """The run as text lines of at most `width` cells, UTF-8 encoded.

    notes=False leaves out the operator's notes (sandbox user, cgroups, isolation).
    student=True is what a student is handed (feedback.txt): no notes, and checks whose
    manifest visibility is not "visible" show their title and points only.
    """
    console = _console(io.StringIO(), color, width)
    return _print(_lines(run, verbose, console, notes and not student, student), color, width)


# A single grading shows each check as it finishes: the start line, each check, the end.

def render_start(assignment: str, target: str, *, color: bool, width: int = 100) -> bytes:
    left = Text.assemble((one_line(assignment), "bold"), "  ", one_line(target))
    return _print([_spread(left, Text("grading…", style="dim"), width), Text("")], color, width)


def render_check(check: Check, *, color: bool, verbose: bool = False, width: int = 100) -> bytes:
    console = _console(io.StringIO(), color, width)
    return _print(_check(check, verbose, console), color, width)


def render_end(run: Run, *, color: bool, verbose: bool = False, width: int = 100,
               notes: bool = True) -> bytes:
    """Everything render() shows but the checks, the score line last."""
    console = _console(io.StringIO(), color, width)
    out = _preamble(run, verbose, console, notes)
    out.append(Text(""))
    out.append(_spread(Text(_summary(run)), Text(f"{run.duration_s:.1f}s"), width))
    return _print(out, color, width)


def _lines(run: Run, verbose: bool, console: Console, notes: bool = True,
           student: bool = False) -> list[Text]:
    out = [_header(run, console.width)]
    out += _preamble(run, verbose, console, notes)
    if run.checks:
        out.append(Text(""))
    if run.build.status == "failed" and run.checks:     # none ran: one line, not one per check
        out += _block(not_run_line(run), 0, console, style="dim")
    for check in run.checks if run.build.status != "failed" else []:
        if student and getattr(check, "visibility", "visible") not in ("visible", ""):
            out += _check(check, False, console)[:1]
            if check.status != PASSED:
                out += _block("hidden check: no details", INDENT, console, style="dim")
            continue
        out += _check(check, verbose, console)
    out.append(Text(""))
    out.append(Text(_summary(run)))
    return out


def _preamble(run: Run, verbose: bool, console: Console, notes: bool) -> list[Text]:
    out: list[Text] = []
    if run.student:
        out += _block(one_line(run.student), 0, console, label=("student: ", "dim"))
    for note in run.notes if notes else []:
        out += _block(visible(note), 0, console, style="dim", label=("note: ", "dim"))
    if run.build.status == "failed" or (verbose and run.build.status != "skipped"):
        out += _build(run, console, verbose)
    for warning in run.build.warnings:
        out += _block(visible(warning), 0, console, style="yellow",
                      label=("build warning: ", "bold yellow"))
    if run.error:
        out.append(Text("grader error:", style="bold magenta"))
        out += _block(visible(run.error), INDENT, console)
    if run.interrupted:
        out += _block(interruption(run), 0, console, style="bold yellow")
    if run.cut:
        out += _block(f"the time budget ran out; not run: {', '.join(run.cut)}", 0, console,
                      style="yellow", label=("budget: ", "bold yellow"))
    return out


def _header(run: Run, width: int) -> Text:
    left = Text.assemble((one_line(run.assignment), "bold"), "  ", one_line(run.target))
    if run.max_score and run.score >= run.max_score:
        style = "bold green"
    elif run.score > 0:
        style = "bold yellow"
    else:
        style = "bold red"
    right = Text.assemble(("score ", "bold"), (f"{num(run.score)}/{num(run.max_score)}", style),
                          f"  {run.duration_s:.1f}s")
    return _spread(left, right, width)


def _build(run: Run, console: Console, verbose: bool) -> list[Text]:
    failed = run.build.status == "failed"
    out = [Text.assemble(("build: ", "bold"),
                         (visible(run.build.status), "bold red" if failed else "green"))]
    if run.build.log and (failed or verbose):
        out += _block(visible(log_tail(run.build.log)), INDENT, console, style="dim")
    return out


def _check(check: Check, verbose: bool, console: Console) -> list[Text]:
    mark, style = MARKS.get(check.status, ("?", "bold"))
    left = Text.assemble((mark, style), " ", one_line(check.title))
    points = f"{num(check.points)}/{num(check.max_points)}"
    if verbose:
        points = f"{check.duration_s:.2f}s  {points}"
    out = [_spread(left, Text(points, style=style), console.width)]
    explain = check.status in (FAILED, ERROR) or verbose
    if check.message and (explain or check.status == SKIPPED):
        out += _block(visible(check.message.rstrip("\n")), INDENT, console)
    if check.hint and explain:
        out += _block(visible(check.hint), INDENT, console, label=("hint: ", "cyan"))
    out += [line for w in check.warnings
            for line in _block(visible(w), INDENT, console, label=("warning: ", "yellow"))]
    if check.transcript and explain:
        out.append(Text(" " * INDENT + "transcript:", style="dim"))
        out += _block(visible(check.transcript.rstrip("\n")), TRANSCRIPT_INDENT, console)
    if check.reproduce and explain:
        out += _block(visible(check.reproduce), INDENT, console, style="cyan")
    return out


def _summary(run: Run) -> str:
    counts = {s: sum(c.status == s for c in run.checks) for s in (PASSED, FAILED, ERROR, SKIPPED)}
    text = (f"score {num(run.score)}/{num(run.max_score)} — "
            f"{counts[PASSED]} passed, {counts[FAILED]} failed")
    if counts[ERROR]:
        text += f", {counts[ERROR]} error" + ("s" if counts[ERROR] > 1 else "")
    if counts[SKIPPED]:
        text += f", {counts[SKIPPED]} skipped"
    return text


def _spread(left: Text, right: Text, width: int) -> Text:
    """`left` and `right` on one line, `right` flush with the right margin."""
    room = width - cell_len(right.plain) - 2
    if cell_len(left.plain) > room:
        left.truncate(max(room, 1), overflow="ellipsis")
    gap = width - cell_len(left.plain) - cell_len(right.plain)
    return Text.assemble(left, " " * max(gap, 2), right)


def _block(text: str, indent: int, console: Console, *, style: str = "",
           label: tuple[str, str] | None = None) -> list[Text]:
    """`text` wrapped to the console's width, every line (continuations too) indented."""
    body = Text.assemble(label, text) if label else Text(text)
    body.stylize(style, len(label[0]) if label else 0)
    pad = Text(" " * indent)
    lines = body.wrap(console, max(console.width - indent, MIN_WRAP), overflow="fold")
    for line in lines:
        line.rstrip()                    # in place: no trailing blanks in feedback.txt
    return [pad + line for line in lines]

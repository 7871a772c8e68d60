"""How far a batch is: a progress bar on a terminal, one plain line per student in a log, and
the closing line of scores (mean, median, a one-line histogram)."""
from __future__ import annotations

import os
import sys
import time

from .report import num, one_line, visible
from ..harness.results import StudentResult

REDRAW = 0.5                      # seconds between redraws of the progress bar when idle


class Progress:
    """A bar on a terminal; one plain line per finished student otherwise (CI, logs).

    The bar names who is being graded now and an ETA that moves every redraw: the wall time
    per finished student so far (all workers together) times those left, less the time since.
    """

    def __init__(self, total: int, label: str, jobs: int = 1):
        self.total, self.count, self.label = total, 0, label
        self.jobs = max(jobs, 1)
        self.started = time.monotonic()
        self.drawn = 0.0
        self.running: list[str] = []
        self.bar = None
        if total and sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       TextColumn, TimeElapsedColumn)
            # auto_refresh off: no refresh thread, so forking workers stays safe.
            self.bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                           console=Console(stderr=True, markup=False, highlight=False),
                           auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
            self.task = self.bar.add_task(label, total=total, eta="")
            self.bar.start()

    def eta(self) -> str:
        """Time left, as "ETA 1m05s"; empty until a student has finished."""
        if not self.count or self.count >= self.total:
            return ""
        elapsed = time.monotonic() - self.started
        left = max(elapsed / self.count * self.total - elapsed, 0.0)
        minutes, seconds = divmod(int(left + 0.5), 60)
        return f"ETA {minutes}m{seconds:02d}s" if minutes else f"ETA {seconds}s"

    def grading(self, names: list[str]) -> None:
        """Who is being graded now (shown in the bar)."""
        self.running = names

    def _description(self) -> str:
        if not self.running:
            return self.label
        names = ", ".join(one_line(n) for n in self.running)
        if len(names) > 40:
            names = names[:39] + "…"
        return f"{self.label} · {names}"

    def line(self, text: str, important: bool = True) -> None:
        """A finished item: above the bar on a terminal (problems only), else a plain line."""
        self.count += 1
        text = f"[{self.count}/{self.total}] {visible(text)}"
        if self.bar is not None:
            if important:
                self.bar.console.print(text, markup=False, highlight=False)
            self.bar.update(self.task, advance=1, description=self._description(),
                            eta=self.eta())
            self.bar.refresh()
        else:
            eta = self.eta()
            sys.stderr.write(text + (f"  {eta}" if eta else "") + "\n")
            sys.stderr.flush()

    def tick(self) -> None:
        """Redraw the bar now and then while nothing finishes (its clock and ETA move)."""
        if self.bar is not None and time.monotonic() - self.drawn >= REDRAW:
            self.bar.update(self.task, description=self._description(), eta=self.eta())
            self.bar.refresh()
            self.drawn = time.monotonic()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def describe(result: StudentResult, max_score: float, seconds: float) -> str:
    """A finished student as one line of progress (a name's newlines cannot start a line)."""
    text = f"{one_line(result.student)}: {result.status} {num(result.score)}/{num(max_score)}" \
           f" ({seconds:.1f}s)"
    return text + (f" — {one_line(result.reason)}" if result.reason else "")


BLOCKS = " ▁▂▃▄▅▆▇█"


def score_line(scores: list[float], max_score: float) -> str:
    """mean, median and a one-line histogram of the scores (ten ranges of 0..max)."""
    from .report.html import histogram
    if not scores:
        return "no scores"
    ordered = sorted(scores)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    bins = histogram(scores, max_score)
    top = max(n for _, _, n in bins) or 1
    bars = "".join(BLOCKS[0 if n == 0 else max(1, round(8 * n / top))] for _, _, n in bins)
    return (f"mean {num(sum(scores) / len(scores))}, median {num(median)} of {num(max_score)}; "
            f"scores 0 |{bars}| {num(max_score)}")

"""The state of one running check: its transcript, deviations, waits, and what to clean up."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..settings import Settings
from .transcript import Transcript


class CheckFailure(AssertionError):
    """The program under test did something wrong. The hint, if given, replaces the check's."""

    def __init__(self, message: str, hint: Optional[str] = None):
        super().__init__(message)
        self.hint = hint


MAX_STEPS = 1000        # a check's steps kept for its "reproduce by hand" line


@dataclass(frozen=True)
class Step:
    """One thing a check did, as a person would do it by hand (grader/harness/reproduce.py): a
    program started (argv) or run to its exit, text typed or sent, ^D, ^C, a peer that took
    part or closed its connection."""
    who: str                        # the participant's name, as in the transcript
    kind: str                       # start | run | peer | type | eof | interrupt | close
    text: str = ""                  # what was typed or sent (undecodable bytes escaped)
    argv: tuple[str, ...] = ()      # start, run: the command line


@dataclass
class Case:
    settings: Settings
    strict: bool = False
    transcript: Transcript = field(default_factory=Transcript)
    deviations: list[str] = field(default_factory=list)
    waited_s: float = 0.0
    cleanups: list[Callable[[], object]] = field(default_factory=list)
    workdir: Optional[Path] = None    # the program's working directory, fresh for each case
    cgroup: Any = None                # the case's pids cgroup, when there is one
    helpers: frozenset = frozenset()  # the grader's own processes (watchdog, namespace init)
    programs: list = field(default_factory=list)   # every Program started in this case
    windowed: bool = False            # run again without the debugging flag (see plugin.py)
    used_debug_flag: bool = False     # a program was started with the debugging flag
    no_windows: bool = False          # run windowed, a program never drew its windows
    strict_failed: bool = False       # it failed only for its wording, under --strict
    eof_missed: bool = False          # a program went on after the end of input (^D)
    warnings: list[str] = field(default_factory=list)   # tolerated behaviour, never --strict
    exec_watch: Any = None            # what its programs execute (grader.harness.execs.Watch)
    steps: list[Step] = field(default_factory=list)     # what the check did, in order

    def step(self, who: str, kind: str, text: str = "", argv: Sequence[str] = ()) -> None:
        """Record what the check did, for the failure's "reproduce by hand" line."""
        if len(self.steps) < MAX_STEPS:
            self.steps.append(Step(who, kind, text, tuple(argv)))

    def deviation(self, text: str) -> None:
        """The program differs from the handout's exact text in a way the spec leaves open.

        A warning normally; a failure under --strict (raised at the end of the check, so the
        rest of the check still runs and reports).
        """
        if text not in self.deviations:
            self.deviations.append(text)
            self.transcript.add("grader", "·", "deviation: " + text)

    def warn(self, text: str) -> None:
        """Behaviour the spec leaves open or that only a debugging mode shows: costs nothing.

        Unlike a deviation in wording, --strict does not turn it into a failure.
        """
        if text not in self.warnings:
            self.warnings.append(text)
            self.transcript.add("grader", "·", "warning: " + text)

    def note(self, text: str) -> None:
        self.transcript.add("grader", "·", text)

    def on_cleanup(self, fn: Callable[[], object]) -> None:
        self.cleanups.append(fn)

    def close(self) -> None:
        """Run cleanups newest first; every one runs even if another fails."""
        errors = []
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception as e:   # noqa: BLE001 - keep cleaning, report after
                errors.append(e)
        if errors:
            raise errors[0]

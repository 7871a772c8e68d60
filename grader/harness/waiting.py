"""One wait of a check: for an event, with a deadline, ended early when nothing can come.

While any participant waits, every program of the case is listened to: its output goes into
its buffer and the transcript as it is printed (so a failure shows "connect: Connection
refused" at the moment it was printed), and its exit is seen the moment it happens (a pidfd).
A wait ends before its deadline only when the event cannot happen any more: every program
of the case has ended, or every one is stuck waiting for input the check will not send
(grader.harness.stall). Only a wrong program makes a wait run to its deadline.
"""
from __future__ import annotations

import select
import time
from typing import Any, Callable, Optional

from .case import Case, CheckFailure
from .stall import StallWatch


class Waiter:
    def __init__(self, case: Case, timeout: float, own: Any = None,
                 grace: float = 0.0):
        """own: the participant (or socket) whose readiness the caller waits for, if any.

        grace: how long, after every program ended, what they sent may still be on its way
        to `own` (bytes on a socket; nothing is in flight for a listening port or a state).
        """
        self.case, self.own, self.grace = case, own, grace
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        settings = case.settings
        self._slice = settings.stall_poll
        # Fresh for each wait: what was sent just before it may still be on its way, so a
        # stall counts from the start of the wait, never from before.
        self._watches = {id(p): StallWatch(settings.stall_window) for p in case.programs}
        self._all_ended_at: Optional[float] = None
        self._next_look = 0.0       # when the programs' states are read again (see obstacle)

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def pump(self, timeout: Optional[float] = None) -> bool:
        """Wait up to timeout (a short slice at most) for `own`; meanwhile take in programs.

        True when `own` became readable.
        """
        slice_ = min(self._slice, max(self.remaining, 0.0) if timeout is None else timeout)
        programs = [p for p in self.case.programs if p is not self.own]
        readers = [p for p in programs if not p.output_ended]
        exits = [p for p in self.case.programs if p._exit_watch() is not None]
        watched: list = readers + [_Exit(p) for p in exits]
        own_fd = None
        if self.own is not None and not getattr(self.own, "output_ended", False):
            try:
                own_fd = self.own.fileno()
            except (OSError, ValueError):
                own_fd = None
        fds = watched + ([self.own] if own_fd is not None and own_fd >= 0 else [])
        try:
            ready, _, _ = select.select(fds, [], [], max(slice_, 0.0))
        except (OSError, ValueError):
            ready = []
        for r in ready:
            if isinstance(r, _Exit):
                r.program._notice_exit()
            elif r is not self.own:
                r._take_available()
        return any(r is self.own for r in ready)

    def obstacle(self) -> Optional[str]:
        """Why the awaited event can no longer happen, or None while it still may."""
        programs = self.case.programs
        if not programs:
            return None
        if self.own in programs and not self.own.alive:
            return f"{self.own.name} {self.own.ended_text()}"
        ended = [p for p in programs if not p.alive]
        if len(ended) == len(programs):
            now = time.monotonic()
            if self._all_ended_at is None:
                self._all_ended_at = now    # what it sent before it ended may still be on its way
            if now - self._all_ended_at < self.grace:
                return None
            return "; ".join(f"{p.name} {p.ended_text()}" for p in programs)
        # A stall lasts a whole window: reading every program's state once a stall_poll is
        # enough, however often a condition is re-checked (every poll_interval) or output
        # arrives, and costs a tenth of the /proc reads.
        now = time.monotonic()
        if now < self._next_look:
            return None
        self._next_look = now + self.case.settings.stall_poll
        stalls = []
        for p in programs:
            if not p.alive:
                continue
            why = self._watches.setdefault(id(p), StallWatch(self.case.settings.stall_window)) \
                .check(p._process_ids())
            if why is None:
                return None
            stalls.append(f"{p.name} has been waiting in {why} for "
                          f"{self.case.settings.stall_window:g}s, for something this check "
                          "will not send")
        return "; ".join(stalls) if stalls else None

    def until(self, condition: Callable[[], bool], what: str,
              hint: Optional[str] = None) -> None:
        """Re-check a condition that has no event of its own until it holds."""
        while not condition():
            if self.remaining <= 0:
                raise CheckFailure(f"expected {what} within {self.timeout:g}s", hint)
            why = self.obstacle()
            if why is not None:
                if condition():
                    return
                raise CheckFailure(f"expected {what}, but {why}", hint)
            self.pump(min(self.case.settings.poll_interval, max(self.remaining, 0.0)))


class _Exit:
    """A program's pidfd, readable when the program has exited."""

    def __init__(self, program):
        self.program = program

    def fileno(self) -> int:
        return self.program._exit_watch()

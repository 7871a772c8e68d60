"""Workers: forked child processes that each do one job of a batch under a time budget.

A batch grades many students at once. Each job runs in a child forked from the batch process
(which has already imported pytest and the grader, so a child starts in milliseconds instead of
paying for a fresh interpreter) in a process group of its own, so that the terminal's ^C
reaches only the batch process, which then stops the children in order:

- SIGTERM to the child's process group, which the grader turns into KeyboardInterrupt so every
  case's clean-up kills the student's programs (grader/harness/session.py);
- SIGKILL to the child itself after a grace period; the child's watchdog (same process group,
  deaf to SIGTERM) then kills whatever student program is left.

A worker also dies with the batch process: it has a parent-death signal (SIGKILL), so a batch
killed with SIGKILL takes its workers with it at once, and their watchdogs end the rest.

The batch process stays single-threaded (no timer or progress thread), because forking a
threaded process can leave a lock held forever in the child. Signals do not raise in it
either: SIGINT, SIGTERM and SIGHUP only set a flag the loop reads (StopRequest), so no
half-started child is lost and the summaries are still written.
"""
from __future__ import annotations

import os
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ..containment import launcher, sandbox

TICK = 0.2                   # the loop's longest sleep: budgets and strays are looked at this often
KILL_WAIT = 0.01             # the loop's sleep once a worker has been sent its last signal
EXIT_INTERRUPTED = 130       # a child stopped by SIGTERM
EXIT_CRASHED = 70            # a child whose job raised
LOG_TAIL_BYTES = 8192        # of a child's own output, kept for its error report


@dataclass
class Job:
    """Work for one child: `run(staging)` leaves its files in the staging directory."""
    key: str
    run: Callable[[Path], None]
    staging: Path
    budget: float


@dataclass
class Outcome:
    job: Job
    code: Optional[int]          # exit status, or None when killed by a signal
    signal: Optional[int]
    seconds: float
    timed_out: bool
    log: str                     # the tail of what the child wrote to stdout and stderr

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out


@dataclass
class _Running:
    job: Job
    pid: int
    pidfd: int
    started: float
    log: Path
    term_at: float               # when to send SIGTERM (the budget ends)
    kill_at: float = float("inf")
    timed_out: bool = False


class StopRequest:
    """^C, SIGTERM and SIGHUP as a flag the batch reads at safe points, never as an exception.

    Used as a context manager around a whole batch; entering it again (a pool inside the
    batch) is allowed and changes nothing.
    """
    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.requested = False
        self._depth = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopRequest":
        if self._depth == 0:
            self._previous = {s: signal.signal(s, self._on_signal) for s in self.SIGNALS}
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            for s, handler in self._previous.items():
                signal.signal(s, handler)

    def _on_signal(self, signum, frame) -> None:
        self.requested = True


@dataclass
class Pool:
    """Runs jobs, `size` at a time; each finished job is handed to `done` in the parent."""
    size: int
    grace: float = 5.0
    stop: StopRequest = field(default_factory=StopRequest)
    _running: dict[int, _Running] = field(default_factory=dict, init=False)

    def run(self, jobs: Iterable[Job], done: Callable[[Outcome], None],
            tick: Callable[[], None] = lambda: None) -> bool:
        """Run every job; False when a stop was requested before all of them had finished.

        A job that completed before the stop still reaches `done`; the others are discarded.
        A worker stopped by a signal from outside (a cluster cancelling the whole job sends
        SIGTERM to every process) counts as a stop request too, not as that student's error.
        """
        pending = list(jobs)
        with self.stop:
            try:
                while (pending and not self.stop.requested) or self._running:
                    while pending and not self.stop.requested and len(self._running) < self.size:
                        self._start(pending.pop(0))
                    if self.stop.requested:
                        self._stop_all()
                    self._wait()
                    for outcome in self._reap():
                        if outcome.code == EXIT_INTERRUPTED and not outcome.timed_out:
                            self.stop.requested = True
                        if outcome.ok or not self.stop.requested:
                            done(outcome)
                    tick()
            finally:
                self._kill_everything()
        return not self.stop.requested

    # -- starting -------------------------------------------------------------------------
    def _start(self, job: Job) -> None:
        log = job.staging.with_name(job.staging.name + ".log")
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(job, log, parent)         # never returns
        try:
            os.setpgid(pid, pid)
        except OSError:              # the child did it first, or has already ended
            pass
        now = time.monotonic()
        self._running[pid] = _Running(job, pid, os.pidfd_open(pid), now, log,
                                      term_at=now + job.budget)

    # -- waiting and reaping --------------------------------------------------------------
    def _wait(self) -> None:
        """Enforce budgets and grace periods, then sleep until a worker ends (at most TICK)."""
        now = time.monotonic()
        for r in self._running.values():
            if now >= r.kill_at:
                _signal(r.pid, signal.SIGKILL)
            elif r.kill_at == float("inf") and now >= r.term_at:
                r.timed_out = True
                self._terminate(r, now)
        nearest = min((r.kill_at if r.kill_at != float("inf") else r.term_at
                       for r in self._running.values()), default=now)
        fds = [r.pidfd for r in self._running.values()]
        if fds:
            # Past a deadline the signal has been sent: wait a little for it to act.
            select.select(fds, [], [], min(max(nearest - now, KILL_WAIT), TICK))

    def _terminate(self, r: _Running, now: float) -> None:
        try:
            os.killpg(r.pid, signal.SIGTERM)
        except OSError:
            _signal(r.pid, signal.SIGTERM)
        r.kill_at = now + self.grace

    def _stop_all(self) -> None:
        now = time.monotonic()
        for r in self._running.values():
            if r.kill_at == float("inf"):
                self._terminate(r, now)

    def _reap(self) -> list[Outcome]:
        """Collect every ended child: our workers, and strays re-parented to us (subreaper)."""
        finished = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            r = self._running.pop(pid, None)
            if r is None:
                continue
            os.close(r.pidfd)
            code = os.waitstatus_to_exitcode(status)
            finished.append(Outcome(r.job, code if code >= 0 else None,
                                    -code if code < 0 else None,
                                    round(time.monotonic() - r.started, 3), r.timed_out,
                                    _tail(r.log)))
            r.log.unlink(missing_ok=True)
        return finished

    def _kill_everything(self) -> None:
        """Only reached with children left when the parent itself failed: leave none behind."""
        for r in list(self._running.values()):
            _signal(r.pid, signal.SIGKILL)
            try:
                os.waitpid(r.pid, 0)
            except ChildProcessError:
                pass
            os.close(r.pidfd)
            r.log.unlink(missing_ok=True)
        self._running.clear()


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(f.seek(0, os.SEEK_END) - LOG_TAIL_BYTES, 0))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _die_with(parent: int) -> None:
    """SIGKILL when the batch process dies, even by SIGKILL (the worker's watchdog then ends
    what the worker started); and if it died before this line, end now."""
    if sandbox.die_with_parent() != 0 or os.getppid() != parent:
        os._exit(EXIT_INTERRUPTED)


def _child(job: Job, log: Path, parent: int) -> None:
    """The forked side: own process group, quiet stdio, the job, then _exit (no parent cleanup)."""
    code = EXIT_CRASHED
    try:
        _die_with(parent)
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_interrupt)
        signal.signal(signal.SIGHUP, _raise_interrupt)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        low = 3
        for fd in sorted(launcher.held_descriptors()):    # the sealed launcher stays ours
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        # Fresh objects on the new descriptors: the inherited ones may be wrapped (a test
        # runner's capture, a progress display) and could hold the parent's buffered text.
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        sandbox.become_subreaper()
        job.staging.mkdir(parents=True, exist_ok=True)
        job.run(job.staging)
        code = 0
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BaseException:  # noqa: BLE001 - the parent reports it from the log
        traceback.print_exc()
        code = EXIT_CRASHED
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)

"""The program under test, run in a pseudo-terminal as a student would run it.

A pty keeps the program's stdio line-buffered and lets the grader type lines, ^D and ^C
exactly as at a keyboard. Echo is off, so what we type never looks like program output.
"""
from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import pexpect
import pexpect.fdpexpect
import psutil

from ..containment import launcher, members, processes, sandbox
from . import ports
from .case import Case, CheckFailure
from .stall import BLOCKING, StallWatch, snapshot, timed_wait
from .streams import Endpoint
from .waiting import Waiter


@dataclass
class ExitStatus:
    code: Optional[int]
    signal: Optional[int]
    out_of_memory: bool = False       # the kernel's OOM killer sent the SIGKILL

    def __str__(self) -> str:
        if self.signal is not None:
            oom = " by the kernel: the container ran out of memory" if self.out_of_memory else ""
            return f"killed by {signal.Signals(self.signal).name}{oom}"
        return f"exit status {self.code}"


def exit_status(code: int, oom_before: Optional[int]) -> ExitStatus:
    """A Popen return code as an ExitStatus; a SIGKILL counts as the OOM killer's when the
    container's count of OOM kills grew since the program started."""
    if code >= 0:
        return ExitStatus(code, None)
    after = sandbox.oom_kills() if -code == signal.SIGKILL and oom_before is not None else None
    return ExitStatus(None, -code, after is not None and oom_before is not None
                      and after > oom_before)


class Program(Endpoint):
    crlf = True
    line_search = True

    def __init__(self, case: Case, name: str, argv: Sequence[str], *, cwd: str,
                 env: dict[str, str], launch: Sequence[str],
                 dimensions: tuple[int, int] = (24, 80)):
        """Start argv on a new pty through `launch` (the sandbox launcher's command prefix)."""
        super().__init__(case, name)
        self.argv = list(argv)
        self.status: Optional[ExitStatus] = None
        self._drained = False          # its output after its exit read to the end (or deadline)
        self.eof_typed = False        # ^D was typed to it (a debugging-flag cause, plugin.py)
        self._oom_before = sandbox.oom_kills()
        case.transcript.add(name, "·", "started: " + " ".join(self.argv))
        case.step(name, "start", argv=self.argv)
        master, slave = os.openpty()
        try:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", *dimensions, 0, 0))
            attrs = termios.tcgetattr(slave)
            attrs[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            self._eof_char, self._intr_char = attrs[6][termios.VEOF], attrs[6][termios.VINTR]
            self._proc = subprocess.Popen([*launch, *self.argv], stdin=slave, stdout=slave,
                                          stderr=slave, cwd=cwd, env=env, close_fds=True,
                                          pass_fds=launcher.passed_fds(list(launch)))
        except OSError as e:
            os.close(master)
            raise CheckFailure(f"could not start {self.argv[0]}: {e.strerror or e}")
        finally:
            os.close(slave)
        self.child = pexpect.fdpexpect.fdspawn(master, timeout=None)
        self.child.delaybeforesend = None     # pexpect sleeps before sends by default
        self.pid = self._proc.pid
        self._pidfd = os.pidfd_open(self.pid)
        case.on_cleanup(self.kill)
        case.programs.append(self)

    # -- I/O -----------------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[bytes]:
        try:
            return self.child.read_nonblocking(65536, timeout)
        except pexpect.TIMEOUT:
            return None
        except (pexpect.EOF, OSError):
            return b""

    def _write(self, data: bytes) -> None:
        try:
            self.child.send(data)
        except OSError as e:
            raise CheckFailure(f"could not type into {self.name}: {e.strerror or e}")

    def fileno(self) -> int:
        return self.child.child_fd

    def say(self, text: str) -> None:
        """Type a line and press Enter.

        Echo is off, so what the program prints is all that comes back; what a terminal would
        have echoed is in the transcript (→) only. A prompt the user answered stays on the
        line the program's next output continues, which is why a terminal line is searched.
        """
        super().say(text)

    def type(self, text: str) -> None:
        """Type text without pressing Enter."""
        self.send(text)

    def send_eof(self) -> None:
        """Type ^D: ends a partial line, or signals end of input at the start of a line."""
        self.case.transcript.add(self.name, "→", "^D")
        self.eof_typed = True
        self.case.step(self.name, "eof")
        self._write(self._eof_char)

    def interrupt(self) -> None:
        """Type ^C: the terminal sends SIGINT to the program's process group."""
        self.case.transcript.add(self.name, "→", "^C")
        self.case.step(self.name, "interrupt")
        self._write(self._intr_char)

    # -- life and death ------------------------------------------------------------------
    def _poll_status(self) -> Optional[ExitStatus]:
        """The exit status once the program has exited (None while it runs).

        However the exit is first seen (its pidfd, a look at whether it is alive), what it
        printed before is taken in first, so a report on its exit shows its last words, and
        shows them before the exit in the transcript.
        """
        if self.status is None and (code := self._proc.poll()) is not None:
            self.status = exit_status(code, self._oom_before)
            self._drain_output()
            self.case.transcript.add(self.name, "·", str(self.status))
        return self.status

    @property
    def alive(self) -> bool:
        return self._poll_status() is None

    def _exit_watch(self) -> Optional[int]:
        """A descriptor that becomes readable when the program exits (None once it has)."""
        return self._pidfd if self.status is None and self._pidfd >= 0 else None

    def _notice_exit(self) -> None:
        """The program has exited: record when, and take in what it printed before."""
        self._poll_status()

    def ended_text(self) -> str:
        status = self._poll_status()
        if status is None:
            return "is still running"
        return f"was {status}" if status.signal is not None else f"exited with status {status.code}"

    def _process_ids(self) -> list[int]:
        """The program and everything it started, in its own tree or not (what may still
        make progress, what a measurement sums over): see grader.containment.members."""
        snap = self._snapshot()
        own = snap.tree(self.pid)
        return own + self._outside(snap, own)

    def _snapshot(self) -> members.Snapshot:
        cgroup = self.case.cgroup.pids() if self.case.cgroup is not None else None
        return members.Snapshot(cgroup, self.case.helpers)

    def _outside(self, snap: members.Snapshot, own: list[int]) -> list[int]:
        """The case's live processes that neither this program's tree nor another program's
        holds: what a program double-forked and orphaned."""
        trees = set(own)
        for other in self.case.programs:
            if other is not self:
                trees.update(snap.tree(other.pid))
        return snap.left_outside(trees)

    def expect_nothing_outside(self, snap: Optional[members.Snapshot] = None) -> None:
        """A measurement judges the whole program: what it left running outside its own tree
        is part of it, and a program must not leave any."""
        snap = snap or self._snapshot()
        outside = self._outside(snap, snap.tree(self.pid))
        if outside:
            shown = ", ".join(members.describe(p) for p in outside[:3])
            more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
            raise CheckFailure(
                f"{self.name} left a process running outside its own tree: {shown}{more}",
                "wait for every child you fork; a process that leaves its parent (a double "
                "fork, setsid) is still your program's, and keeps running after it")

    def _ended_before(self, what: str) -> str:
        # Its terminal closes as it exits: the exit itself is a moment away at most.
        status = self.wait_exit(self.settings.exit_grace)
        ended = self.ended_text() if status is not None else "closed its terminal"
        return f"{self.name} {ended} before printing {what}; it had printed: {self._pending()}"

    def wait_exit(self, timeout: Optional[float] = None) -> Optional[ExitStatus]:
        """The exit status once the program has exited, or None if it is still running.

        Waits up to timeout (the exit deadline when None; 0: only looks) for the exit.
        """
        timeout = self.settings.exit_timeout if timeout is None else timeout
        if self._poll_status() is None:
            select.select([self._pidfd], [], [], max(timeout, 0))
        return self._poll_status()

    def _drain_output(self) -> None:
        """Take in what the program has written; all of it once it has exited.

        The exit can be seen before the terminal hands over the last bytes written to it, so
        after the exit the terminal is read until it ends (EIO once no process holds it),
        within exit_drain. What the program left running may hold the terminal open and write
        on: then only what is there now is taken in, and the rest is read as it comes.
        """
        if self.status is None or self._drained or self._outside(self._snapshot(), []):
            self._take_available()
            return
        self._drained = True
        deadline = time.monotonic() + self.settings.exit_drain
        start = self._received
        while (not self._eof and self._received - start < self.settings.output_cap
               and (left := deadline - time.monotonic()) > 0):
            self._fill(left)

    def expect_exit(self, code: Optional[int] = 0, timeout: Optional[float] = None,
                    allow_signal: bool = False, hint: Optional[str] = None,
                    any_code: Optional[str] = None, promptly: bool = False) -> ExitStatus:
        """Wait for the program to end; code None accepts any exit status.

        any_code: the handout leaves the status open; another status than `code` is then a
        warning naming this situation, not a failure. promptly: within the shorter deadline
        for "exits promptly" (prompt_exit_timeout) instead of the exit deadline.
        """
        if timeout is None:
            timeout = self.settings.prompt_exit_timeout if promptly else self.settings.exit_timeout
        waiter = Waiter(self.case, timeout)
        watch = StallWatch(self.settings.stall_window)
        while self._poll_status() is None:
            if waiter.remaining <= 0:
                self._drain_output()
                raise CheckFailure(f"{self.name} did not exit within {timeout:g}s", hint)
            why = watch.check(self._process_ids())
            if why is not None and self.alive:
                self._drain_output()
                raise CheckFailure(f"{self.name} did not exit: it has been waiting in {why} "
                                   f"for {self.settings.stall_window:g}s", hint)
            waiter.pump()
        status = self.status
        assert status is not None          # the loop above ends only once it is known
        self._drain_output()
        if status.signal is not None and not allow_signal:
            raise CheckFailure(f"{self.name} was {status}", hint)
        if status.signal is None and code is not None and status.code != code:
            if any_code is None:
                raise CheckFailure(f"{self.name} ended with {status}, expected {code}", hint)
            self.case.warn(f"{self.name} ended with {status} {any_code}; {code} is usual, "
                           "but the handout does not fix it")
        return status

    def expect_chat_ready(self) -> None:
        """Wait until what is typed reaches the chat. Plain output: it does at once."""

    def expect_running(self, hint: Optional[str] = None) -> None:
        status = self._poll_status()
        if status is not None:
            self._drain_output()
            raise CheckFailure(f"{self.name} should still be running, but it ended ({status})",
                               hint)

    def expect_stays_running(self, hint: Optional[str] = None) -> None:
        """The program must go on waiting rather than exit.

        The event is the program waiting in a call only outside input ends (pause(), a
        read, poll without a timeout: grader.harness.stall) or exiting; merely asleep is not enough,
        since a program on its way out sleeps too. A program still on the CPU, or sleeping
        with a timeout, after the quiet period is running too (it may be spinning; the idle
        checks judge that).
        """
        status = self.settle()
        if status is not None:
            raise CheckFailure(f"{self.name} should keep running, but it ended ({status})", hint)

    def settle(self) -> Optional[ExitStatus]:
        """Wait until the program exits or waits in a call only outside input ends (or the
        quiet period passes); its exit status if it has exited."""
        def settled() -> bool:
            if not self.alive:
                return True
            if BLOCKING:
                return snapshot(self._process_ids()) is not None
            return processes.state(self.pid) in "SDTtZX"
        ports.wait_until(settled, self.settings.quiet_period, self.settings.poll_interval)
        return self.wait_exit(0)

    def expect_waits_for_user(self, hint: Optional[str] = None) -> None:
        """The program must go on waiting for an outside event (pause(), a blocking read,
        poll without a timeout), not for a timer: a program asleep in sleep() or in poll()
        with a timeout goes on, or ends, by itself. Judged as expect_stays_running settles;
        one still on the CPU then is running (whether it spins is the idle checks' business).
        """
        self.expect_stays_running(hint)
        timed = timed_wait(self._process_ids()) if BLOCKING else None
        if timed is not None and snapshot(self._process_ids()) is None:
            raise CheckFailure(f"{self.name} waits in {timed}, which ends by itself after a "
                               "while: it is not waiting for ^C", hint)

    def expect_listening(self, port: int, udp: bool = False, hint: Optional[str] = None) -> None:
        """Wait until the program has bound (UDP) or is listening on (TCP) the port."""
        check = ports.is_udp_bound if udp else ports.is_listening
        what = f"{self.name} to {'bind' if udp else 'listen on'} port {port}"
        try:
            Waiter(self.case, self.settings.start_timeout).until(lambda: check(port), what)
        except CheckFailure as e:
            self._drain_output()
            raise CheckFailure(f"{e}; its output: {self._pending()}", hint)

    def kill(self) -> None:
        """End the program and its process group at once; reap it; release the pty."""
        if self._poll_status() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            processes.kill(self.pid)
            select.select([self._pidfd], [], [], self.settings.exit_timeout)
            self._poll_status()
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        if not self.child.closed:
            self.child.close()

    # -- measurements ----------------------------------------------------------------------
    def cpu_times(self) -> dict[str, tuple[int, int, int]]:
        """Per thread of the program and what it started: (ns on a CPU, ns waiting for one,
        times it blocked).

        Read from /proc/PID/task/TID/schedstat: nanoseconds, exact, where the utime/stime of
        /proc/PID/stat only advance in 10 ms ticks; the blocks are its voluntary context
        switches.
        """
        times = {}
        for pid in self._process_ids():
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        run, delay = f.read().split()[:2]
                    with open(f"/proc/{pid}/task/{tid}/status") as f:
                        blocks = next(line.split()[1] for line in f
                                      if line.startswith("voluntary_ctxt_switches"))
                    times[f"{pid}/{tid}"] = (int(run), int(delay), int(blocks))
                except (OSError, ValueError, StopIteration):
                    pass
        return times

    def cpu_used_since(self, before: dict[str, tuple[int, int, int]]) -> tuple[float, float, int]:
        """Since `before`: (seconds on a CPU, seconds running or ready to run, blocks).

        A thread that started since then counts whole.
        """
        ran = wanted = blocks = 0
        for key, (run, delay, blocked) in self.cpu_times().items():
            run0, delay0, blocked0 = before.get(key, (0, 0, 0))
            ran += max(run - run0, 0)
            wanted += max(run - run0, 0) + max(delay - delay0, 0)
            blocks += max(blocked - blocked0, 0)
        return ran / 1e9, wanted / 1e9, blocks

    def fd_count(self) -> int:
        """The descriptors the whole program holds: summed over every process of it."""
        if self.wait_exit(0) is not None:
            raise CheckFailure(f"{self.name} printed {self._pending()} and {self.ended_text()}, "
                               "so its descriptors could not be counted")
        snap = self._snapshot()
        self.expect_nothing_outside(snap)
        total = 0
        for pid in snap.tree(self.pid):
            try:
                total += psutil.Process(pid).num_fds()
            except psutil.NoSuchProcess:
                pass                      # ended meanwhile: it holds none
            except psutil.Error as e:
                raise CheckFailure(f"could not count {self.name}'s descriptors: {e}")
        return total

    def expect_fds_back_to(self, count: int, hint: Optional[str] = None) -> None:
        """Wait until the program has no more than count descriptors open (a close has happened)."""
        self.expect_running(hint)
        now = [self.fd_count()]

        def closed() -> bool:
            if self.alive:
                now[0] = self.fd_count()
            return now[0] <= count
        try:
            Waiter(self.case, self.settings.expect_timeout).until(
                closed, f"{self.name} to have at most the {count} descriptors it had before")
        except CheckFailure as e:
            raise CheckFailure(f"{e}; it has {now[0]} open", hint)
        self.expect_running(hint)

    def expect_idle(self, what: str = "while idle", hint: Optional[str] = None) -> float:
        """Watch CPU use over the idle window; a program blocked in poll/select/pause uses none.

        Output arriving meanwhile is taken in, so a chatty program is not blocked by us. A
        program that is not running cannot be judged: that is a failure of its own kind.
        """
        self.expect_running(hint=f"it should still be running {what}")
        window = self.settings.idle_window
        before, start = self.cpu_times(), time.monotonic()
        deadline = start + window
        while (left := deadline - time.monotonic()) > 0:
            if not self._fill(left) and self._eof:
                break
        elapsed = time.monotonic() - start
        used, wanted, blocks = self.cpu_used_since(before)
        self.case.waited_s += elapsed
        if self._poll_status() is not None:
            raise CheckFailure(f"{self.name} {self.ended_text()} {what}, so its CPU use could "
                               "not be measured", f"it should still be running {what}")
        self.expect_nothing_outside()
        self.case.transcript.add(self.name, "·", f"used {used:.3f}s CPU in {elapsed:.3f}s {what}"
                                                 f" (ready to run {wanted:.3f}s, blocked "
                                                 f"{blocks} times)")
        # A program that spins uses the CPU whenever it gets it; on a busy machine it gets
        # less, but it is ready to run all the time and never blocks.
        limit = self.settings.idle_cpu_fraction * elapsed
        if used > limit or (wanted > limit and blocks == 0):
            never = " without once waiting for input" if blocks == 0 else ""
            raise CheckFailure(f"{self.name} used {used:.2f}s of CPU in {elapsed:.2f}s {what} "
                               f"and was ready to run for {wanted:.2f}s{never}: it is "
                               "busy-waiting", hint)
        return used


@dataclass
class Completed:
    status: ExitStatus
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    stalled: Optional[str] = None      # the call it waited in when it was given up on


def run_to_exit(case: Case, name: str, argv: Sequence[str], *, cwd: str, env: dict[str, str],
                preexec: Sequence[str], stdin: bytes = b"",
                timeout: Optional[float] = None) -> Completed:
    """Run without a terminal, stdout and stderr apart (for usage errors), output capped.

    `preexec` is the launcher's command prefix (Grading.launch/preexec): a program without a
    terminal starts exactly as one with a terminal does.
    """
    timeout = case.settings.exit_timeout if timeout is None else timeout
    cap = case.settings.output_cap
    case.transcript.add(name, "·", "ran: " + " ".join(argv))
    case.step(name, "run", argv=argv)
    oom_before = sandbox.oom_kills()
    report_r, report_w = os.pipe()       # the launcher's own failures, apart from the program's
    prefix = [*preexec[:1], "-e", str(report_w), *preexec[1:]] if preexec else []
    try:
        proc = subprocess.Popen([*prefix, *argv], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=launcher.passed_fds(list(preexec))
                                + ((report_w,) if prefix else ()))
    except BaseException:
        os.close(report_r)
        raise
    finally:
        os.close(report_w)
    case.on_cleanup(lambda: processes.kill_group(proc))
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(stdin)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    deadline = time.monotonic() + timeout
    open_fds = set(out)
    truncated: set[int] = set()
    watch = StallWatch(case.settings.stall_window)    # its input is closed: nothing else comes
    stalled = None
    while open_fds and (left := deadline - time.monotonic()) > 0:
        stalled = watch.check(_tree(case, proc.pid))
        if stalled is not None:
            break
        ready, _, _ = select.select(list(open_fds), [], [], min(left, case.settings.stall_poll))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
            else:
                if len(out[fd]) + len(chunk) > cap and fd not in truncated:
                    truncated.add(fd)
                    case.note(f"{name}: output truncated at {cap} bytes")
                out[fd] += chunk[:max(cap - len(out[fd]), 0)]
    timed_out = bool(open_fds)
    if timed_out:
        processes.kill_group(proc)
    try:
        code = proc.wait(max(deadline - time.monotonic(), 0.05))
    except subprocess.TimeoutExpired:
        timed_out = True
        processes.kill_group(proc)
        code = proc.wait()
    status = exit_status(code, oom_before)
    stdout, stderr = bytes(out[proc.stdout.fileno()]), bytes(out[proc.stderr.fileno()])
    proc.stdout.close()
    proc.stderr.close()
    said = launcher.failure(report_r)
    os.close(report_r)
    unstarted = said[1] if said is not None else ""
    if unstarted:
        case.transcript.add(name, "·", f"could not be started: {unstarted}")
        raise CheckFailure(f"{name} could not be started: {unstarted}",
                           "the program must run on the grading machine: build it there "
                           "(a Makefile), and check the #! line of a script")
    if stdout:
        case.transcript.data(name, "← stdout", stdout)
    if stderr:
        case.transcript.data(name, "← stderr", stderr)
    case.transcript.add(name, "·", (f"did not exit: it waits in {stalled}" if stalled else
                                    "did not exit in time") if timed_out else str(status))
    return Completed(status, stdout, stderr, timed_out, stalled)


def _tree(case: Case, pid: int) -> list[int]:
    """The process and its descendants: read from the case's cgroup where there is one (a
    handful of processes), not from every process of the machine, each time a run is looked at."""
    if case.cgroup is None:
        return processes.tree(pid)
    return members.Snapshot(case.cgroup.pids(), case.helpers).tree(pid)


def has_terminfo(term: str) -> bool:
    """Whether the machine has a terminfo entry for term (a windowed run needs xterm's)."""
    dirs = ["/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo", "/usr/lib/terminfo"]
    return any(os.path.exists(os.path.join(d, term[0], term)) for d in dirs)

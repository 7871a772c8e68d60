"""Whether a program can still make progress without the grader doing anything.

While a check waits for the program (a line, a connection, an exit), the grader's own peers
send nothing: they are driven by the same thread that waits. A program whose every thread
sleeps in a system call that only an outside event can end (pause(), a blocking read or
accept, poll or select without a timeout) and whose CPU time does not move is therefore
waiting for something the check will never send. Seeing that for a short window (a named
setting) ends the wait at once instead of at its deadline: a program that hangs costs
seconds, not minutes, and a program that is merely slow is still running, never asleep.

A thread's system call (/proc/PID/task/TID/syscall) and descriptors are shown only to who may
trace it. Root in a container with Docker's default capabilities has no CAP_SYS_PTRACE, so
for a program running as another uid it reads them with that uid and gid as its file-system
ids, as the program's owner may (a per-thread setting, put back at once).
"""
from __future__ import annotations

import os
import platform
import time
from typing import Optional

from ..containment import processes

# System calls that block until an outside event, by machine: number -> how to say it.
_X86_64 = {0: "read()", 19: "readv()", 34: "pause()", 43: "accept()", 45: "recvfrom()",
           47: "recvmsg()", 130: "sigsuspend()", 288: "accept()", 7: "poll()", 23: "select()",
           270: "select()", 271: "poll()", 232: "epoll_wait()", 281: "epoll_wait()"}
_AARCH64 = {63: "read()", 65: "readv()", 133: "sigsuspend()", 202: "accept()", 242: "accept()",
            207: "recvfrom()", 212: "recvmsg()", 72: "select()", 73: "poll()", 22: "epoll_wait()"}
BLOCKING = {"x86_64": _X86_64, "aarch64": _AARCH64}.get(platform.machine(), {})

# Calls that end by themselves after a time (a sleep), by machine.
_TIMERS = {"x86_64": {35: "nanosleep()", 230: "clock_nanosleep()"},
           "aarch64": {101: "nanosleep()", 115: "clock_nanosleep()"}}.get(platform.machine(), {})

# Calls whose wait may carry a timeout, and which argument says so.
_INFINITE_IF = {
    "poll()": lambda args, nr: _signed32(args[2]) < 0 if nr == 7 else args[2] == 0,
    "select()": lambda args, nr: args[4] == 0,
    "epoll_wait()": lambda args, nr: _signed32(args[3]) < 0,
}


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _sleeping_call(pid: int, tid: int) -> Optional[tuple[int, list[str]]]:
    """(system call number, its fields) of a sleeping thread inside a call; else None."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "S":
                return None
        path = f"/proc/{pid}/task/{tid}/syscall"
        fields = processes.read_traced(pid, path).decode().split()
    except (OSError, IndexError):
        return None
    if not fields or not fields[0].isdigit():
        return None          # running, or not in a system call
    return int(fields[0]), fields


def waiting_call(pid: int, tid: int) -> Optional[str]:
    """The call a sleeping thread waits in, when only an outside event can end it; else None."""
    call = _sleeping_call(pid, tid)
    if call is None:
        return None
    nr, fields = call
    name = BLOCKING.get(nr)
    if name is None:
        return None
    args = [int(a, 16) for a in fields[1:7]]
    infinite = _INFINITE_IF.get(name)
    if infinite is not None and not infinite(args, nr):
        return None
    if name in ("read()", "readv()", "recvfrom()", "recvmsg()") and args:
        return f"{name} on {_describe_fd(pid, args[0])}"
    return name


def timed_call(pid: int, tid: int) -> Optional[str]:
    """The call a sleeping thread waits in when a timer ends it (a sleep, poll or select with
    a timeout); else None. Such a program is not waiting for the user: it goes on by itself."""
    call = _sleeping_call(pid, tid)
    if call is None:
        return None
    nr, fields = call
    if nr in _TIMERS:
        return _TIMERS[nr]
    name = BLOCKING.get(nr)
    infinite = _INFINITE_IF.get(name or "")
    if infinite is not None and not infinite([int(a, 16) for a in fields[1:7]], nr):
        return f"{name} with a timeout"
    return None


def timed_wait(pids: list[int]) -> Optional[str]:
    """The timed call some thread sleeps in, when no thread is on a CPU; else None."""
    found = None
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            call = timed_call(pid, tid)
            if call is None and waiting_call(pid, tid) is None:
                return None          # on a CPU, or in some other call: it may move
            found = found or call
    return found


def _describe_fd(pid: int, fd: int) -> str:
    try:
        target = processes.proc_readlink(pid, f"/proc/{pid}/fd/{fd}")
    except OSError:
        return f"descriptor {fd}"
    if target.startswith("/dev/pts/") or target == "/dev/tty":
        return "its terminal (input)"
    if target.startswith("socket:"):
        return "a socket"
    if target.startswith("pipe:"):
        return "a pipe"
    return f"descriptor {fd}"


def snapshot(pids: list[int]) -> Optional[tuple[tuple[str, ...], int]]:
    """(what every thread waits in, CPU nanoseconds) when all of them wait; else None."""
    calls: list[str] = []
    cpu = 0
    for pid in pids:
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue           # gone: it cannot make progress either
        for tid in tids:
            call = waiting_call(pid, tid)
            if call is None:
                return None
            calls.append(call)
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    cpu += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                return None
    return (tuple(calls), cpu) if calls else None


class StallWatch:
    """Tells when a process tree has waited, unchanged, in such calls for `window` seconds."""

    def __init__(self, window: float):
        self.window = window
        self._seen: Optional[tuple[tuple[str, ...], int]] = None
        self._since = 0.0

    def check(self, pids: list[int]) -> Optional[str]:
        """The calls it waits in once the stall has lasted the window; None while it may move."""
        if not BLOCKING:
            return None        # a machine whose system calls we do not know: deadlines only
        now = time.monotonic()
        seen = snapshot(pids)
        if seen is None or seen != self._seen:
            self._seen, self._since = seen, now
            return None
        if now - self._since < self.window:
            return None
        return " and ".join(sorted(set(seen[0])))

"""A helper process that outlives the grader by a moment, to end what the grader started.

The grader holds the write end of a pipe; when the grader dies for any reason, even SIGKILL,
the read end sees end-of-file and the watchdog kills every process that carries this run's
sandbox marker, empties and removes this run's cgroups, and removes the run's scratch
directory. Direct children also die by their parent-death signal; the watchdog catches the
grandchildren that escaped into new sessions.

The watchdog is in a session (and process group) of its own: `timeout -s KILL` kills the
grader's whole process group and ^\\ sends SIGQUIT to the terminal's foreground group, and
neither may take the watchdog with the grader.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Optional

from . import processes
from .sandbox import CGROUP_PREFIX, MARKER

_libc = ctypes.CDLL(None, use_errno=True)

SWEEP_TIMEOUT = 5.0      # seconds the watchdog keeps killing before it gives up
POLL = 0.002             # between looks at /proc while killed processes exit


def _carries(pid: int, needle: bytes) -> bool:
    try:
        return needle in processes.read_traced(pid, f"/proc/{pid}/environ").split(b"\0")
    except OSError:
        return False


def _groups(cgroup_parent: Optional[str], grader_pid: int) -> list[Path]:
    if not cgroup_parent:
        return []
    return sorted(Path(cgroup_parent).glob(f"{CGROUP_PREFIX}{grader_pid}-*"))


def sweep(token: str, cgroup_parent: Optional[str], grader_pid: int,
          timeout: float = SWEEP_TIMEOUT) -> int:
    """Kill marked processes and this run's cgroup members until none is running.

    Returns how many distinct processes were killed.
    """
    needle = f"{MARKER}={token}".encode()
    me = os.getpid()
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        victims = {int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me
                   and _carries(int(p), needle)}
        for group in _groups(cgroup_parent, grader_pid):
            victims.update(processes.cgroup_members(group))
        victims = {pid for pid in victims if processes.alive(pid)}
        if not victims or time.monotonic() > deadline:
            break
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except OSError:
                pass
        time.sleep(POLL)      # let the kernel finish the kills before looking again
    for group in _groups(cgroup_parent, grader_pid):
        while True:
            try:
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:       # zombies still count as members until they are reaped
                if time.monotonic() > deadline:
                    break
                time.sleep(POLL)
    return len(killed)


def start(token: str, cgroup_parent: Optional[str],
          leftovers: tuple[str, ...] = ()) -> tuple[int, int]:
    """Fork the watchdog; returns (its pid, the pipe end to close when grading is over).

    `leftovers` are directories to remove once the processes are gone (the run's scratch).
    """
    grader = os.getpid()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_IGN)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, r)
            os.closerange(r + 1, 65536)
            os.read(r, 1)
            sweep(token, cgroup_parent, grader)
            for path in leftovers:       # a tmpfs on it (contain.bounded_disk) goes first
                _libc.umount2(path.encode(), 2)      # MNT_DETACH
                shutil.rmtree(path, ignore_errors=True)
        finally:
            os._exit(0)
    os.close(r)
    return pid, w


def stop(pid: int, write_end: int) -> None:
    """Normal end of grading: let the watchdog sweep once and reap it."""
    os.close(write_end)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass

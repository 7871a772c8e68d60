"""A helper process that outlives the grader by a moment, to end what the grader started.

The grader holds the write end of a pipe; when the grader dies for any reason, even SIGKILL,
the read end sees end-of-file and the watchdog kills every process that carries this run's
sandbox marker and empties this run's cgroups. Direct children also die by their
parent-death signal; the watchdog catches the grandchildren that escaped into new sessions.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Optional

from .sandbox import MARKER


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return needle in f.read().split(b"\0")
    except OSError:
        return False


def sweep(token: str, cgroup_parent: Optional[str], grader_pid: int) -> int:
    """Kill marked processes and this run's cgroup members until none is left."""
    needle = f"{MARKER}={token}".encode()
    me = os.getpid()
    killed = 0
    for _ in range(50):     # processes may fork while we sweep; a few rounds finish them
        victims = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me
                   and _carries(int(p), needle)]
        groups = sorted(Path(cgroup_parent).glob(f"grader-{grader_pid}-*")) if cgroup_parent else []
        for g in groups:
            try:
                victims += [int(p) for p in (g / "cgroup.procs").read_text().split()]
            except OSError:
                pass
        if not victims:
            break
        for pid in set(victims):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    for g in (sorted(Path(cgroup_parent).glob(f"grader-{grader_pid}-*")) if cgroup_parent else []):
        try:
            g.rmdir()
        except OSError:
            pass
    return killed


def start(token: str, cgroup_parent: Optional[str]) -> tuple[int, int]:
    """Fork the watchdog; returns (its pid, the pipe end to close when grading is over)."""
    grader = os.getpid()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, r)
            os.closerange(r + 1, 65536)
            os.read(r, 1)
            sweep(token, cgroup_parent, grader)
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

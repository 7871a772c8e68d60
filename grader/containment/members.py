"""Every process of a case, wherever it went: what a check measures, and what a program left.

A program's own tree misses what it double-forked and orphaned: re-parented to the PID
namespace's init, or to the grader (a child subreaper). The case's cgroup holds them all where
there is one. Elsewhere each of them is still a descendant of the grader, because the grader
is a subreaper and the namespace's init is its child: so the case's processes are the grader's
descendants but its own helpers (the watchdog, the init). That holds in every setting (root
with a cgroup, a user with only a PID namespace, no namespace at all); with a cgroup only its
members are read, never every process of the machine.
"""
from __future__ import annotations

import os
from typing import Iterable, Optional

from . import processes


def _parent(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class Snapshot:
    """Who is whose parent, once, for the processes that can belong to the running case."""

    def __init__(self, cgroup_pids: Optional[list[int]], helpers: Iterable[int]):
        """cgroup_pids: the case's cgroup members, or None (no cgroup: look at every process
        of the machine, and keep the descendants of this, the grading, process)."""
        pids = cgroup_pids if cgroup_pids is not None else \
            [int(n) for n in os.listdir("/proc") if n.isdigit()]
        self._kids: dict[int, list[int]] = {}
        for pid in pids:
            parent = _parent(pid)
            if parent is not None:
                self._kids.setdefault(parent, []).append(pid)
        if cgroup_pids is not None:
            self.case = list(cgroup_pids)
        else:
            skip = set(helpers)
            self.case = [p for p in self._below(os.getpid()) if p not in skip]

    def _below(self, pid: int) -> list[int]:
        found, todo = [], list(self._kids.get(pid, ()))
        while todo:
            p = todo.pop()
            found.append(p)
            todo += self._kids.get(p, ())
        return found

    def tree(self, pid: int) -> list[int]:
        """The process and its descendants (none when it is gone)."""
        return [pid] + self._below(pid) if os.path.exists(f"/proc/{pid}") else []

    def left_outside(self, trees: Iterable[int]) -> list[int]:
        """The case's live processes that none of these trees holds (exited ones excepted)."""
        inside = set(trees)
        return sorted(p for p in self.case if p not in inside and processes.alive(p))


def describe(pid: int) -> str:
    """"pid N /path/of/its/program", as the process itself would name its program."""
    try:
        path = processes.proc_readlink(pid, f"/proc/{pid}/exe")
    except OSError:
        try:
            with open(f"/proc/{pid}/comm") as f:
                path = f.read().strip()
        except OSError:
            path = "(gone)"
    return f"pid {pid} {path}"
